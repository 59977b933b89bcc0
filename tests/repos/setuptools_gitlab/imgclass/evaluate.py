"""Top-k accuracy of predicted class scores."""

import json
import sys


def top_k_accuracy(scores, labels, k=1):
    hits = 0
    for row, label in zip(scores, labels):
        ranked = sorted(range(len(row)), key=lambda i: row[i], reverse=True)
        hits += label in ranked[:k]
    return hits / len(labels)


def main():
    data = json.load(open(sys.argv[1]))
    print(f"top-1: {top_k_accuracy(data['scores'], data['labels']):.3f}")


if __name__ == "__main__":
    main()
