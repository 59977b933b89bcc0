"""Where templates come from. For now: the built-in template shipped with mlrig."""

from __future__ import annotations

from pathlib import Path

from mlrig.errors import EnvironmentProblem

__all__ = ["builtin_template"]

_NAME = "ml"


def builtin_template() -> Path:
    """Path of the built-in copier template.

    In a wheel the template is packaged as ``mlrig/templates``; in a source
    checkout (editable install) it is the repository's top-level ``templates/``.
    """
    package_dir = Path(__file__).resolve().parent
    for root in (package_dir / "templates", package_dir.parent.parent / "templates"):
        candidate = root / _NAME
        if (candidate / "copier.yml").is_file():
            return candidate
    raise EnvironmentProblem(
        f"the built-in template is missing from {package_dir}; reinstall mlrig"
    )
