"""A perceptron on 3x3 binary images: is the middle column lit?"""

import random


def samples(seed):
    rng = random.Random(seed)
    data = []
    for _ in range(64):
        pixels = [rng.randint(0, 1) for _ in range(9)]
        label = 1 if pixels[1] and pixels[4] and pixels[7] else 0
        data.append((pixels, label))
    return data


def train(data, epochs, learning_rate):
    weights, bias = [0.0] * 9, 0.0
    for _ in range(epochs):
        for pixels, label in data:
            out = 1 if sum(w * p for w, p in zip(weights, pixels)) + bias > 0 else 0
            error = label - out
            weights = [w + learning_rate * error * p for w, p in zip(weights, pixels)]
            bias += learning_rate * error
    return weights, bias


def accuracy(model, data):
    weights, bias = model
    hits = 0
    for pixels, label in data:
        hits += (sum(w * p for w, p in zip(weights, pixels)) + bias > 0) == bool(label)
    return hits / len(data)
