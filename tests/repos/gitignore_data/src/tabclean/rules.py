"""Row-level cleaning rules; each returns the cleaned row or None to drop it."""

from collections.abc import Callable

Row = dict[str, str]
Rule = Callable[[Row], Row | None]


def strip_whitespace(row: Row) -> Row | None:
    return {key: value.strip() for key, value in row.items()}


def drop_empty_id(row: Row) -> Row | None:
    return row if row.get("id") else None


def clean(rows: list[Row], rules: list[Rule]) -> list[Row]:
    out = []
    for row in rows:
        current: Row | None = row
        for rule in rules:
            if current is None:
                break
            current = rule(current)
        if current is not None:
            out.append(current)
    return out
