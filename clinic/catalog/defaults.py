"""The four services of a typical clinic (see the domain reference): the demo clinic's menu, and
the starting point for a new clinic's own."""

from __future__ import annotations

STANDARD_SERVICES: list[dict] = [
    dict(
        slug="consultation",
        name="Hair-loss consultation",
        description=(
            "A first visit to look at your scalp and hair, talk through what may help and agree "
            "a plan. No needles."
        ),
        duration_minutes=20,
        buffer_after_minutes=0,
        price_pence=5000,
        needles=False,
    ),
    dict(
        slug="microneedling",
        name="Scalp microneedling",
        description=(
            "Fine needles make tiny channels in the scalp after numbing cream, followed by a "
            "hair-growth solution. Usually a course of sessions a few weeks apart."
        ),
        duration_minutes=45,
        buffer_after_minutes=15,
        price_pence=25000,
        needles=True,
        uses_numbing=True,
        uses_minoxidil=True,
    ),
    dict(
        slug="microneedling-prp",
        name="Microneedling with PRP",
        description=(
            "Microneedling with platelet-rich plasma prepared from a small sample of your own "
            "blood, taken at the start of the visit."
        ),
        duration_minutes=75,
        buffer_after_minutes=15,
        price_pence=45000,
        needles=True,
        uses_numbing=True,
        uses_prp=True,
    ),
    dict(
        slug="microneedling-steroid",
        name="Microneedling for patchy hair loss",
        description=(
            "Microneedling for patches of hair loss, with a medicine prescribed by the clinic "
            "delivered through the channels."
        ),
        duration_minutes=45,
        buffer_after_minutes=15,
        price_pence=28000,
        needles=True,
        uses_numbing=True,
        uses_steroid=True,
    ),
]
