"""The rules of each built-in answer: a parser per kind of value, raising ValueError.

Each parser takes a raw answer (a ``-d`` string, a YAML scalar or a prompt's text)
and returns the typed value, or raises :class:`ValueError` saying what is wrong;
:mod:`mlrig.answers` names the question. ``templates/ml/copier.yml``'s validators
state the same rules for plain copier (a test feeds both the same bad answers).
"""

from __future__ import annotations

import keyword
import math
import re
import sys
from collections.abc import Callable

__all__ = [
    "JOB_NAME",
    "REL_PATH",
    "choice",
    "command",
    "description",
    "name_list",
    "package_name",
    "plain_text",
    "project_name",
    "rel_path",
    "runner_label",
    "schedule",
    "threshold",
    "yes_no",
]

_PROJECT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_RUNNER_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (lowest, highest, names) of each cron field; GitHub and GitLab accept these.
_CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 6, _WEEKDAYS),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
#: The longest word of a description (the answers file can fold it only at spaces).
_DESCRIPTION_WORD = 64
# A relative path inside the repository: no '..', no leading '-' or '/', plain characters.
REL_PATH = re.compile(r"(?!-)(?!.*(?:^|/)\.\.(?:/|$))[A-Za-z0-9_.][A-Za-z0-9_./-]{0,254}")
JOB_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}


def package_name(project_name: str) -> str:
    return project_name.lower().replace("-", "_")


def plain_text(raw: object) -> str:
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise ValueError("must be text")
    text = str(raw)
    # A lone surrogate (undecodable bytes, or a YAML "\udcff" escape) cannot be
    # written to any file, so no answer may hold one.
    if _SURROGATE.search(text):
        raise ValueError("is not valid UTF-8 text (it holds a lone surrogate); give it in UTF-8")
    return text


def description(raw: object) -> str:
    """Free text, kept as given, whose words are at most 64 characters.

    The answers file folds a long description at its spaces only; with short words
    every line of it stays within the line length yamllint allows.
    """
    text = plain_text(raw)
    if _CONTROL.search(text):
        raise ValueError("must not hold control characters other than tab and newline")
    longest = max(text.split(), key=len, default="")
    if len(longest) > _DESCRIPTION_WORD:
        raise ValueError(
            f"the word {longest[:20] + '...'!r} is {len(longest)} characters long; use words "
            f"of at most {_DESCRIPTION_WORD} characters (split it with spaces)"
        )
    return text


def project_name(raw: object) -> str:
    name = plain_text(raw)
    if not _PROJECT_NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a valid project name: start with a letter, then use only "
            "letters, digits, '-' or '_', at most 64 characters"
        )
    package = package_name(name)
    if keyword.iskeyword(package) or package in sys.stdlib_module_names:
        raise ValueError(
            f"{name!r} would make a package named {package!r}, which is a Python keyword or "
            "standard-library module; choose another name"
        )
    return name


def choice(*choices: str) -> Callable[[object], str]:
    def parse(raw: object) -> str:
        value = plain_text(raw)
        if value not in choices:
            raise ValueError(f"{value!r} is not one of: {', '.join(choices)}")
        return value

    return parse


def yes_no(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    value = plain_text(raw).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{raw!r} is not yes or no")


def threshold(raw: object) -> float:
    if isinstance(raw, bool):
        raise ValueError("must be a number between 0 and 1")
    try:
        value = float(plain_text(raw))
    except ValueError:
        raise ValueError(f"{raw!r} is not a number between 0 and 1") from None
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise ValueError(f"{raw!r} is not a number between 0 and 1")
    return value


def command(raw: object) -> str:
    """A shell command, one line or several (checked with ``bash -n`` in resolve_answers)."""
    lines = [line.rstrip() for line in plain_text(raw).replace("\r\n", "\n").split("\n")]
    text = "\n".join(lines).strip("\n").strip()
    if _CONTROL.search(text) or "\r" in text:
        raise ValueError("must not hold control characters other than tab and newline")
    # A GitHub expression in `run:` is expanded before the shell sees it (injection).
    if "${{" in text or "{{" in text or "{%" in text:
        raise ValueError("must not hold '${{', '{{' or '{%'")
    return text


def rel_path(raw: object) -> str:
    text = plain_text(raw).strip()
    if text and not REL_PATH.fullmatch(text):
        raise ValueError(
            f"{text!r} is not a relative path inside the repository (letters, digits, "
            "'_', '.', '-' and '/'; no '..')"
        )
    return text


def name_list(pattern: re.Pattern[str], what: str) -> Callable[[object], tuple[str, ...]]:
    def parse(raw: object) -> tuple[str, ...]:
        if raw is None:
            return ()
        items = raw if isinstance(raw, (list, tuple)) else plain_text(raw).split(",")
        names = tuple(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))
        bad = [name for name in names if not pattern.fullmatch(name)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a {what}")
        return names

    return parse


def runner_label(raw: object) -> str:
    label = plain_text(raw).strip()
    if label != "none" and not _RUNNER_LABEL.fullmatch(label):
        raise ValueError(
            f"{label!r} is not a runner label: use 'none' or letters, digits, '.', '-' and '_'"
        )
    return label


def _cron_digits(token: str) -> int | None:
    """``token`` as a number when it is one or two ASCII digits (no cron field needs more)."""
    # isdigit() alone takes Arabic-Indic or fullwidth digits, which cron does not.
    return int(token) if token.isascii() and token.isdigit() and len(token) <= 2 else None


def _cron_number(token: str, field: str, low: int, high: int, names: tuple[str, ...]) -> int:
    """One value of a cron field: ASCII digits in ``low..high``, or one of ``names``."""
    if token.upper() in names:
        return low + names.index(token.upper())
    number = _cron_digits(token)
    if number is not None and low <= number <= high:
        return number
    spelled = f" or {names[0]}-{names[-1]}" if names else ""
    raise ValueError(f"the {field} {token!r} is not a number from {low} to {high}{spelled}")


def _cron_item(item: str, field: str, low: int, high: int, names: tuple[str, ...]) -> None:
    """Check one comma-separated item of a cron field: ``*``, ``N`` or ``N-M``, then ``/STEP``."""
    base, slash, step = item.partition("/")
    if base != "*":
        start, dash, end = base.partition("-")
        first = _cron_number(start, field, low, high, names)
        if dash and first > _cron_number(end, field, low, high, names):
            raise ValueError(f"the {field} range {base!r} runs backwards; write it low-high")
    number = _cron_digits(step)
    if slash and not (number is not None and 1 <= number <= high):
        raise ValueError(f"the {field} step {step!r} is not a number from 1 to {high}")


def schedule(raw: object) -> str:
    text = " ".join(plain_text(raw).split())
    if text == "none":
        return text
    fields = text.split(" ")
    if len(fields) != len(_CRON_FIELDS):
        raise ValueError(
            f"{text!r} is not a cron schedule: use 'none' or 5 cron fields (minute hour "
            "day-of-month month day-of-week), e.g. '0 6 * * 1'"
        )
    for token, (field, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for item in token.split(","):
            try:
                _cron_item(item, field, low, high, names)
            except ValueError as exc:
                raise ValueError(f"{text!r}: {exc}") from None
    return text
