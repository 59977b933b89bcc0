"""Merge mlrig's CI jobs into a user's pipeline file without changing the user's bytes.

The user's file is parsed round-trip (ruamel.yaml) only to *locate* things: its
jobs, its ``stages:`` list and where the jobs block ends. The merged file is then
built by splicing text: mlrig's job blocks, cut verbatim from the rendered
template (comments and version pins included) and shifted to the column of the
user's jobs, are inserted after the user's last job. Nothing of the user's text
is re-serialised, so everything outside the inserted lines stays byte for byte.

Rules: a job whose name the user already has is not added (the user's job is
kept and reported); a job that mlrig adds brings the jobs its ``needs:`` names,
so every ``needs:`` points at a job that exists; the user's top-level settings
(GitHub ``on:``, ``permissions:``, ``concurrency:``; GitLab ``workflow:``,
``default:``, ``include:``, ``variables:`` ...) are kept and differences from
mlrig's are reported. GitLab stages are unioned, keeping the user's order; a
hidden template of mlrig's (``.python``) that clashes with a different one of
the user's is added under a prefixed name and mlrig's jobs point at it.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlrig._files import read_bytes
from mlrig._yaml import load_round_trip
from mlrig.errors import InvalidInputError

__all__ = [
    "GITLAB_KEYWORDS",
    "MAX_PIPELINE_BYTES",
    "MergeResult",
    "job_names",
    "merge_github",
    "merge_gitlab",
    "parse_pipeline",
    "read_pipeline",
    "select_jobs",
]

#: Larger pipeline files are refused: a real one is a few kilobytes.
MAX_PIPELINE_BYTES = 5 * 1024 * 1024
#: Top-level keys of a ``.gitlab-ci.yml`` that are settings, not jobs.
GITLAB_KEYWORDS = frozenset(
    {
        "stages",
        "variables",
        "default",
        "workflow",
        "include",
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
        "spec",
    }
)
_GITHUB_SETTINGS = ("on", "permissions", "concurrency", "env", "defaults", "run-name")
_GITLAB_SETTINGS = ("workflow", "default", "include", "variables", "image", "services", "cache")
_GITLAB_DEFAULT_STAGES = ("build", "test", "deploy")
_HIDDEN_PREFIX = ".mlrig-"


@dataclass(frozen=True)
class MergeResult:
    """The merged text of one pipeline file and what the merge did."""

    text: str
    #: mlrig's jobs that were added, in mlrig's order.
    added: tuple[str, ...]
    #: mlrig's jobs the user already has under the same name: the user's job is kept.
    kept: tuple[str, ...]
    #: Differences worth telling the user (settings kept, templates renamed, stages added).
    notes: tuple[str, ...]
    #: What makes the merged file invalid for the CI provider, which no merge can fix
    #: without changing the user's part (a ``needs:`` on a job of a later stage).
    problems: tuple[str, ...] = ()


def read_pipeline(path: Path, name: str, *, root: Path | None = None) -> str:
    """Read a pipeline file that mlrig is about to merge into, refusing bad input.

    Raises :class:`InvalidInputError` when the file is not a regular file, leads
    out of the repository ``root`` (a symlink), is larger than
    :data:`MAX_PIPELINE_BYTES`, binary or not UTF-8, or not valid YAML (syntax
    errors, duplicate keys, alias bombs and deep nesting, with the line).
    ``name`` is the path shown to the user.
    """
    data = read_bytes(path, what=name, limit=MAX_PIPELINE_BYTES, root=root)
    try:
        if b"\0" in data:
            raise UnicodeDecodeError("utf-8", data, data.index(b"\0"), len(data), "NUL byte")
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(
            f"{name} is binary, not a YAML text file; restore it or move it aside, then retry"
        ) from None
    parse_pipeline(text, name)
    return text


def parse_pipeline(text: str, name: str) -> Any:
    """Parse ``text`` round-trip; :class:`InvalidInputError` naming ``name`` and the line.

    YAML that :mod:`mlrig._yaml` refuses for its shape (aliases standing for too
    many values, deep nesting) is refused before it is built.
    """
    return load_round_trip(text, what=name)


def job_names(text: str, *, gitlab: bool, name: str = "pipeline") -> tuple[str, ...]:
    """Names of the jobs of a GitHub workflow or a ``.gitlab-ci.yml``, in file order."""
    doc = _mapping(parse_pipeline(text, name), name)
    if gitlab:
        return tuple(_gitlab_jobs(doc))
    jobs = doc.get("jobs")
    return tuple(str(key) for key in jobs) if isinstance(jobs, dict) else ()


def merge_github(
    user: str, mlrig: str, *, name: str, only: Collection[str] | None = None
) -> MergeResult:
    """Add mlrig's jobs (all, or ``only`` these and what they need) to a user's workflow."""
    crlf = _is_crlf(user)
    result = _merge_github(user.replace("\r\n", "\n") if crlf else user, mlrig, name, only)
    return _with_crlf(result) if crlf else result


def _merge_github(user: str, mlrig: str, name: str, only: Collection[str] | None) -> MergeResult:
    doc = _mapping(parse_pipeline(user, name), name)
    ours = _mapping(parse_pipeline(mlrig, f"mlrig's {name}"), f"mlrig's {name}")
    our_jobs = ours["jobs"]
    user_jobs = doc.get("jobs")
    if user_jobs is not None and not _is_mapping(user_jobs):
        raise InvalidInputError(f"{name}: `jobs:` is not a mapping; fix the file, then retry")
    have = set(user_jobs or ())
    wanted = _closure(our_jobs, only, _github_needs)
    added = tuple(job for job in our_jobs if job in wanted and job not in have)
    kept = tuple(job for job in our_jobs if job in wanted and job in have)
    notes = _setting_notes(doc, ours, _GITHUB_SETTINGS)
    if not added:
        return MergeResult(user, (), kept, tuple(notes))
    lines = mlrig.splitlines(keepends=True)
    our_col = our_jobs.lc.key(next(iter(our_jobs)))[1]
    blocks = _blocks(lines, our_jobs, _end_of(ours, "jobs", len(lines)))
    user_lines = user.splitlines(keepends=True)
    if user_jobs is None:
        if "jobs" in doc:
            raise InvalidInputError(f"{name}: `jobs:` is empty; add a job or remove the key")
        insert = "\njobs:\n" + "".join(_shift(blocks[job], 2 - our_col) for job in added)
        text = _insert(user_lines, _document_end(user_lines), insert)
        return MergeResult(text, added, kept, tuple(notes))
    if user_jobs.fa.flow_style():
        raise InvalidInputError(
            f"{name}: `jobs:` is written in flow style ({{...}}); mlrig merges only block "
            "style; rewrite it as an indented mapping, then retry"
        )
    col = user_jobs.lc.key(next(iter(user_jobs)))[1]
    end = min(_end_of(doc, "jobs", len(user_lines)), _document_end(user_lines))
    at = _content_end(user_lines, end, col)
    insert = "".join("\n" + _shift(blocks[job], col - our_col) for job in added)
    return MergeResult(_insert(user_lines, at, insert), added, kept, tuple(notes))


def merge_gitlab(
    user: str,
    mlrig: str,
    *,
    name: str,
    only: Collection[str] | None = None,
    included: Mapping[str, str | None] | None = None,
) -> MergeResult:
    """Add mlrig's jobs (all, or ``only`` these and what they need) to a ``.gitlab-ci.yml``.

    The jobs, their hidden templates and a ``stages:`` key when the user has none go
    at the end of the file; missing stages are inserted into the user's ``stages:``.
    ``included`` maps the jobs the user's local includes define to their stage:
    they count as the user's jobs (a same-named key here would silently merge
    into them).
    """
    crlf = _is_crlf(user)
    result = _merge_gitlab(
        user.replace("\r\n", "\n") if crlf else user, mlrig, name, only, included
    )
    return _with_crlf(result) if crlf else result


def _merge_gitlab(
    user: str,
    mlrig: str,
    name: str,
    only: Collection[str] | None,
    included: Mapping[str, str | None] | None,
) -> MergeResult:
    doc = parse_pipeline(user, name)
    doc = _mapping(doc, name) if doc is not None else None
    ours = _mapping(parse_pipeline(mlrig, f"mlrig's {name}"), f"mlrig's {name}")
    included = dict(included or {})
    user_keys = set(doc or ()) | set(included)
    our_jobs = _gitlab_jobs(ours)
    wanted = _closure({job: ours[job] for job in our_jobs}, only, _gitlab_needs)
    added = tuple(job for job in our_jobs if job in wanted and job not in user_keys)
    kept = tuple(job for job in our_jobs if job in wanted and job in user_keys)
    notes = _setting_notes(doc, ours, _GITLAB_SETTINGS)
    if not added:
        return MergeResult(user, (), kept, tuple(notes))
    lines = mlrig.splitlines(keepends=True)
    blocks = _blocks(lines, ours, len(lines))
    # Hidden templates the added jobs extend, transitively, in mlrig's order.
    hidden: list[str] = []
    todo = [base for job in added for base in _extends(ours[job])]
    while todo:
        base = todo.pop()
        if base in ours and base not in hidden:
            hidden.append(base)
            todo.extend(_extends(ours[base]))
    hidden.sort(key=list(ours).index)
    renames = {
        base: _HIDDEN_PREFIX + base.lstrip(".")
        for base in hidden
        if base in user_keys and _plain(doc[base] if doc else None) != _plain(ours[base])
    }
    for base, new in renames.items():
        notes.append(f"your `{base}` differs from mlrig's: mlrig's was added as `{new}`")
    pieces = [
        _rename_base(_rename_extends(blocks[base], renames), renames)
        for base in hidden
        if base not in user_keys or base in renames
    ]
    pieces += [_rename_extends(blocks[job], renames) for job in added]
    text = user
    used = [str(ours[job].get("stage", "test")) for job in added]
    stages = [str(stage) for stage in ours.get("stages", ())]
    needed = [stage for stage in stages if stage in used]
    text, stage_note, new_stages = _merge_stages(text, doc, needed, stages)
    if stage_note:
        notes.append(stage_note)
    problems = tuple(
        _stage_order_notes(
            doc,
            ours,
            added,
            included,
            _union(
                [str(s) for s in doc["stages"]]
                if doc is not None and "stages" in doc
                else list(_GITLAB_DEFAULT_STAGES),
                needed,
                stages,
            ),
        )
    )
    tail = "".join("\n" + piece for piece in pieces)
    if new_stages is not None:
        tail = "\nstages:\n" + "".join(f"  - {stage}\n" for stage in new_stages) + tail
    user_lines = text.splitlines(keepends=True)
    if not user_lines:
        return MergeResult(tail.removeprefix("\n"), added, kept, tuple(notes), problems)
    at = _content_end(user_lines, _document_end(user_lines), 0)
    return MergeResult(_insert(user_lines, at, tail), added, kept, tuple(notes), problems)


def select_jobs(mlrig: str, jobs: Collection[str], *, gitlab: bool, name: str) -> str:
    """mlrig's pipeline text with only ``jobs`` (and what they need); for a file the user lacks.

    Removes the other jobs' blocks (and, for GitLab, hidden templates no kept job
    extends); everything else stays as rendered. Returns ``""`` when no job is left.
    """
    ours = _mapping(parse_pipeline(mlrig, name), name)
    lines = mlrig.splitlines(keepends=True)
    if gitlab:
        names = _gitlab_jobs(ours)
        wanted = _closure({job: ours[job] for job in names}, jobs, _gitlab_needs)
        if not wanted:
            return ""
        bases = {base for job in wanted for base in _extends(ours[job])}
        drop = [key for key in names if key not in wanted]
        drop += [k for k in ours if str(k).startswith(".") and k not in bases]
        spans = _blocks(lines, ours, len(lines), spans=True)
    else:
        our_jobs = ours["jobs"]
        wanted = _closure(our_jobs, jobs, _github_needs)
        if not wanted:
            return ""
        drop = [job for job in our_jobs if job not in wanted]
        spans = _blocks(lines, our_jobs, _end_of(ours, "jobs", len(lines)), spans=True)
    removed: set[int] = set()
    for key in drop:
        start, end = _span(spans[key])
        # Take the blank line that separated the block from the next one too.
        end = end + 1 if end < len(lines) and not lines[end].strip() else end
        removed.update(range(start, end))
    return "".join(line for number, line in enumerate(lines) if number not in removed)


# --- helpers ---------------------------------------------------------------------


def _is_mapping(value: object) -> bool:
    # A round-trip mapping is ruamel.yaml's CommentedMap, a dict that knows its lines.
    return isinstance(value, dict)


def _mapping(doc: Any, name: str) -> Any:
    if not _is_mapping(doc):
        raise InvalidInputError(f"{name} is not a YAML mapping of jobs; fix the file, then retry")
    return doc


def _setting_notes(doc: Any, ours: Any, keys: Iterable[str]) -> list[str]:
    """Say which of mlrig's top-level settings differ from the user's (which are kept)."""
    notes = []
    for key in keys:
        if key not in ours:
            continue
        if doc is None or key not in doc:
            notes.append(f"mlrig's `{key}:` was not added: your file's settings stay as they are")
        elif _plain(doc[key]) != _plain(ours[key]):
            notes.append(f"kept your `{key}:`; mlrig's differs and was not merged")
    return notes


def _plain(value: Any) -> Any:
    """Plain data for comparisons: ruamel's containers compare with their comments otherwise."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _gitlab_jobs(doc: Any) -> list[str]:
    return [
        str(key) for key in doc if str(key) not in GITLAB_KEYWORDS and not str(key).startswith(".")
    ]


def _github_needs(job: Any) -> list[str]:
    needs = job.get("needs", ()) if isinstance(job, dict) else ()
    return [needs] if isinstance(needs, str) else [str(n) for n in needs]


def _gitlab_needs(job: Any) -> list[str]:
    needs = job.get("needs", ()) if isinstance(job, dict) else ()
    names = []
    for need in needs if isinstance(needs, list) else ():
        names.append(str(need["job"]) if isinstance(need, dict) else str(need))
    return names


def _extends(job: Any) -> list[str]:
    bases = job.get("extends", ()) if isinstance(job, dict) else ()
    return [bases] if isinstance(bases, str) else [str(b) for b in bases]


def _closure(jobs: Any, only: Collection[str] | None, needs: Any) -> set[str]:
    """``only`` (or every job) plus, transitively, the jobs their ``needs:`` names."""
    todo = list(jobs) if only is None else [job for job in only if job in jobs]
    wanted: set[str] = set()
    while todo:
        job = todo.pop()
        if job not in wanted:
            wanted.add(job)
            todo.extend(need for need in needs(jobs[job]) if need in jobs)
    return wanted


def _end_of(doc: Any, key: str, total: int) -> int:
    """Line (0-based) where the top-level key after ``key`` starts, or ``total``."""
    keys = list(doc)
    index = keys.index(key)
    return int(doc.lc.key(keys[index + 1])[0]) if index + 1 < len(keys) else total


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _blocks(lines: list[str], mapping: Any, end: int, *, spans: bool = False) -> dict[str, Any]:
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


def _span(value: Any) -> tuple[int, int]:
    start, end = value
    return int(start), int(end)


def _content_end(lines: list[str], end: int, col: int) -> int:
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


def _shift(block: str, delta: int) -> str:
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


def _is_crlf(text: str) -> bool:
    """Whether every line of ``text`` ends in CRLF (a Windows checkout)."""
    return "\r\n" in text and text.count("\n") == text.count("\r\n")


def _with_crlf(result: MergeResult) -> MergeResult:
    text = result.text.replace("\n", "\r\n")
    return MergeResult(text, result.added, result.kept, result.notes, result.problems)


def _document_end(lines: list[str]) -> int:
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


def _insert(lines: list[str], at: int, insert: str) -> str:
    """``lines`` with ``insert`` (lines that start with a newline) before line ``at``.

    Only the insertion is added: at the end of a file without a final newline the
    insertion starts the new line and, like the file, ends without one.
    """
    head, rest = "".join(lines[:at]), "".join(lines[at:])
    if head and not head.endswith("\n"):
        # Only the last line of a file can lack its newline.
        return head + insert.removesuffix("\n")
    return head + insert.removeprefix("\n" if not head else "") + rest


def _rename_extends(block: str, renames: dict[str, str]) -> str:
    for old, new in renames.items():
        block = re.sub(
            rf"^(\s*(?:extends:\s*|-\s+)){re.escape(old)}(\s*(?:#.*)?)$",
            rf"\g<1>{new}\g<2>",
            block,
            flags=re.MULTILINE,
        )
    return block


def _rename_base(block: str, renames: dict[str, str]) -> str:
    for old, new in renames.items():
        block = re.sub(rf"^{re.escape(old)}:", f"{new}:", block, count=1, flags=re.MULTILINE)
    return block


def _merge_stages(
    text: str, doc: Any, needed: list[str], order: list[str]
) -> tuple[str, str | None, list[str] | None]:
    """Insert the ``needed`` stages into the user's ``stages:`` list.

    Returns the text, a note, and the full stage list to add when the user has no
    ``stages:`` (GitLab's defaults plus mlrig's), else ``None``.
    """
    current = [str(s) for s in doc["stages"]] if doc is not None and "stages" in doc else None
    base = current if current is not None else list(_GITLAB_DEFAULT_STAGES)
    merged = _union(base, needed, order)
    missing = [stage for stage in merged if stage not in base]
    if current is None:
        if not needed:
            return text, None, None
        return text, f"added `stages:` ({', '.join(merged)})", merged
    if not missing:
        return text, None, None
    seq = doc["stages"]
    lines = text.splitlines(keepends=True)
    note = f"added stages {', '.join(missing)} to your `stages:`"
    if seq.fa.flow_style() or not seq:
        line, _ = doc.lc.key("stages")
        close = lines[line].find("]")
        opening = lines[line].find("[")
        if opening < 0 or close < opening:
            raise InvalidInputError(
                ".gitlab-ci.yml: `stages:` spans several lines in flow style; "
                "write it as a block list (- stage) and retry"
            )
        lines[line] = lines[line][: opening + 1] + ", ".join(merged) + lines[line][close:]
        return "".join(lines), note, None
    item_lines = [int(seq.lc.item(i)[0]) for i in range(len(seq))]
    dash = lines[item_lines[0]][: lines[item_lines[0]].index("-")]
    inserts: dict[int, list[str]] = {}
    anchor = -1
    for stage in merged:
        if stage in base:
            anchor = base.index(stage)
        else:
            inserts.setdefault(anchor, []).append(f"{dash}- {stage}\n")
    out: list[str] = []
    for number, line in enumerate(lines):
        if item_lines and number == item_lines[0]:
            out.extend(inserts.get(-1, ()))
        out.append(line)
        if number in item_lines:
            out.extend(inserts.get(item_lines.index(number), ()))
    return "".join(out), note, None


def _stage_order_notes(
    doc: Any,
    ours: Any,
    added: Iterable[str],
    included: Mapping[str, str | None],
    order: list[str],
) -> list[str]:
    """Warn about an added job that needs a job of a later stage: GitLab rejects that."""

    def stage_of(job: str) -> str:
        if doc is not None and job in doc and isinstance(doc[job], dict):
            return str(doc[job].get("stage", "test"))
        if job in included:
            return included[job] or "test"
        return str(ours[job].get("stage", "test"))

    notes = []
    for job in added:
        for need in _gitlab_needs(ours[job]):
            mine, theirs = stage_of(job), stage_of(need)
            if mine in order and theirs in order and order.index(theirs) > order.index(mine):
                notes.append(
                    f"`{job}` (stage {mine}) needs `{need}` of the later stage {theirs}: "
                    "GitLab rejects this; move the stage or the job"
                )
    return notes


def _union(base: list[str], needed: Iterable[str], order: list[str]) -> list[str]:
    """``base`` in its order, with each needed stage after the latest stage mlrig puts before it."""
    merged = list(base)
    for stage in needed:
        if stage in merged:
            continue
        before = order[: order.index(stage)] if stage in order else []
        positions = [merged.index(s) for s in before if s in merged]
        merged.insert(max(positions) + 1 if positions else 0, stage)
    return merged
