"""Shell text without a shell: logical lines, top-level segments, words, the program a
segment runs, and ``bash -n`` (parse only) for many texts in one process."""

from __future__ import annotations

import re
from collections.abc import Iterable

from mlrig._bash import syntax_errors


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(offset, line) of each logical shell line: continuations joined, comments dropped."""
    lines: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.split("\n")):
        if not pending:
            start = number
        if raw.rstrip().endswith("\\") and not raw.rstrip().endswith("\\\\"):
            pending.append(raw.rstrip()[:-1])
            continue
        pending.append(raw)
        joined = " ".join(part.strip() for part in pending).strip()
        pending = []
        if joined and not joined.startswith("#"):
            lines.append((start, joined))
    if pending:
        joined = " ".join(part.strip() for part in pending).strip()
        if joined:
            lines.append((start, joined))
    return lines


_TOKEN = re.compile(
    r"""\\.|'[^']*'?|"(?:\\.|[^"\\])*"?|`[^`]*`?|\$\(|[()]|&&|\|\||[;|&]|\s\#|^\#|[^\\'"`$()&|;\s]+|\s+|\$"""
)
_WORD = re.compile(r"""(?:[^\s'"\\]+|\\.|'[^']*'|"(?:\\.|[^"\\])*")+""")


def _segments(line: str) -> list[tuple[str, str]]:
    """(segment, separator after it) at the top level of ``line`` (quotes and ``$()`` kept)."""
    parts: list[tuple[str, str]] = []
    start = 0
    depth = 0
    for match in _TOKEN.finditer(line):
        token = match.group()
        if token == "$(" or (token == "(" and depth):
            depth += 1
        elif token == ")" and depth:
            depth -= 1
        elif depth == 0 and token.lstrip() == "#":
            parts.append((line[start : match.start()].strip(), ""))
            start = len(line)
            break
        elif depth == 0 and token in ("&&", "||", ";", "|", "&"):
            parts.append((line[start : match.start()].strip(), token))
            start = match.end()
    parts.append((line[start:].strip(), ""))
    return [(text, sep) for text, sep in parts if text]


def _words(segment: str) -> list[str]:
    """The words of a segment, quotes removed (a quick shlex.split)."""
    words = []
    for match in _WORD.finditer(segment):
        word = match.group()
        if "'" in word or '"' in word or "\\" in word:
            word = re.sub(
                r"""'([^']*)'|"((?:\\.|[^"\\])*)"|\\(.)""",
                lambda m: (
                    next(g for g in m.groups() if g is not None)
                    if any(g is not None for g in m.groups())
                    else ""
                ),
                word,
            )
        words.append(word)
    return words


# Text without quotes, expansions, redirections or keywords parses as bash whatever it says.
_PLAIN = re.compile(r"[\w \t./:=@,+%-]*(?:(?:&&|\n)[\w \t./:=@,+%-]*)*")


def bash_valid(texts: Iterable[str]) -> dict[str, bool]:
    """Whether each text parses as bash (``bash -n``), all checked by one bash process.

    Nothing is executed. Without bash every text counts as valid.
    """
    unique = list(dict.fromkeys(texts))
    verdicts = {text: True for text in unique if _PLAIN.fullmatch(text)}
    errors = syntax_errors(text for text in unique if text not in verdicts) or {}
    return {text: verdicts.get(text, errors.get(text) is None) for text in unique}


# Words that only wrap the real command; the value is how many arguments follow them.
_PREFIXES = {"sudo": 0, "time": 0, "env": 0, "exec": 0, "command": 0, "nohup": 0, "xvfb-run": 0}
_WRAPPER_OPTIONS_WITH_VALUE = frozenset(
    {"--extra", "--group", "--with", "--python", "-p", "--project", "--directory", "--package"}
    | {"--env", "-e", "-n", "--name", "--frozen-lockfile", "--only-group", "--environment"}
)


def _program(words: list[str]) -> tuple[str, list[str]]:
    """The program a segment runs and its arguments, wrappers such as ``uv run`` removed."""
    index = 0
    while index < len(words):
        word = words[index]
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", word) or word in _PREFIXES:
            index += 1
        elif word == "timeout" and index + 1 < len(words):
            index += 2
        else:
            break
    words = words[index:]
    while words:
        name = words[0].rsplit("/", 1)[-1]
        rest = words[1:]
        if name in {
            "uv",
            "poetry",
            "pdm",
            "pipenv",
            "hatch",
            "pixi",
            "conda",
            "mamba",
            "micromamba",
        } and rest[:1] == ["run"]:
            rest = _skip_options(rest[1:])
            if not rest:
                return name, []
            # `pdm run NAME`, `hatch run ENV:NAME`, `pixi run NAME` may be tasks: kept.
            if name in {"pdm", "hatch", "pixi"}:
                return f"{name} run", rest
            words = rest
            continue
        # `uvx TOOL`, `pipx run TOOL`, `uv tool run TOOL` run TOOL; `pipx install` installs.
        if (
            name == "uvx"
            or (name == "pipx" and rest[:1] == ["run"])
            or (name == "uv" and rest[:2] == ["tool", "run"])
        ):
            rest = rest[2:] if name == "uv" else (rest[1:] if name == "pipx" else rest)
            words = _skip_options(rest)
            continue
        if re.fullmatch(
            r"(?:python[\d.]*|py|\$\(PYTHON\)|\$\{?PYTHON\}?|\$\(PY\)|coverage|\$\(VENV\)/bin/python)",
            name,
        ) or name.endswith("/python"):
            if rest[:1] == ["run"] and name == "coverage":
                rest = rest[1:]
            options = list(rest)
            while options and options[0].startswith("-") and options[0] != "-m":
                options = options[1:]
            if options[:1] == ["-m"] and len(options) > 1:
                return f"-m {options[1]}", options[2:]
            if options and options[0].endswith(".py"):
                return f"py {options[0]}", options[1:]
            return "python", options
        return name, rest
    return "", []


def _skip_options(words: list[str]) -> list[str]:
    index = 0
    while index < len(words) and words[index].startswith("-"):
        index += 2 if words[index] in _WRAPPER_OPTIONS_WITH_VALUE else 1
    return words[index:]
