def lag(values: list[float], steps: int) -> list[float | None]:
    return [None] * steps + values[:-steps]
