"""Each outside tool has one home in mlrig's code: copier is called only from _copier.py.

A second module calling copier is how copier's private API, its error mapping and
its rules used to spread over six modules; this test names any that does again.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "mlrig"
#: copier, and plumbum, the process library through which copier runs git (its errors).
COPIER_MODULES = ("copier", "plumbum")


def _imported(path: Path) -> set[str]:
    """The top-level packages ``path`` imports, anywhere in the module (functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_nothing_outside_copier_home_imports_copier() -> None:
    offenders = sorted(
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if path.name != "_copier.py" and _imported(path) & set(COPIER_MODULES)
    )
    assert offenders == [], f"import copier only in src/mlrig/_copier.py: {offenders}"


def test_the_home_is_where_copier_is_imported() -> None:
    """The control case: the scan sees copier's imports inside functions."""
    assert set(COPIER_MODULES) <= _imported(SRC / "_copier.py")


def test_starting_the_cli_does_not_import_copier() -> None:
    """copier takes most of a second to import: `mlrig --help` and `mlrig check` skip it."""
    code = "import sys, mlrig.cli, mlrig.commands.check; print('copier' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"
