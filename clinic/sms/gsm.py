"""GSM-7 encoding and segment counting, to keep texts to one segment where possible."""

from __future__ import annotations

from dataclasses import dataclass

# The GSM 03.38 basic character set, and the extension table (each costs two septets).
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")
GSM7 = frozenset(GSM7_BASIC | GSM7_EXTENDED)


@dataclass(frozen=True)
class Encoding:
    name: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int
    offending: tuple[str, ...] = ()  # characters that forced UCS-2


def encoding_of(text: str) -> Encoding:
    offending = tuple(sorted({ch for ch in text if ch not in GSM7}))
    if not offending:
        units = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        return Encoding("GSM-7", units, _segments(units, 160, 153))
    units = len(text.encode("utf-16-le")) // 2
    return Encoding("UCS-2", units, _segments(units, 70, 67), offending)


def _segments(units: int, single: int, multi: int) -> int:
    if units == 0:
        return 0
    if units <= single:
        return 1
    return -(-units // multi)
