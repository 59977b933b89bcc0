"""Text surgery on YAML documents, located by ruamel.yaml's round-trip line numbers.

The functions here take lines of a YAML file and positions that a round-trip parse
(:func:`mlrig._yaml.load_round_trip`) found in it, and cut, shift or splice text; they
never re-serialise, so every byte outside what they insert stays as it was. Lines
are 0-based indices; ``mapping`` arguments are round-trip mappings (``.lc`` knows
where each key is).
"""

from __future__ import annotations

import re
from typing import Any


def key_end(doc: Any, key: str, total: int) -> int:
    """Line (0-based) where the top-level key after ``key`` starts, or ``total``."""
    keys = list(doc)
    index = keys.index(key)
    return int(doc.lc.key(keys[index + 1])[0]) if index + 1 < len(keys) else total


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def key_blocks(lines: list[str], mapping: Any, end: int, *, spans: bool = False) -> dict[str, Any]:
    """Each key's block of ``mapping``: its lines, with the comment lines just above it.

    Trailing blank lines are left out. With ``spans``, ``(start, end)`` line ranges
    instead of text.
    """
    keys = list(mapping)
    starts = []
    for number, key in enumerate(keys):
        line, col = mapping.lc.key(key)
        floor = mapping.lc.key(keys[number - 1])[0] + 1 if number else 0
        while line > floor and _is_comment(lines[line - 1]) and _indent(lines[line - 1]) == col:
            line -= 1
        starts.append(line)
    result: dict[str, Any] = {}
    for number, key in enumerate(keys):
        stop = starts[number + 1] if number + 1 < len(keys) else end
        while stop > starts[number] and not lines[stop - 1].strip():
            stop -= 1
        result[str(key)] = (
            (starts[number], stop) if spans else "".join(lines[starts[number] : stop])
        )
    return result


def line_span(value: Any) -> tuple[int, int]:
    start, end = value
    return int(start), int(end)


def content_end(lines: list[str], end: int, col: int) -> int:
    """Index after the last line of a block whose keys sit at ``col``, before line ``end``.

    Blank lines and comments indented less than ``col`` (they introduce what follows)
    are not part of the block.
    """
    while end > 0 and (
        not lines[end - 1].strip()
        or (_is_comment(lines[end - 1]) and _indent(lines[end - 1]) < col)
    ):
        end -= 1
    return end


def shift_block(block: str, delta: int) -> str:
    """Indent (or dedent) every non-blank line of ``block`` by ``delta`` columns."""
    if delta == 0:
        return block
    out = []
    for line in block.splitlines(keepends=True):
        if not line.strip():
            out.append(line)
        elif delta > 0:
            out.append(" " * delta + line)
        else:
            out.append(line[min(-delta, _indent(line)) :])
    return "".join(out)


def is_crlf(text: str) -> bool:
    """Whether every line of ``text`` ends in CRLF (a Windows checkout)."""
    return "\r\n" in text and text.count("\n") == text.count("\r\n")


def document_end(lines: list[str]) -> int:
    """Index of the line that ends the (first) YAML document: ``...`` or a second ``---``.

    ``len(lines)`` when the document runs to the end of the file.
    """
    content = False
    for number, line in enumerate(lines):
        if re.match(r"(\.\.\.|---)(\s|$)", line):
            if content or line.startswith("..."):
                return number
            continue
        # A directive (%YAML, %TAG) stands before the document's `---`, outside it.
        if line.strip() and not _is_comment(line) and (content or not line.startswith("%")):
            content = True
    return len(lines)


def insert_lines(lines: list[str], at: int, insert: str) -> str:
    """``lines`` with ``insert`` (lines that start with a newline) before line ``at``.

    Only the insertion is added: at the end of a file without a final newline the
    insertion starts the new line and, like the file, ends without one.
    """
    head, rest = "".join(lines[:at]), "".join(lines[at:])
    if head and not head.endswith("\n"):
        # Only the last line of a file can lack its newline.
        return head + insert.removesuffix("\n")
    return head + insert.removeprefix("\n" if not head else "") + rest
