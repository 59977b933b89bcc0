"""Where templates come from and which versions they have.

The built-in template exists twice in the package: ``templates/ml/``, its source,
and ``templates/mlrig-builtin-ml.bundle``, a git bundle holding every released
version as a ``vX.Y.Z`` tag. Projects are generated from the bundle, so copier
records a version and can update them later, offline.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

from mlrig.errors import EnvironmentProblem, InvalidInputError

__all__ = [
    "BUNDLE_NAME",
    "builtin_bundle",
    "builtin_template",
    "is_builtin",
    "template_versions",
]

BUNDLE_NAME = "mlrig-builtin-ml.bundle"
_TAG = re.compile(r"refs/tags/(v?\d[^\s^]*)$")


def _templates_dir() -> Path:
    # In a wheel the templates are packaged as mlrig/templates; in a source checkout
    # (an editable install) they are the repository's top-level templates/.
    package_dir = Path(__file__).resolve().parent
    for root in (package_dir / "templates", package_dir.parent.parent / "templates"):
        if (root / BUNDLE_NAME).is_file():
            return root
    raise EnvironmentProblem(
        f"the built-in template is missing from {package_dir}; reinstall mlrig"
    )


def builtin_template() -> Path:
    """Directory of the built-in template's source (the newest version, as edited)."""
    return _templates_dir() / "ml"


def builtin_bundle() -> Path:
    """The git bundle that holds every released version of the built-in template."""
    return _templates_dir() / BUNDLE_NAME


def is_builtin(src_path: str) -> bool:
    """Whether an answers file's ``_src_path`` names mlrig's built-in template.

    The recorded path points into the mlrig installation that generated the
    project; any mlrig installation can stand in for it.
    """
    return Path(src_path).name == BUNDLE_NAME


@cache
def template_versions(src: str) -> tuple[str, ...]:
    """Version tags of a git template (repository, URL or bundle), oldest first.

    Raises :class:`EnvironmentProblem` when the template cannot be reached and
    :class:`InvalidInputError` when it has no version tags.
    """
    from packaging.version import InvalidVersion, Version

    proc = subprocess.run(
        ["git", "ls-remote", "--tags", "--refs", src],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise EnvironmentProblem(f"cannot reach template {src}: {detail}")
    versions: list[tuple[Version, str]] = []
    for line in proc.stdout.splitlines():
        match = _TAG.search(line)
        if match:
            try:
                versions.append((Version(match.group(1)), match.group(1)))
            except InvalidVersion:
                continue
    if not versions:
        raise InvalidInputError(
            f"template {src} has no version tags (such as v1.0.0) to update from"
        )
    return tuple(tag for _, tag in sorted(versions))
