"""Split the raw CSV into train.csv and test.csv (params.yaml: prepare.split, prepare.seed)."""

import random
import sys
from pathlib import Path

import yaml


def split(rows, fraction, seed):
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    cut = int(len(shuffled) * fraction)
    return shuffled[cut:], shuffled[:cut]


def main():
    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    params = yaml.safe_load(Path("params.yaml").read_text())["prepare"]
    header, *rows = source.read_text().splitlines()
    train, test = split(rows, params["split"], params["seed"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "train.csv").write_text("\n".join([header, *train]) + "\n")
    (out / "test.csv").write_text("\n".join([header, *test]) + "\n")


if __name__ == "__main__":
    main()
