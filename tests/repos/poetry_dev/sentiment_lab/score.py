"""Score a review: the sum of its words' weights, negations flip the next word."""

from sentiment_lab.lexicon import WEIGHTS

NEGATIONS = frozenset({"not", "never", "no"})


def score(text: str) -> float:
    total = 0.0
    flip = False
    for word in text.lower().split():
        word = word.strip(".,!?")
        if word in NEGATIONS:
            flip = True
            continue
        weight = WEIGHTS.get(word, 0.0)
        total += -weight if flip else weight
        flip = False
    return total
