"""The jobs of a parsed pipeline and what each one needs, for merging and selecting them.

Arguments are round-trip parsed documents (or their ``jobs:`` mapping); a job's
``needs:`` and ``extends:`` are read in both GitHub's and GitLab's spellings, and
:func:`closure` follows ``needs:`` transitively so that every job kept or added
brings the jobs it needs.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

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


def gitlab_jobs(doc: Any) -> list[str]:
    return [
        str(key) for key in doc if str(key) not in GITLAB_KEYWORDS and not str(key).startswith(".")
    ]


def github_needs(job: Any) -> list[str]:
    needs = job.get("needs", ()) if isinstance(job, dict) else ()
    return [needs] if isinstance(needs, str) else [str(n) for n in needs]


def gitlab_needs(job: Any) -> list[str]:
    needs = job.get("needs", ()) if isinstance(job, dict) else ()
    names = []
    for need in needs if isinstance(needs, list) else ():
        names.append(str(need["job"]) if isinstance(need, dict) else str(need))
    return names


def extends(job: Any) -> list[str]:
    bases = job.get("extends", ()) if isinstance(job, dict) else ()
    return [bases] if isinstance(bases, str) else [str(b) for b in bases]


def closure(jobs: Any, only: Collection[str] | None, needs: Any) -> set[str]:
    """``only`` (or every job) plus, transitively, the jobs their ``needs:`` names."""
    todo = list(jobs) if only is None else [job for job in only if job in jobs]
    wanted: set[str] = set()
    while todo:
        job = todo.pop()
        if job not in wanted:
            wanted.add(job)
            todo.extend(need for need in needs(jobs[job]) if need in jobs)
    return wanted
