"""Batch prediction with the trained model: a CSV of feature rows in, one 0/1 label per row out.

    python -m <package>.predict data/new.csv                       # CSV on standard output
    python -m <package>.predict data/new.csv --format json --out predictions.json
    python -m <package>.predict - < data/new.csv                   # CSV on standard input

The input needs the feature columns (temperature, pressure, vibration, humidity), in any
order; other columns, such as `label`, are ignored. The output holds one record per data
row: `row` (1 is the first row after the header) and `prediction`. As CSV:

    row,prediction
    1,0

and as JSON a list of {"row": 1, "prediction": 0} objects. The model is
artifacts/<model file> (what the train command writes) unless --model names another; the
Docker image ships the model that passed the pipeline's gate there and runs this command.

Exit codes: 0 predicted, 1 the input or the model cannot be used, 2 the output cannot be written.
"""

import argparse
import csv
import json
import math
import sys
from pathlib import Path
from typing import TextIO

from .data import FEATURES, MAX_REPORTED_PROBLEMS, DataError
from .train import MODEL_FILE, load_model, predict


def read_rows(handle: TextIO, name: str) -> list[list[float]]:
    """The feature rows (in FEATURES order) of the CSV text in `handle`, named `name`.

    Raises DataError with one line per problem: a missing feature column, a row of the
    wrong length, a value that is not a finite number, no data rows at all.
    """
    reader = csv.reader(handle)
    header = [column.strip() for column in next(reader, [])]
    missing = [feature for feature in FEATURES if feature not in header]
    if missing:
        raise DataError([f"{name}: missing column(s): {', '.join(missing)}"])
    indices = [header.index(feature) for feature in FEATURES]
    rows: list[list[float]] = []
    problems: list[str] = []
    for line, values in enumerate(reader, start=2):
        if not values:  # a blank line
            continue
        if len(values) != len(header):
            problems.append(f"line {line}: expected {len(header)} values, found {len(values)}")
            continue
        row = []
        for feature, index in zip(FEATURES, indices, strict=True):
            text = values[index].strip()
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                problems.append(f"line {line}: {feature!r} is not a number: {text!r}")
                break
            row.append(value)
        else:
            rows.append(row)
    if not problems and not rows:
        problems.append(f"{name} holds no data rows")
    if problems:
        raise DataError(problems)
    return rows


def write_predictions(predictions: list[int], handle: TextIO, output_format: str) -> None:
    """Write `predictions` to `handle` as CSV (row,prediction) or as a JSON list."""
    records = [{"row": row, "prediction": label} for row, label in enumerate(predictions, 1)]
    if output_format == "json":
        handle.write(json.dumps(records) + "\n")
        return
    writer = csv.DictWriter(handle, fieldnames=["row", "prediction"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Predict a 0/1 label for every row of a CSV.")
    parser.add_argument("data", help="CSV file of feature rows, or - for standard input")
    parser.add_argument(
        "--model",
        type=Path,
        default=Path("artifacts") / MODEL_FILE,
        help="the trained model (default: %(default)s)",
    )
    parser.add_argument("--format", choices=("csv", "json"), default="csv", help="output format")
    parser.add_argument("--out", type=Path, help="output file (default: standard output)")
    args = parser.parse_args(argv)

    try:
        model = load_model(args.model)
    except FileNotFoundError:
        print(
            f"error: no model at {args.model}: train one first (python -m "
            f"{__package__}.train) or give its path with --model",
            file=sys.stderr,
        )
        return 1
    except Exception as error:  # a corrupt or incompatible model file
        print(f"error: cannot load the model {args.model}: {error}", file=sys.stderr)
        return 1

    try:
        if args.data == "-":
            rows = read_rows(sys.stdin, "standard input")
        else:
            # utf-8-sig also accepts files saved with a byte-order mark (as Excel does).
            with open(args.data, newline="", encoding="utf-8-sig") as handle:
                rows = read_rows(handle, args.data)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        print(f"error: cannot read {args.data}: {error}", file=sys.stderr)
        return 1
    except DataError as error:
        for problem in error.problems[:MAX_REPORTED_PROBLEMS]:
            print(f"error: {problem}", file=sys.stderr)
        if len(error.problems) > MAX_REPORTED_PROBLEMS:
            extra = len(error.problems) - MAX_REPORTED_PROBLEMS
            print(f"error: ... and {extra} more problem(s)", file=sys.stderr)
        return 1

    predictions = predict(model, rows)
    if args.out is None:
        write_predictions(predictions, sys.stdout, args.format)
        return 0
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w", newline="", encoding="utf-8") as handle:
            write_predictions(predictions, handle, args.format)
    except OSError as error:
        print(f"error: cannot write {args.out}: {error}", file=sys.stderr)
        return 2
    print(f"wrote {len(predictions)} prediction(s) to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
