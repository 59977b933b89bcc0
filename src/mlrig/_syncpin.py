"""The template-sync job's pin of mlrig: ``.mlrig/sync-requirements.txt`` and its hashes.

The built-in template renders the file naming only ``mlrig==<version>``; the job
(``.mlrig/template-sync.sh``) installs it with ``pip --require-hashes`` and fails with
"no verified pin" while it holds no hash. :func:`lock_sync_pin` turns it into a hashed
lock of mlrig and its dependencies for every platform (``uv pip compile
--universal --generate-hashes``), the format Dependabot and Renovate bump.

:func:`pin_sync_tool` (run by ``mlrig new``) takes the hashes from the index only when
this mlrig was itself installed from the index: the files the index holds for this
version are then the ones the user already chose to trust. An mlrig run from a
checkout or installed from a wheel file says nothing about what the index serves
under its name (a squatter's upload would be pinned), so the file keeps no hash and
the note says how to add them.
"""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

from mlrig import _lock
from mlrig._version import __version__
from mlrig.errors import EnvironmentProblem

__all__ = ["SYNC_REQUIREMENTS", "is_hashed", "lock_sync_pin", "pin_sync_tool"]

SYNC_REQUIREMENTS = Path(".mlrig") / "sync-requirements.txt"
_HASH = "--hash=sha256:"


def is_hashed(text: str) -> bool:
    """Whether a requirements file's ``text`` pins anything by hash."""
    return _HASH in text


def lock_sync_pin(project: Path, python_version: str, *, find_links: Path | None = None) -> None:
    """Rewrite ``project``'s sync pin as a hashed lock of the mlrig it names.

    The file's leading comment block is kept; ``find_links`` is a directory of
    wheels searched besides the index. Raises :class:`EnvironmentProblem` when uv is
    missing or cannot resolve the pin (no network, no such release), leaving the
    file as it was.
    """
    path = project / SYNC_REQUIREMENTS
    lines = path.read_text(encoding="utf-8").splitlines()
    comments = [line for line in lines if line.startswith("#") or not line.strip()]
    requirement = next(line for line in lines if line.startswith("mlrig=="))
    uv = _lock.find_uv()
    if uv is None:
        raise EnvironmentProblem(
            f"uv is not installed, so {SYNC_REQUIREMENTS} got no hashes; install uv "
            "(https://docs.astral.sh/uv/) and run the command at the top of that file"
        )
    argv = [uv, "pip", "compile", "-", "--universal", "--generate-hashes", "--no-header"]
    argv += ["--python-version", python_version, "--quiet"]
    if find_links is not None:
        argv += ["--find-links", str(find_links)]
    proc = subprocess.run(
        argv, input=requirement + "\n", capture_output=True, text=True, check=False
    )
    if proc.returncode != 0 or not is_hashed(proc.stdout):
        reason = (proc.stderr.strip().splitlines() or ["no hashes"])[-1]
        raise EnvironmentProblem(
            f"cannot pin {requirement} with hashes in {SYNC_REQUIREMENTS} ({reason}); "
            "run the command at the top of that file when the package index is reachable"
        )
    path.write_text("\n".join([*comments, proc.stdout]), encoding="utf-8")


def pin_sync_tool(project: Path, python_version: str) -> str | None:
    """Give a freshly rendered project's sync pin its hashes, when that can be trusted.

    Returns None when there is nothing to do (no sync pin, or hashes already there)
    or the pin is now hashed; otherwise a warning that the template-sync job fails
    until the hashes are added, and how to add them.
    """
    path = project / SYNC_REQUIREMENTS
    if not path.is_file() or is_hashed(path.read_text(encoding="utf-8")):
        return None
    if not _installed_from_index():
        return (
            f"{SYNC_REQUIREMENTS} pins mlrig {__version__} without hashes (this mlrig was not "
            "installed from the package index, so the index's files are not known to be "
            "it): the template-sync job fails until you add them with the command at "
            "the top of that file"
        )
    try:
        lock_sync_pin(project, python_version)
    except EnvironmentProblem as exc:
        return f"{exc}; until then the template-sync job fails"
    return None


def _installed_from_index() -> bool:
    """Whether the running mlrig is an installed distribution that came from an index."""
    try:
        dist = metadata.distribution("mlrig")
    except metadata.PackageNotFoundError:
        return False
    # PEP 610: an install from a URL, a path or a checkout records direct_url.json.
    if dist.version != __version__ or dist.read_text("direct_url.json") is not None:
        return False
    installed = Path(str(dist.locate_file("mlrig/__init__.py")))
    return installed.resolve() == (Path(__file__).parent / "__init__.py").resolve()
