"""All of mlrig's YAML in and out: the only module that imports a YAML library.

Two libraries, each for what only it does well:

- ruamel.yaml reads YAML 1.2 (GitHub's ``on:`` stays a string), refuses duplicate
  keys, and round-trips a user's pipeline with its comments and layout
  (:func:`load`, :func:`load_round_trip`).
- PyYAML, which copier itself requires, reads YAML 1.1 as copier and GitLab do
  and has a C parser, ten times faster than ruamel.yaml's pure-Python one, for a
  repository's many pipelines (:func:`load_lined`, :func:`load_copier`, the
  shape check of every load); it also writes what copier writes (:func:`dump_scalar`,
  :func:`dump_like_copier`).

Whatever is read is first checked for its shape on the parser's events: nesting
deeper than :data:`MAX_DEPTH` or aliases standing for more than ``max_aliased``
values (a "billion laughs") is refused with :class:`InvalidInputError` before any
value is built. Invalid YAML raises it too, as ``"WHAT is not valid YAML: ..."``.
The libraries are imported on first use: the CLI starts without them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from mlrig.errors import InvalidInputError

__all__ = [
    "MAX_ALIASED",
    "MAX_ALIASED_IN_REPO",
    "MAX_DEPTH",
    "Lined",
    "Reference",
    "check_shape",
    "dump_like_copier",
    "dump_scalar",
    "keep_line_breaks_in_dumps",
    "load",
    "load_copier",
    "load_lined",
    "load_round_trip",
]

#: The deepest nesting of lists and mappings a load accepts.
MAX_DEPTH = 50
#: How many values YAML aliases may stand for in one document, counted expanded.
MAX_ALIASED = 1000
#: The same bound for a repository's pipelines and task files, which share job
#: templates through anchors (``<<: *defaults`` in every job); a "billion laughs"
#: stands for a billion values, and 100,000 are walked in well under a second.
MAX_ALIASED_IN_REPO = 100_000
# Each parser event class's role in _check_events, looked up once per class.
_ROLES: dict[type, str] = {}
# YAML 1.1 line breaks besides "\n" and "\r", which PyYAML writes raw in single quotes.
_UNICODE_BREAKS = frozenset("\x85\u2028\u2029")


def load(
    text: str, *, what: str, max_aliased: int = MAX_ALIASED, gitlab_references: bool = False
) -> Any:
    """Parse one YAML 1.2 document safely (ruamel.yaml); duplicate keys are refused.

    ``what`` names the text in errors (``"config file ~/.mlrig.yml"``). With
    ``gitlab_references``, GitLab's ``!reference [job, key]`` reads as its list.
    Raises :class:`InvalidInputError` for invalid YAML and a refused shape.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    check_shape(text, what=what, max_aliased=max_aliased)
    yaml = YAML(typ="safe", pure=True)
    if gitlab_references:
        yaml.constructor.add_constructor("!reference", _reference_as_list)
    try:
        return yaml.load(text)
    except YAMLError as exc:
        raise _invalid(what, exc) from None


def _reference_as_list(constructor: Any, node: Any) -> object:
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.nodes import SequenceNode

    if isinstance(node, SequenceNode):
        return constructor.construct_sequence(node)
    raise YAMLError("!reference needs a list")


def load_round_trip(text: str, *, what: str, max_aliased: int = MAX_ALIASED_IN_REPO) -> Any:
    """Parse ``text`` keeping comments, order and layout, for editing (ruamel.yaml).

    Mappings come back as dicts (``CommentedMap``) that know their lines. Raises
    :class:`InvalidInputError` for a refused shape, and for invalid YAML as
    ``"WHAT:LINE: not valid YAML (...); fix the file, then retry"``.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    check_shape(text, what=what, max_aliased=max_aliased)
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
    except YAMLError as exc:
        line, problem = "", " ".join(str(exc).split())
    raise InvalidInputError(f"{what}{line}: not valid YAML ({problem}); fix the file, then retry")


def load_copier(text: str | bytes, *, what: str) -> Any:
    """Parse a file copier wrote (its answers file) the way copier reads it: YAML 1.1.

    Raises :class:`InvalidInputError` for invalid YAML and a refused shape.
    """
    import yaml

    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    check_shape(text, what=what)
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise _invalid(what, exc) from None


class Lined(str):
    """A YAML string that knows where it stands (``file``, 1-based ``line``)."""

    file: str = ""
    line: int = 0


class Reference:
    """GitLab's ``!reference [job, key, ...]``: resolved against the merged pipeline."""

    def __init__(self, path: list[object]) -> None:
        self.path = [str(part) for part in path]


def load_lined(text: str, *, file: str, max_aliased: int = MAX_ALIASED_IN_REPO) -> object:
    """Parse a repository's YAML file fast: strings are :class:`Lined`, ``!reference`` kept.

    PyYAML's C loader (YAML 1.1, as GitLab reads it; GitHub's ``on:`` key comes
    back as ``True``). Raises :class:`InvalidInputError` naming ``file`` for
    invalid YAML and a refused shape.
    """
    import yaml

    check_shape(text, what=file, max_aliased=max_aliased)
    loader = _lined_loader()(text)
    loader.mlrig_file = file
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise _invalid(file, exc) from None
    finally:
        loader.dispose()


@cache
def _lined_loader() -> type:
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc, valid-type]
        """The safe loader; strings carry their line, GitLab's ``!reference`` is kept."""

        mlrig_file = ""

    def text(loader: Any, node: yaml.ScalarNode) -> Lined:
        value = Lined(loader.construct_scalar(node))
        value.file = loader.mlrig_file
        # A block scalar (| or >) starts on the line after its indicator.
        value.line = node.start_mark.line + 1 + (node.style in ("|", ">"))
        return value

    def reference(loader: Any, node: yaml.Node) -> Reference:
        if not isinstance(node, yaml.SequenceNode):
            raise yaml.constructor.ConstructorError(None, None, "!reference needs a list")
        return Reference(loader.construct_sequence(node))

    Loader.add_constructor("tag:yaml.org,2002:str", text)
    Loader.add_constructor("!reference", reference)
    return Loader


def _invalid(what: str, exc: Exception) -> InvalidInputError:
    # PyYAML names the input "<unicode string>": ``what`` names it instead.
    problem = re.sub(r' in "<[^>]*>",', ",", " ".join(str(exc).split()))
    return InvalidInputError(f"{what} is not valid YAML: {problem}")


def check_shape(text: str, *, what: str, max_aliased: int = MAX_ALIASED) -> None:
    """Refuse YAML nested deeper than :data:`MAX_DEPTH` or with aliases for too many values.

    Every load here calls it first. Raises :class:`InvalidInputError` naming
    ``what``; YAML neither library parses passes, for the loader to report.
    """
    import yaml

    # PyYAML's C parser streams the events of a large pipeline in milliseconds.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        _check_events(yaml.parse(text, Loader=loader), what, max_aliased)
    except yaml.YAMLError:
        # YAML 1.2 that PyYAML's 1.1 parser refuses may still load with ruamel.yaml:
        # its own events are checked then, so that no bomb slips through the gap.
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError

        try:
            _check_events(YAML(typ="safe", pure=True).parse(text), what, max_aliased)
        except YAMLError:
            return


def _role(kind: type) -> str:
    """Which of the events :func:`_check_events` counts ``kind`` is."""
    if kind not in _ROLES:
        names = {base.__name__ for base in kind.__mro__}
        roles = ("CollectionStartEvent", "CollectionEndEvent", "ScalarEvent", "AliasEvent")
        _ROLES[kind] = next((role for role in roles if role in names), "")
    return _ROLES[kind]


def _check_events(events: Iterable[Any], what: str, max_aliased: int) -> None:
    """Refuse deep nesting and large alias expansions while the parser streams events."""
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


def dump_scalar(value: str) -> str:
    """``value`` as one YAML scalar on one line, quoted where YAML needs it (as copier's)."""
    import yaml

    return yaml.safe_dump(value, width=1 << 16).removesuffix("\n...\n").strip()


def dump_like_copier(data: object) -> str:
    """``data`` as the template's ``to_nice_yaml`` filter writes it (copier's answers file)."""
    from jinja2_ansible_filters.core_filters import to_nice_yaml  # type: ignore[import-untyped]

    return str(to_nice_yaml(data))


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
