"""Load the training data."""

import pandas as pd


def load(sample: int | None = None) -> tuple[pd.DataFrame, pd.Series]:
    frame = pd.read_csv("data/train.csv")
    if sample is not None:
        frame = frame.head(sample)
    return frame.drop(columns=["label"]), frame["label"]
