"""Merge mlrig's CI jobs into a user's pipeline file without changing the user's bytes.

The user's file is parsed round-trip (ruamel.yaml) only to *locate* things: its
jobs, its ``stages:`` list and where the jobs block ends. The merged file is then
built by splicing text: mlrig's job blocks, cut verbatim from the rendered
template (comments and version pins included) and shifted to the column of the
user's jobs, are inserted after the user's last job. Nothing of the user's text
is re-serialised, so everything outside the inserted lines stays byte for byte
(the text surgery is :mod:`mlrig._yamltext`; the jobs and their ``needs:``,
:mod:`mlrig._pipeline_jobs`; GitLab's ``stages:``, :mod:`mlrig._gitlab_stages`).

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
from mlrig._gitlab_stages import (
    GITLAB_DEFAULT_STAGES,
    merge_stages,
    stage_order_notes,
    union_stages,
)
from mlrig._pipeline_jobs import (
    GITLAB_KEYWORDS,
    closure,
    extends,
    github_needs,
    gitlab_jobs,
    gitlab_needs,
)
from mlrig._yaml import load_round_trip
from mlrig._yamltext import (
    content_end,
    document_end,
    insert_lines,
    is_crlf,
    key_blocks,
    key_end,
    line_span,
    shift_block,
)
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
_GITHUB_SETTINGS = ("on", "permissions", "concurrency", "env", "defaults", "run-name")
_GITLAB_SETTINGS = ("workflow", "default", "include", "variables", "image", "services", "cache")
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
        return tuple(gitlab_jobs(doc))
    jobs = doc.get("jobs")
    return tuple(str(key) for key in jobs) if isinstance(jobs, dict) else ()


def merge_github(
    user: str, mlrig: str, *, name: str, only: Collection[str] | None = None
) -> MergeResult:
    """Add mlrig's jobs (all, or ``only`` these and what they need) to a user's workflow."""
    crlf = is_crlf(user)
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
    wanted = closure(our_jobs, only, github_needs)
    added = tuple(job for job in our_jobs if job in wanted and job not in have)
    kept = tuple(job for job in our_jobs if job in wanted and job in have)
    notes = _setting_notes(doc, ours, _GITHUB_SETTINGS)
    if not added:
        return MergeResult(user, (), kept, tuple(notes))
    lines = mlrig.splitlines(keepends=True)
    our_col = our_jobs.lc.key(next(iter(our_jobs)))[1]
    blocks = key_blocks(lines, our_jobs, key_end(ours, "jobs", len(lines)))
    user_lines = user.splitlines(keepends=True)
    if user_jobs is None:
        if "jobs" in doc:
            raise InvalidInputError(f"{name}: `jobs:` is empty; add a job or remove the key")
        insert = "\njobs:\n" + "".join(shift_block(blocks[job], 2 - our_col) for job in added)
        text = insert_lines(user_lines, document_end(user_lines), insert)
        return MergeResult(text, added, kept, tuple(notes))
    if user_jobs.fa.flow_style():
        raise InvalidInputError(
            f"{name}: `jobs:` is written in flow style ({{...}}); mlrig merges only block "
            "style; rewrite it as an indented mapping, then retry"
        )
    col = user_jobs.lc.key(next(iter(user_jobs)))[1]
    end = min(key_end(doc, "jobs", len(user_lines)), document_end(user_lines))
    at = content_end(user_lines, end, col)
    insert = "".join("\n" + shift_block(blocks[job], col - our_col) for job in added)
    return MergeResult(insert_lines(user_lines, at, insert), added, kept, tuple(notes))


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
    crlf = is_crlf(user)
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
    our_jobs = gitlab_jobs(ours)
    wanted = closure({job: ours[job] for job in our_jobs}, only, gitlab_needs)
    added = tuple(job for job in our_jobs if job in wanted and job not in user_keys)
    kept = tuple(job for job in our_jobs if job in wanted and job in user_keys)
    notes = _setting_notes(doc, ours, _GITLAB_SETTINGS)
    if not added:
        return MergeResult(user, (), kept, tuple(notes))
    lines = mlrig.splitlines(keepends=True)
    blocks = key_blocks(lines, ours, len(lines))
    # Hidden templates the added jobs extend, transitively, in mlrig's order.
    hidden: list[str] = []
    todo = [base for job in added for base in extends(ours[job])]
    while todo:
        base = todo.pop()
        if base in ours and base not in hidden:
            hidden.append(base)
            todo.extend(extends(ours[base]))
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
    text, stage_note, new_stages = merge_stages(text, doc, needed, stages)
    if stage_note:
        notes.append(stage_note)
    problems = tuple(
        stage_order_notes(
            doc,
            ours,
            added,
            included,
            union_stages(
                [str(s) for s in doc["stages"]]
                if doc is not None and "stages" in doc
                else list(GITLAB_DEFAULT_STAGES),
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
    at = content_end(user_lines, document_end(user_lines), 0)
    return MergeResult(insert_lines(user_lines, at, tail), added, kept, tuple(notes), problems)


def select_jobs(mlrig: str, jobs: Collection[str], *, gitlab: bool, name: str) -> str:
    """mlrig's pipeline text with only ``jobs`` (and what they need); for a file the user lacks.

    Removes the other jobs' blocks (and, for GitLab, hidden templates no kept job
    extends); everything else stays as rendered. Returns ``""`` when no job is left.
    """
    ours = _mapping(parse_pipeline(mlrig, name), name)
    lines = mlrig.splitlines(keepends=True)
    if gitlab:
        names = gitlab_jobs(ours)
        wanted = closure({job: ours[job] for job in names}, jobs, gitlab_needs)
        if not wanted:
            return ""
        bases = {base for job in wanted for base in extends(ours[job])}
        drop = [key for key in names if key not in wanted]
        drop += [k for k in ours if str(k).startswith(".") and k not in bases]
        spans = key_blocks(lines, ours, len(lines), spans=True)
    else:
        our_jobs = ours["jobs"]
        wanted = closure(our_jobs, jobs, github_needs)
        if not wanted:
            return ""
        drop = [job for job in our_jobs if job not in wanted]
        spans = key_blocks(lines, our_jobs, key_end(ours, "jobs", len(lines)), spans=True)
    removed: set[int] = set()
    for key in drop:
        start, end = line_span(spans[key])
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


def _with_crlf(result: MergeResult) -> MergeResult:
    text = result.text.replace("\n", "\r\n")
    return MergeResult(text, result.added, result.kept, result.notes, result.problems)


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
