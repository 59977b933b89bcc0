"""Word counts, case-insensitive."""

from collections import Counter


def count_words(text: str) -> Counter[str]:
    return Counter(word.lower() for word in text.split())
