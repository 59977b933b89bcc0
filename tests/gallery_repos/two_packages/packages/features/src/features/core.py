def scale(x: float) -> float:
    return x / 100
