"""Load, validate and generate the dataset.

The dataset is a CSV file of machine sensor readings, one row per machine, with a
binary label that says whether the machine failed soon after. data/train.csv was
made with `make_sample(400, seed=0)`; `make_sample` with another seed draws fresh
rows from the same distribution, which is what the monitoring job evaluates on.

Validate a file from the command line (exit 0 if valid, 1 with one line per problem):

    python -m <package>.data data/train.csv
"""

import argparse
import csv
import hashlib
import math
import random
import sys
from dataclasses import dataclass
from pathlib import Path

FEATURES: tuple[str, ...] = ("temperature", "pressure", "vibration", "humidity")
LABEL = "label"
COLUMNS: tuple[str, ...] = (*FEATURES, LABEL)

# Plausible physical range of each feature; values outside mean a broken sensor or file.
RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0.0, 150.0),  # degrees Celsius
    "pressure": (0.0, 12.0),  # bar
    "vibration": (0.0, 25.0),  # mm/s
    "humidity": (0.0, 100.0),  # percent
}
MIN_ROWS = 50
MAX_REPORTED_PROBLEMS = 20

# (mean of class 0, mean of class 1, standard deviation) of each feature.
# Humidity carries no signal on purpose: the model has to learn to ignore it.
_DISTRIBUTION: dict[str, tuple[float, float, float]] = {
    "temperature": (60.0, 77.6, 8.0),
    "pressure": (4.0, 6.0, 1.0),
    "vibration": (5.0, 8.0, 2.0),
    "humidity": (50.0, 50.0, 15.0),
}


@dataclass
class Dataset:
    """Feature rows (in FEATURES order) and their 0/1 labels (empty for unlabelled rows)."""

    X: list[list[float]]
    y: list[int]

    def __len__(self) -> int:
        return len(self.X)


class DataError(Exception):
    """The dataset cannot be used; `problems` holds one readable line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def make_sample(n: int, seed: int, drift: float = 0.0) -> Dataset:
    """Draw `n` fresh rows from the data distribution.

    `drift` shifts every feature by that many standard deviations, to simulate the
    world changing under a trained model.
    """
    rng = random.Random(seed)
    X: list[list[float]] = []
    y: list[int] = []
    for _ in range(n):
        label = rng.randint(0, 1)
        row = []
        for name in FEATURES:
            mean0, mean1, std = _DISTRIBUTION[name]
            value = rng.gauss(mean1 if label else mean0, std) + drift * std
            low, high = RANGES[name]
            row.append(round(min(max(value, low), high), 3))
        X.append(row)
        y.append(label)
    return Dataset(X, y)


def write_csv(dataset: Dataset, path: Path) -> None:
    """Write `dataset` as a CSV file with a header row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for features, label in zip(dataset.X, dataset.y, strict=True):
            writer.writerow([*features, label])


def _parse_row(
    line: int, header: list[str], values: list[str]
) -> tuple[list[str], dict[str, float]]:
    """Return the problems of one CSV row and its parsed values."""
    if len(values) != len(header):
        return [f"line {line}: expected {len(header)} values, found {len(values)}"], {}
    problems: list[str] = []
    parsed: dict[str, float] = {}
    for name, raw in zip(header, values, strict=True):
        text = raw.strip()
        if text == "" or text.lower() in {"na", "nan", "null", "none"}:
            problems.append(f"line {line}: {name!r} is empty")
            continue
        if name == LABEL:
            if text not in {"0", "1"}:
                problems.append(f"line {line}: {name!r} must be 0 or 1, found {text!r}")
            else:
                parsed[name] = float(text)
            continue
        try:
            value = float(text)
        except ValueError:
            problems.append(f"line {line}: {name!r} is not a number: {text!r}")
            continue
        low, high = RANGES[name]
        if not math.isfinite(value) or not low <= value <= high:
            problems.append(f"line {line}: {name!r} = {text} is outside [{low:g}, {high:g}]")
            continue
        parsed[name] = value
    return problems, parsed


def check_csv(path: Path, *, require_label: bool = True) -> tuple[list[str], Dataset]:
    """Read and validate a dataset file.

    Returns the list of problems found (empty if the file is valid) and the rows that
    parsed cleanly. With `require_label` False a file without the label column is valid
    too (new rows whose outcome is not known yet); its Dataset has no labels.
    """
    try:
        # utf-8-sig also accepts files saved with a byte-order mark (as Excel does).
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        return [f"cannot read {path}: {error}"], Dataset([], [])
    if not rows:
        return [f"{path} is empty: expected a header row {','.join(COLUMNS)}"], Dataset([], [])

    header = [name.strip() for name in rows[0]]
    columns = COLUMNS if require_label or LABEL in header else FEATURES
    missing = [name for name in columns if name not in header]
    unexpected = [name for name in header if name not in columns]
    problems: list[str] = []
    if missing:
        problems.append(f"missing column(s): {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected column(s): {', '.join(unexpected)}")
    if len(set(header)) != len(header):
        problems.append("duplicate column names in the header")
    if problems:
        return problems, Dataset([], [])

    dataset = Dataset([], [])
    n_rows = 0
    for line, values in enumerate(rows[1:], start=2):
        if not values:  # a blank line
            continue
        n_rows += 1
        row_problems, parsed = _parse_row(line, header, values)
        problems.extend(row_problems)
        if not row_problems:
            dataset.X.append([parsed[name] for name in FEATURES])
            if LABEL in parsed:
                dataset.y.append(int(parsed[LABEL]))

    if n_rows < MIN_ROWS:
        problems.append(f"only {n_rows} data rows; at least {MIN_ROWS} are needed")
    elif not problems and columns == COLUMNS and len(set(dataset.y)) < 2:
        problems.append(f"{LABEL!r} holds a single class; both 0 and 1 are needed")
    return problems, dataset


def data_version(path: Path) -> str:
    """The MD5 of the file's bytes: the version DVC records for it (the md5 of its .dvc file)."""
    return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()


def load_dataset(path: Path) -> Dataset:
    """Return the dataset at `path`, or raise DataError if it is not valid."""
    problems, dataset = check_csv(path)
    if problems:
        raise DataError(problems)
    return dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Validate a dataset CSV file.")
    parser.add_argument("path", type=Path, help="CSV file to check, e.g. data/train.csv")
    args = parser.parse_args(argv)

    problems, dataset = check_csv(args.path)
    if problems:
        for problem in problems[:MAX_REPORTED_PROBLEMS]:
            print(f"error: {problem}", file=sys.stderr)
        if len(problems) > MAX_REPORTED_PROBLEMS:
            extra = len(problems) - MAX_REPORTED_PROBLEMS
            print(f"error: ... and {extra} more problem(s)", file=sys.stderr)
        return 1
    print(f"{args.path}: {len(dataset)} rows, all checks passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
