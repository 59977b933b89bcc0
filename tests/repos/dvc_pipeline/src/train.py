"""Nearest-centroid training: the mean of each feature per species."""

import csv
import json
import sys
from pathlib import Path


def centroids(rows):
    sums = {}
    for row in rows:
        entry = sums.setdefault(row["species"], [0.0, 0.0, 0])
        entry[0] += float(row["sepal_length"])
        entry[1] += float(row["petal_length"])
        entry[2] += 1
    return {name: [s / n, p / n] for name, (s, p, n) in sums.items()}


def main():
    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    with source.open() as handle:
        model = centroids(csv.DictReader(handle))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model, indent=2) + "\n")


if __name__ == "__main__":
    main()
