"""Read one numeric column from CSV text."""

import csv
import io


def read_column(text: str, name: str) -> list[float]:
    return [float(row[name]) for row in csv.DictReader(io.StringIO(text))]
