"""``tokenstats FILE``: print the type-token ratio and the most common tokens."""

import sys
from pathlib import Path

from tokenstats.stats import top, type_token_ratio


def main() -> None:
    text = Path(sys.argv[1]).read_text(encoding="utf-8")
    print(f"type-token ratio: {type_token_ratio(text):.3f}")
    for word, count in top(text):
        print(f"{count:6d} {word}")
