from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier


def train(depth: int = 3) -> DecisionTreeClassifier:
    data = load_iris()
    return DecisionTreeClassifier(max_depth=depth).fit(data.data, data.target)
