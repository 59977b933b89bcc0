"""Reading small files a user hands mlrig, and YAML in and out of them, within bounds.

An answers file or a config file is a few kilobytes of YAML. Whatever the path
names instead (a FIFO, ``/dev/zero``, a 50 MB file, a 100,000-level nesting, a
"billion laughs" of aliases) is refused with :class:`InvalidInputError`, in
well under a second, before a parser or a printer can hang on it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mlrig.errors import InvalidInputError

__all__ = [
    "MAX_ALIASED",
    "MAX_BYTES",
    "MAX_DEPTH",
    "keep_line_breaks_in_dumps",
    "load_yaml",
    "read_text",
]

#: The largest file :func:`read_text` reads; a pure-Python YAML parser takes about
#: half a second for this much.
MAX_BYTES = 64 * 1024
#: The deepest nesting of lists and mappings :func:`load_yaml` accepts.
MAX_DEPTH = 50
#: How many values YAML aliases may stand for in one document, counted expanded.
MAX_ALIASED = 1000
# YAML 1.1 line breaks besides "\n" and "\r", which PyYAML writes raw in single quotes.
_UNICODE_BREAKS = frozenset("\x85\u2028\u2029")


def read_text(path: Path, *, what: str, limit: int = MAX_BYTES) -> str:
    """The UTF-8 text of the regular file at ``path`` (a symlink is followed).

    ``what`` names the file in messages, e.g. ``"answers file a.yml"``. Raises
    :class:`InvalidInputError` when the file does not exist, cannot be read, is
    not a regular file (a FIFO or device is never read, so never waited on), is
    larger than ``limit`` bytes, or is not UTF-8.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InvalidInputError(f"{what} does not exist") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {what}: {exc.strerror}") from None
    try:
        # Checked before fdopen, which itself refuses a folder with an OSError.
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            target = os.path.realpath(path)
            shown = "" if target == os.path.abspath(path) else f" (it leads to {target})"
            raise InvalidInputError(f"{what} is not a regular file{shown}; give the path of a file")
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise InvalidInputError(
            f"{what} is larger than {limit // 1024} KiB, the limit for a file mlrig reads; "
            "give a smaller file"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"cannot read {what}: it is not UTF-8 text (byte {exc.start}: {exc.reason})"
        ) from None


def load_yaml(text: str, *, what: str) -> Any:
    """Parse one YAML document with the safe loader, which also refuses duplicate keys.

    Raises :class:`InvalidInputError` naming ``what`` for invalid YAML, lists and
    mappings nested deeper than :data:`MAX_DEPTH`, and aliases standing for more
    than :data:`MAX_ALIASED` values: the document's shape is checked on the parser's
    events, before any value is built.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML(typ="safe", pure=True)
    try:
        _check_shape(yaml.parse(text), what)
        return yaml.load(text)
    except YAMLError as exc:
        problem = " ".join(str(exc).split())
        raise InvalidInputError(f"{what} is not valid YAML: {problem}") from None


def _check_shape(events: Iterable[Any], what: str) -> None:
    """Refuse deep nesting and large alias expansions while the parser streams events."""
    from ruamel.yaml.events import (
        AliasEvent,
        CollectionEndEvent,
        CollectionStartEvent,
        ScalarEvent,
    )

    # Each open collection's anchor and expanded size; each anchor's expanded size.
    open_: list[tuple[str | None, list[int]]] = []
    sizes: dict[str, int] = {}
    aliased = 0
    for event in events:
        if isinstance(event, CollectionStartEvent):
            open_.append((event.anchor, [1]))
            if len(open_) > MAX_DEPTH:
                raise InvalidInputError(
                    f"{what} nests lists or mappings deeper than {MAX_DEPTH} levels, the "
                    "limit for a file mlrig reads"
                )
            continue
        if isinstance(event, CollectionEndEvent):
            anchor, (size,) = open_.pop()
        elif isinstance(event, ScalarEvent):
            anchor, size = event.anchor, 1
        elif isinstance(event, AliasEvent):
            anchor, size = None, sizes.get(event.anchor, 1)
            aliased += size
            if aliased > MAX_ALIASED:
                raise InvalidInputError(
                    f"{what} uses YAML aliases that stand for more than {MAX_ALIASED} "
                    "values, the limit for a file mlrig reads; write the values out"
                )
        else:
            continue
        if anchor is not None:
            sizes[anchor] = size
        if open_:
            open_[-1][1][0] += size


def keep_line_breaks_in_dumps() -> None:
    """Make PyYAML write strings holding U+0085, U+2028 or U+2029 double-quoted.

    PyYAML writes these raw inside single quotes, and its own loader then reads
    U+0085 back as a space: an answer holding one would change on its way
    through the answers file copier renders with ``to_nice_yaml``. Double quotes
    escape them (``\\N``, ``\\L``, ``\\P``), which every YAML loader reads back
    exactly. Call it before copier renders; calling it again changes nothing.
    """
    import yaml

    for dumper in (yaml.Dumper, yaml.SafeDumper):
        dumper.add_representer(str, _represent_str)


def _represent_str(dumper: Any, data: str) -> Any:
    style = '"' if _UNICODE_BREAKS.intersection(data) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)
