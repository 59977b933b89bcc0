"""GitLab's ``stages:`` when mlrig's jobs are merged into a user's ``.gitlab-ci.yml``.

The user's stages keep their order; each stage mlrig's added jobs use goes in after
the latest stage that mlrig puts before it (:func:`union_stages`), and
:func:`merge_stages` writes the missing ones into the user's list as text (block or
one-line flow style), or returns the whole list to add when the user has none
(GitLab's defaults, :data:`GITLAB_DEFAULT_STAGES`, plus mlrig's).
:func:`stage_order_notes` names an added job that needs a job of a later stage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mlrig._pipeline_jobs import gitlab_needs
from mlrig.errors import InvalidInputError

GITLAB_DEFAULT_STAGES = ("build", "test", "deploy")


def merge_stages(
    text: str, doc: Any, needed: list[str], order: list[str]
) -> tuple[str, str | None, list[str] | None]:
    """Insert the ``needed`` stages into the user's ``stages:`` list.

    Returns the text, a note, and the full stage list to add when the user has no
    ``stages:`` (GitLab's defaults plus mlrig's), else ``None``.
    """
    current = [str(s) for s in doc["stages"]] if doc is not None and "stages" in doc else None
    base = current if current is not None else list(GITLAB_DEFAULT_STAGES)
    merged = union_stages(base, needed, order)
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


def union_stages(base: list[str], needed: Iterable[str], order: list[str]) -> list[str]:
    """``base`` in its order, with each needed stage after the latest stage mlrig puts before it."""
    merged = list(base)
    for stage in needed:
        if stage in merged:
            continue
        before = order[: order.index(stage)] if stage in order else []
        positions = [merged.index(s) for s in before if s in merged]
        merged.insert(max(positions) + 1 if positions else 0, stage)
    return merged


def stage_order_notes(
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
        for need in gitlab_needs(ours[job]):
            mine, theirs = stage_of(job), stage_of(need)
            if mine in order and theirs in order and order.index(theirs) > order.index(mine):
                notes.append(
                    f"`{job}` (stage {mine}) needs `{need}` of the later stage {theirs}: "
                    "GitLab rejects this; move the stage or the job"
                )
    return notes
