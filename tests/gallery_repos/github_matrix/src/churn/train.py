"""Train the model on the prepared data and write it to model.pkl."""

import argparse
import pickle

from sklearn.linear_model import LogisticRegression

from churn.data import load


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", type=int, default=None)
    args = parser.parse_args()
    features, labels = load(sample=args.sample)
    model = LogisticRegression(max_iter=500).fit(features, labels)
    with open("model.pkl", "wb") as handle:
        pickle.dump(model, handle)


if __name__ == "__main__":
    main()
