"""Writing adopt's files into the repository: all of them, or none.

Every file is first written to a temporary name beside its target, then all are
renamed into place; a failure or Ctrl-C before the renames removes the temporary
files and any folder made for them, so the repository is left as it was.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from mlrig.errors import EnvironmentProblem, Interrupted


def write_all(project: Path, contents: dict[str, str | None], rendered: Path) -> None:
    """Write every file to a temporary name first, then rename them all into place.

    A failure (or Ctrl-C) before the renames removes the temporary files and any
    folder created for them, leaving the repository as it was.
    """
    staged: list[tuple[Path, Path]] = []
    created: list[Path] = []
    try:
        for rel, text in contents.items():
            target = project / rel
            missing = [p for p in [target.parent, *target.parent.parents] if not p.exists()]
            for folder in reversed(missing):
                folder.mkdir()
                created.append(folder)
            handle, name = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=".mlrig", dir=target.parent
            )
            temp = Path(name)
            staged.append((temp, target))
            with os.fdopen(handle, "wb") as out:
                source = rendered / rel
                out.write(source.read_bytes() if text is None else text.encode("utf-8"))
            mode = (target if target.exists() else rendered / rel).stat().st_mode
            temp.chmod(stat.S_IMODE(mode))
        for temp, target in staged:
            os.replace(temp, target)
    except KeyboardInterrupt:
        _undo(staged, created)
        raise Interrupted(f"interrupted; {project} is as before") from None
    except OSError as exc:
        _undo(staged, created)
        raise EnvironmentProblem(
            f"cannot write into {project}: {exc.strerror or exc}; nothing was changed"
        ) from None


def _undo(staged: list[tuple[Path, Path]], created: list[Path]) -> None:
    for temp, _ in staged:
        temp.unlink(missing_ok=True)
    for folder in reversed(created):
        shutil.rmtree(folder, ignore_errors=True)
