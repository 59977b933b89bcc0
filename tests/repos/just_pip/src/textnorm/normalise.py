"""NFKC, collapsed whitespace, stripped lines."""

import re
import unicodedata

SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return "\n".join(SPACES.sub(" ", line).strip() for line in text.splitlines())
