"""``featureflow COLUMN < file.csv``: print the standardised column."""

import sys

from featureflow.io.columns import read_column
from featureflow.transforms import Standardise


def main() -> None:
    column = read_column(sys.stdin.read(), sys.argv[1])
    for value in Standardise().fit(column).apply(column):
        print(f"{value:.4f}")
