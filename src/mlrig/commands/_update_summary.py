"""The pull or merge request text of an update: what ``mlrig update --summary`` writes.

The template-sync jobs (GitHub and GitLab, through ``.mlrig/template-sync.sh``) open
one request with this title and body after an update. The text is built from the
update's :class:`~mlrig.commands._update_result.UpdateResult`, never from the files;
the summary file is removed before the update and written whole after it, so that a
failed run never leaves an old text behind.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlrig.commands._update_result import ConflictMode, UpdateResult
from mlrig.errors import EnvironmentProblem, InvalidInputError

__all__ = [
    "CONFLICTS_TITLE",
    "MAX_LISTED",
    "RequestText",
    "clear_summary",
    "request_text",
    "write_summary",
]

TITLE = "Update from the mlrig template"
#: What the title holds, and only when conflicts are left: the sync jobs look for it
#: (a GitLab Draft; an exit code 1 that is conflicts, not a crash).
CONFLICTS_TITLE = "(conflicts to resolve in"
#: How many conflicted files the body lists by name; the rest are counted.
MAX_LISTED = 50

_INTRO = (
    "`mlrig update` brought this repository up to date with the newest version of its "
    "mlrig template.\nReview the changes and let the pipeline run before merging.\n"
)
_RESOLVE: dict[ConflictMode, str] = {
    "inline": (
        "In each file keep your version (between `<<<<<<< before updating` and `=======`),\n"
        "the template's (between `=======` and `>>>>>>> after updating`), or a mix of both;\n"
        "then delete the three marker lines, run the tests and push. Do not merge while\n"
        "`git grep -nE '^(<<<<<<<|=======|>>>>>>>)( |$)'` lists markers.\n"
        "A binary file has no markers: it keeps your version, and the template's is beside\n"
        "it as `<file>.rej`; keep one of the two and delete the `.rej` file.\n"
    ),
    "rej": (
        "Each file keeps your version, and the template's change is beside it as\n"
        "`<file>.rej`: apply what you want of it by hand, delete the `.rej` file, run the\n"
        "tests and push. Do not merge while `git ls-files '*.rej'` lists any.\n"
    ),
}
_NEXT_RUN = (
    "The next run rebuilds this branch from the default branch, so merge (or close) this\n"
    "request before then.\n"
)


@dataclass(frozen=True)
class RequestText:
    """The title and Markdown body of the request an update should open."""

    title: str
    body: str

    def as_file(self) -> str:
        """The summary file: the title on line 1, an empty line 2, then the body."""
        return f"{self.title}\n\n{self.body}"


def request_text(result: UpdateResult, conflict: ConflictMode = "inline") -> RequestText | None:
    """The request for the update ``result``, whose conflicts were left as ``conflict``.

    ``None`` when the update changed nothing in the work tree (already current, or a
    preview): no request is to open. Conflicted files are listed in the body, at most
    :data:`MAX_LISTED` by name, with how to resolve them, and counted in the title.
    """
    if not result.applied:
        return None
    conflicts = result.conflicts
    if not conflicts:
        return RequestText(TITLE, _INTRO)
    count = len(conflicts)
    files = f"{count} file" if count == 1 else f"{count} files"
    listed = "".join(f"- `{path}`\n" for path in conflicts[:MAX_LISTED])
    if count > MAX_LISTED:
        listed += f"- and {count - MAX_LISTED} more\n"
    body = (
        f"{_INTRO}\n## Conflicts to resolve ({files})\n\n"
        "The template changed lines that were also changed in this repository:\n\n"
        f"{listed}\n{_RESOLVE[conflict]}{_NEXT_RUN}"
    )
    return RequestText(f"{TITLE} {CONFLICTS_TITLE} {files})", body)


def clear_summary(summary: Path) -> None:
    """Remove the summary of an earlier run before this one can fail.

    A stale text must never open a request. The folder must exist: refused before
    the update, an update is never made and then left unreported.
    """
    if not summary.parent.is_dir():
        raise InvalidInputError(
            f"--summary {summary}: the folder {summary.parent} does not exist; create it first"
        )
    try:
        summary.unlink(missing_ok=True)
    except OSError as exc:
        raise EnvironmentProblem(
            f"cannot remove the old summary {summary}: {exc.strerror or exc}"
        ) from None


def write_summary(summary: Path, request: RequestText | None) -> None:
    """Write ``request`` to ``summary`` whole or not at all (a temporary file beside it,
    renamed); nothing when there is no request to open."""
    if request is None:
        return
    name: str | None = None
    try:
        handle, name = tempfile.mkstemp(
            prefix=f".{summary.name}.", suffix=".tmp", dir=summary.parent
        )
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(request.as_file())
        os.replace(name, summary)
    except OSError as exc:
        raise EnvironmentProblem(
            f"cannot write the summary {summary}: {exc.strerror or exc}; "
            "the update itself is in the work tree"
        ) from None
    finally:
        if name is not None:
            Path(name).unlink(missing_ok=True)  # gone already once renamed
