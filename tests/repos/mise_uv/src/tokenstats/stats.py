"""Counting tokens."""

import re
from collections import Counter

TOKEN = re.compile(r"[a-z0-9']+")


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def type_token_ratio(text: str) -> float:
    found = tokens(text)
    return len(set(found)) / len(found) if found else 0.0


def top(text: str, n: int = 3) -> list[tuple[str, int]]:
    return Counter(tokens(text)).most_common(n)
