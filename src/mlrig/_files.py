"""Reading small files a user or a repository hands mlrig, and YAML in and out of them.

An answers file, a config file or a pipeline is a few kilobytes of YAML. Whatever the path
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
    "MAX_ALIASED_IN_REPO",
    "MAX_BYTES",
    "MAX_DEPTH",
    "check_yaml_shape",
    "keep_line_breaks_in_dumps",
    "load_yaml",
    "read_bytes",
    "read_text",
]

#: The largest file :func:`read_text` reads; a pure-Python YAML parser takes about
#: half a second for this much.
MAX_BYTES = 64 * 1024
#: The deepest nesting of lists and mappings :func:`load_yaml` accepts.
MAX_DEPTH = 50
#: How many values YAML aliases may stand for in one document, counted expanded.
MAX_ALIASED = 1000
#: The same bound for a repository's pipelines and task files, which share job
#: templates through anchors (``<<: *defaults`` in every job); a "billion laughs"
#: stands for a billion values, and 100,000 are walked in well under a second.
MAX_ALIASED_IN_REPO = 100_000
# Each parser event class's role in _check_shape, looked up once per class.
_ROLES: dict[type, str] = {}
# YAML 1.1 line breaks besides "\n" and "\r", which PyYAML writes raw in single quotes.
_UNICODE_BREAKS = frozenset("\x85\u2028\u2029")


def read_bytes(path: Path, *, what: str, limit: int = MAX_BYTES, root: Path | None = None) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them.

    ``what`` names the file in messages, e.g. ``"answers file a.yml"``. A symlink
    is followed; with ``root`` (a repository's top folder) only to a file inside
    ``root``. Raises :class:`InvalidInputError` when the file does not exist,
    cannot be read, leads out of ``root``, is not a regular file (a FIFO or device
    is never read, so never waited on), or is larger than ``limit`` bytes.
    """
    if root is not None:
        target = Path(os.path.realpath(path))
        if not target.is_relative_to(os.path.realpath(root)):
            raise InvalidInputError(
                f"{what} is a symlink to {target}, outside the repository; mlrig never "
                "follows it: replace it with the real file, or remove it, then retry"
            )
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InvalidInputError(f"{what} does not exist") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {what}: {exc.strerror}") from None
    try:
        # Checked before fdopen, which itself refuses a folder with an OSError.
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            real = os.path.realpath(path)
            shown = "" if real == os.path.abspath(path) else f" (it leads to {real})"
            raise InvalidInputError(f"{what} is not a regular file{shown}; give the path of a file")
        # The size the file system reports, or, for a file still growing, what is read.
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = b"" if info.st_size > limit else file.read(limit + 1)
    finally:
        os.close(fd)
    if info.st_size > limit or len(data) > limit:
        raise InvalidInputError(
            f"{what} is {_size(max(info.st_size, len(data)))}, larger than {_size(limit)}, "
            "the limit for a file mlrig reads; give a smaller file"
        )
    return data


def _size(count: int) -> str:
    return f"{count / 2**20:.1f} MB" if count >= 2**20 else f"{count // 1024} KiB"


def read_text(path: Path, *, what: str, limit: int = MAX_BYTES, root: Path | None = None) -> str:
    """The UTF-8 text of the file at ``path``, read as :func:`read_bytes` reads it.

    Raises :class:`InvalidInputError` as :func:`read_bytes` does, and when the
    file is not UTF-8.
    """
    data = read_bytes(path, what=what, limit=limit, root=root)
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
        _check_shape(yaml.parse(text), what, MAX_ALIASED)
        return yaml.load(text)
    except YAMLError as exc:
        problem = " ".join(str(exc).split())
        raise InvalidInputError(f"{what} is not valid YAML: {problem}") from None


def check_yaml_shape(text: str, *, what: str, max_aliased: int = MAX_ALIASED) -> None:
    """Refuse YAML that :func:`load_yaml` refuses for its shape, before any parser builds it.

    For callers with a parser of their own (round-trip, line-keeping): raises
    :class:`InvalidInputError` naming ``what`` for nesting deeper than
    :data:`MAX_DEPTH` or aliases standing for more than ``max_aliased`` values
    (:data:`MAX_ALIASED_IN_REPO` for a repository's files). A syntax error stops
    the check quietly: the caller's parser reports it in its own words.
    """
    import yaml

    # PyYAML's C parser streams the events of a large pipeline in milliseconds.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        _check_shape(yaml.parse(text, Loader=loader), what, max_aliased)
    except yaml.YAMLError:
        return


def _role(kind: type) -> str:
    """Which of the events :func:`_check_shape` counts ``kind`` is, in ruamel.yaml or PyYAML."""
    if kind not in _ROLES:
        names = {base.__name__ for base in kind.__mro__}
        roles = ("CollectionStartEvent", "CollectionEndEvent", "ScalarEvent", "AliasEvent")
        _ROLES[kind] = next((role for role in roles if role in names), "")
    return _ROLES[kind]


def _check_shape(events: Iterable[Any], what: str, max_aliased: int) -> None:
    """Refuse deep nesting and large alias expansions while a parser streams events.

    ``events`` come from ruamel.yaml's or PyYAML's parser: their event classes share
    names and attributes.
    """
    # Each open collection's anchor and expanded size; each anchor's expanded size.
    open_: list[tuple[str | None, list[int]]] = []
    sizes: dict[str, int] = {}
    aliased = 0
    for event in events:
        role = _role(type(event))
        if role == "CollectionStartEvent":
            open_.append((event.anchor, [1]))
            if len(open_) > MAX_DEPTH:
                raise InvalidInputError(
                    f"{what} nests lists or mappings deeper than {MAX_DEPTH} levels, the "
                    "limit for a file mlrig reads"
                )
            continue
        if role == "CollectionEndEvent":
            anchor, (size,) = open_.pop()
        elif role == "ScalarEvent":
            anchor, size = event.anchor, 1
        elif role == "AliasEvent":
            anchor, size = None, sizes.get(event.anchor, 1)
            aliased += size
            if aliased > max_aliased:
                raise InvalidInputError(
                    f"{what} uses YAML aliases that stand for more than {max_aliased} "
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
