"""Names compared the way people write them: case, spacing and accents do not make a new person."""

from __future__ import annotations

import unicodedata


def fold_name(name: str) -> str:
    """The name reduced for comparison: "  José  DE la Cruz" and "jose de la cruz" fold alike."""
    decomposed = unicodedata.normalize("NFKD", name or "")
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().split())
