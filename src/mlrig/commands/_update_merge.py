"""The merge of ``mlrig update`` in its scratch worktree, after copier's 3-way update.

What copier's text merge does not settle by itself: CRLF files (:func:`to_lf` before,
:func:`to_crlf` after), conflicts (:func:`settle_conflicts`: inline markers or
``.rej`` files), binary files copier's text patch overwrote (:func:`settle_binaries`,
against a render of the last update's version), and the list of what changed
(:func:`staged_changes`), with the pipeline findings the project had before
(:func:`findings_before`). Everything here works in the scratch worktree, never in
the project.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from pathlib import Path

from mlrig import _copier
from mlrig._git import git, git_output, run_git
from mlrig._record import ANSWERS_FILE
from mlrig.commands._update_result import ChangeStatus, ConflictMode, FileChange
from mlrig.validate import Finding, validate_pipelines

_STATUS: dict[str, ChangeStatus] = {"A": "added", "M": "changed", "D": "deleted", "T": "changed"}


def findings_before(worktree: Path, head: str, subdir: Path, paths: list[str]) -> list[Finding]:
    """The pipeline findings ``paths`` (relative to ``subdir``) had at ``head``."""
    with tempfile.TemporaryDirectory(prefix="mlrig-before-") as tmp:
        root = Path(tmp)
        for path in paths:
            shown = _shown(worktree, head, (subdir / path).as_posix())
            if shown is not None:  # else the update added the file
                target = root / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(shown)
        return validate_pipelines(root, only=paths)


def to_lf(copy: Path) -> list[Path]:
    """Rewrite the tracked text files of ``copy`` whose every line ends in CRLF with LF.

    copier renders LF, so a file of the project in CRLF (a Windows user's, or an adopted
    repository's pipeline with mlrig's jobs merged in) would differ from its render on
    every line and conflict on the first template change. Returns the files, for
    :func:`to_crlf` after the merge.
    """
    listed = git_output(copy, "grep", "-z", "-l", "-I", "-e", "\r$", "--", ".", check=False)
    converted = []
    for name in listed.split(b"\0"):
        path = copy / os.fsdecode(name)
        if not name or path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if data.count(b"\n") == data.count(b"\r\n"):
            path.write_bytes(data.replace(b"\r\n", b"\n"))
            converted.append(path)
    return converted


def to_crlf(paths: list[Path]) -> None:
    """Give the files :func:`to_lf` converted their CRLF line endings back, merge included."""
    for path in paths:
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if b"\r\n" not in data:
                path.write_bytes(data.replace(b"\n", b"\r\n"))


def staged_diff(worktree: Path, head: str, subdir: Path) -> list[tuple[str, str]]:
    """(status letter, path from the top) of each path staged in ``worktree`` against ``head``."""
    out = git_output(
        worktree,
        "diff",
        "--cached",
        "--name-status",
        "-z",
        "--no-renames",
        head,
        "--",
        subdir.as_posix() or ".",
    )
    fields = [os.fsdecode(f) for f in out.split(b"\0")[:-1]]
    return [(code[0], path) for code, path in zip(fields[::2], fields[1::2], strict=True)]


def staged_changes(
    worktree: Path, head: str, subdir: Path, conflicts: set[str]
) -> tuple[FileChange, ...]:
    """Each path the update changes, and each conflict (top-relative paths in ``conflicts``).

    A binary conflict keeps the project's bytes, so its file shows no change of its own;
    a conflict's ``.rej`` file is part of the conflict, not a change to list.
    """
    found: dict[str, ChangeStatus] = {path: "conflict" for path in conflicts}
    for code, name in staged_diff(worktree, head, subdir):
        if not (name.endswith(".rej") and name.removesuffix(".rej") in conflicts):
            found.setdefault(name, _STATUS.get(code, "changed"))
    return tuple(
        FileChange(kind, Path(name).relative_to(subdir).as_posix())
        for name, kind in sorted(found.items())
    )


def settle_conflicts(worktree: Path, subdir: Path, mode: ConflictMode) -> set[str]:
    """The text files copier left with conflicts (paths from the top of ``worktree``).

    copier records each one in the index with its three versions (1 the last
    update's render, 2 the project's, 3 the new render). With ``rej`` the file keeps
    the project's side of each conflict (and every change that merged cleanly) and
    ``<file>.rej`` holds the template's side as a patch: the user's edit is never lost.
    """
    out = git_output(worktree, "ls-files", "--unmerged", "-z", "--", subdir.as_posix() or ".")
    stages: dict[str, dict[str, str]] = {}
    for entry in out.split(b"\0")[:-1]:
        info, _, name = entry.partition(b"\t")
        _, sha, stage = info.decode().split()
        stages.setdefault(os.fsdecode(name), {})[stage] = sha
    if mode == "rej":
        for path, shas in stages.items():
            blobs = [
                git_output(worktree, "cat-file", "blob", shas[s]) if s in shas else b""
                for s in ("2", "1", "3")
            ]
            ours, theirs = (_merge(worktree, blobs, side) for side in ("--ours", "--theirs"))
            (worktree / path).write_bytes(ours)
            label = os.fsencode(path)
            patch = difflib.diff_bytes(
                difflib.unified_diff,
                ours.splitlines(keepends=True),
                theirs.splitlines(keepends=True),
                b"a/" + label,
                b"b/" + label,
            )
            (worktree / f"{path}.rej").write_bytes(b"".join(patch))
    return set(stages)


def _merge(worktree: Path, blobs: list[bytes], side: str) -> bytes:
    """``git merge-file`` of (ours, base, theirs), each conflict resolved to ``side``."""
    with tempfile.TemporaryDirectory(prefix="mlrig-merge-") as tmp:
        names = []
        for index, blob in enumerate(blobs):
            name = Path(tmp, str(index))
            name.write_bytes(blob)
            names.append(str(name))
        return git_output(worktree, "merge-file", "--stdout", side, *names, check=False)


def settle_binaries(
    worktree: Path, subdir: Path, head: str, source: str, *, version: str, trust: bool
) -> set[str]:
    """Give back the project's binary files copier overwrote; return the conflicting ones.

    copier's merge is a text patch, so a project's change to a binary file is dropped
    and the new render's bytes win. Against the last update's render of ``version``:
    a file only the template changed takes the new bytes; one only the project changed
    keeps the project's; one both changed keeps the project's bytes in place and gets
    the template's beside it as ``<file>.rej``, and is a conflict.
    """
    out = git_output(
        worktree,
        "diff",
        "--cached",
        "--numstat",
        "-z",
        "--no-renames",
        head,
        "--",
        subdir.as_posix() or ".",
    )
    binary = [
        os.fsdecode(entry.split(b"\t", 2)[2])
        for entry in out.split(b"\0")[:-1]
        if entry.startswith(b"-\t-\t")
    ]
    ours: dict[str, bytes] = {}
    for path in binary:
        if (content := _shown(worktree, head, path)) is not None:
            ours[path] = content
    if not ours:
        return set()
    base = _render(worktree, head, subdir, source, version, trust=trust)
    conflicts = set()
    for path, mine in ours.items():
        target = worktree / path
        theirs = target.read_bytes() if target.is_file() else None
        before = base / Path(path).relative_to(subdir)
        original = before.read_bytes() if before.is_file() else None
        if original == mine or theirs == mine:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(mine)
        if original != theirs:
            conflicts.add(path)
            if theirs is not None:
                Path(f"{target}.rej").write_bytes(theirs)
        run_git(worktree, "add", "--force", "--", path)
    return conflicts


def _shown(worktree: Path, commit: str, path: str) -> bytes | None:
    """The content of ``path`` at ``commit``; ``None`` when it has no such file."""
    shown = git(worktree, "show", f"{commit}:{path}")
    return shown.stdout if shown.ok else None


def _render(
    worktree: Path, head: str, subdir: Path, source: str, version: str, *, trust: bool
) -> Path:
    """The project as ``version`` of the template rendered it with its recorded answers."""
    from mlrig._yaml import load_copier

    shown = _shown(worktree, head, (subdir / ANSWERS_FILE).as_posix())
    recorded = load_copier(shown or b"{}", what=f"{ANSWERS_FILE} at {head[:12]}")
    answers = {k: v for k, v in recorded.items() if not str(k).startswith("_")}
    dest = Path(tempfile.mkdtemp(prefix="mlrig-base-"))
    _copier.copy(
        source,
        dest,
        data=answers,
        ref=version,
        template=source,
        unsafe=trust,
        skip_tasks=True,
        update_of=f"the last update's render ({version})",
    )
    return dest
