"""The consent form's built-in text: version 1, seeded into the database when it has none.

Later versions are published by an admin from the settings (Settings > Consent form versions)
and live only in the database; clinic.consent.services.current_form() says which is in force.
This text is never edited: signatures of version 1 point to it by its hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class ConsentText:
    version: int
    effective: date
    title: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


VERSION_1 = ConsentText(
    version=1,
    effective=date(2026, 1, 1),
    title="Consent to scalp microneedling",
    text="""\
What the treatment is
Scalp microneedling makes many tiny, shallow punctures in the skin of the scalp with a roller or a
pen device, usually 0.5 to 1.5 mm deep. A numbing cream is put on first. Depending on the treatment
you booked, a hair-growth lotion, your own platelet-rich plasma (prepared from a small blood sample)
or a steroid solution may be applied to the treated skin.

Why it is done
To encourage hair growth. Several sessions are usually needed, results vary from person to person,
and no result is guaranteed.

Risks and how common they are
Very common, and expected for a day or two: discomfort during treatment, redness, warmth, tightness,
mild swelling and pinpoint bleeding. Common: itching, flaking, small bruises. Uncommon: infection,
a flare of cold sores, an allergic reaction to a product, a reaction to the numbing cream. Rare:
lasting darker or lighter patches of skin, scarring. With hair-growth lotions some people notice
temporary extra shedding in the first weeks.

Alternatives
Other treatments for hair loss exist, including lotions or tablets alone, and no treatment at all.
You can ask your practitioner about them.

Cost
The price of each session is shown when you book. You pay for each session you attend.

Your choices
You may take time to think before you sign. You may withdraw your consent and stop treatment at any
time, including during a session.

Your declarations
The answers I gave to the health questions are complete and true, and I will tell the clinic if
anything changes. I will follow the aftercare advice I am given.

Photographs
Photographs of your scalp for your clinical record help to track progress. You may agree or
decline separately below; declining does not affect your treatment. Photographs are never used for
marketing without a separate agreement.

Text messages
If you agree separately, we send appointment and aftercare texts to your mobile. Reply STOP to end
them and HELP for help. Text messages are not encrypted.
""",
)

BUILT_IN = VERSION_1
