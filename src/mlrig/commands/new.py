"""``mlrig new``: render a new project from a template into an empty destination."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlrig._git import commit_all, find_git, run_git
from mlrig._version import __version__
from mlrig.answers import Answers
from mlrig.errors import InvalidInputError
from mlrig.templates import builtin_bundle

__all__ = ["NewResult", "check_destination", "new"]

_BASELINE = "metrics/baseline.json"


@dataclass(frozen=True)
class NewResult:
    """What ``new`` produced (or, with ``dry_run``, would produce)."""

    dest: Path
    #: Relative POSIX paths of the rendered files, sorted; ``.git`` is not listed.
    files: tuple[str, ...]
    #: The initial commit's SHA, or ``None`` when no git repository was made.
    commit: str | None
    dry_run: bool
    #: Things the user should know before the first pipeline run.
    warnings: tuple[str, ...] = ()


def check_destination(dest: Path) -> None:
    """Refuse a destination that is a file or a non-empty directory."""
    if dest.exists() and not dest.is_dir():
        raise InvalidInputError(f"{dest} exists and is not a directory; choose a new path")
    if dest.is_dir() and any(dest.iterdir()):
        raise InvalidInputError(
            f"{dest} is not empty; mlrig new only creates new projects. For an existing "
            "repository, `mlrig adopt` and `mlrig add` (planned, not in this release) will "
            "bring the pipeline in; until then choose an empty or new directory"
        )


def new(
    dest: Path,
    *,
    answers: Answers | Mapping[str, object],
    template: str | Path | None = None,
    ref: str | None = None,
    git: bool = True,
    dry_run: bool = False,
) -> NewResult:
    """Render ``template`` with ``answers`` into ``dest``.

    ``answers`` is an :class:`Answers` for the built-in template; for another
    template, a mapping that copier validates against that template's questions.

    ``template`` is a copier template (a directory, git repository or bundle); by
    default the built-in template. ``ref`` picks a version (a git tag or commit)
    of a git template; by default copier takes the newest version tag.

    ``dest`` must not exist or be an empty directory. The project is rendered in a
    staging directory beside ``dest`` and moved into place only when complete, so a
    failure or an interrupt leaves nothing behind. With ``git`` the project becomes
    a git repository on branch ``main`` with one initial commit. With ``dry_run``
    nothing is written and the result lists the files that would be.
    """
    dest = Path(os.path.abspath(dest))
    check_destination(dest)
    source = str(template or builtin_bundle())
    if dry_run:
        with tempfile.TemporaryDirectory(prefix="mlrig-dry-run-") as tmp:
            out = Path(tmp) / dest.name
            _render(source, ref, out, answers)
            return NewResult(dest, _list_files(out), None, True, _warnings(out, answers))

    if git:
        find_git()
    created = _make_parents(dest.parent)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.mlrig-", dir=dest.parent))
    try:
        out = staging / dest.name
        _render(source, ref, out, answers)
        files = _list_files(out)
        warnings = _warnings(out, answers)
        commit = None
        if git:
            run_git(out, "init", "--quiet", "--initial-branch=main")
            commit = commit_all(out, f"Initial commit from mlrig {__version__}")
        if dest.is_dir():
            for child in out.iterdir():
                child.rename(dest / child.name)
        else:
            out.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for directory in created:
            directory.rmdir()
        raise
    shutil.rmtree(staging, ignore_errors=True)
    return NewResult(dest, files, commit, False, warnings)


def _warnings(project: Path, answers: Answers | Mapping[str, object]) -> tuple[str, ...]:
    """Warn when the starter model's committed baseline already fails the gate."""
    if not isinstance(answers, Answers):
        return ()
    try:
        baseline = json.loads((project / _BASELINE).read_text(encoding="utf-8"))
        score = float(baseline[answers.gate_metric])
    except (OSError, ValueError, KeyError, TypeError):
        return ()
    if score >= answers.gate_threshold:
        return ()
    return (
        f"the starter model scores {answers.gate_metric} {score:g}, below the gate threshold "
        f"{answers.gate_threshold:g}: the pipeline's gate fails until the model improves or "
        "GATE_THRESHOLD in config.py is lowered",
    )


def _render(
    source: str, ref: str | None, out: Path, answers: Answers | Mapping[str, object]
) -> None:
    # Imported here: copier takes most of a second to import and `mlrig --help` must not pay it.
    from copier import run_copy

    run_copy(
        source,
        out,
        data=answers.to_data() if isinstance(answers, Answers) else dict(answers),
        vcs_ref=ref,
        defaults=True,
        quiet=True,
        overwrite=True,
        unsafe=False,
    )


def _list_files(root: Path) -> tuple[str, ...]:
    return tuple(
        sorted(
            path.relative_to(root).as_posix()
            for path in root.rglob("*")
            if path.is_file() and ".git" not in path.relative_to(root).parts
        )
    )


def _make_parents(directory: Path) -> list[Path]:
    """Create ``directory`` and its missing parents; return the created ones, deepest first."""
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        try:
            path.mkdir()
        except OSError as exc:
            raise InvalidInputError(f"cannot create {path}: {exc.strerror}") from None
    return missing
