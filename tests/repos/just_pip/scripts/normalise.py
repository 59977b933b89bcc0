"""Normalise every .txt file of a folder into another folder."""

import sys
from pathlib import Path

from textnorm import normalise

source, target = Path(sys.argv[1]), Path(sys.argv[2])
target.mkdir(parents=True, exist_ok=True)
for path in sorted(source.glob("*.txt")):
    (target / path.name).write_text(normalise(path.read_text(encoding="utf-8")) + "\n")
