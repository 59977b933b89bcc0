"""The pull or merge request text of an update: what ``mlrig update --summary`` writes.

The template-sync jobs (GitHub and GitLab, through ``.mlrig/template-sync.sh``) open
one request with this title and body after an update. Pure data: the update's
:class:`~mlrig.commands._update_result.UpdateResult` is what the text is built from,
never the files.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlrig.commands._update_result import ConflictMode, UpdateResult

__all__ = ["CONFLICTS_TITLE", "MAX_LISTED", "RequestText", "request_text"]

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
