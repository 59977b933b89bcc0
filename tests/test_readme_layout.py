"""The README's layout map names every module of the package, and only modules that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "mlrig"
#: Files every package has, or that say what they are in their first line.
UNNAMED = {"__init__", "__main__", "_version"}


def _layout(readme: str) -> str:
    """The Layout paragraph and its list, up to the next blank-line paragraph after it."""
    start = readme.index("\nLayout (")
    end = readme.index("\n\n", readme.index("\n- ", start))
    return readme[start:end]


def _modules() -> set[str]:
    return {
        path.stem
        for path in PACKAGE.rglob("*.py")
        if path.stem not in UNNAMED and "__pycache__" not in path.parts
    } | {path.name for path in PACKAGE.iterdir() if path.is_dir() and path.name != "__pycache__"}


def _named(layout: str) -> set[str]:
    """Every `name` or `name.py` or `name/` in backticks."""
    return {
        match.removesuffix(".py").removesuffix("/").rsplit("/", 1)[-1]
        for match in re.findall(r"`([\w./]+)`", layout)
    }


def test_the_layout_map_names_every_module() -> None:
    missing = _modules() - _named(_layout((ROOT / "README.md").read_text(encoding="utf-8")))
    assert not missing, f"README.md's Layout list does not name: {sorted(missing)}"


def test_the_check_catches_a_module_the_map_leaves_out() -> None:
    layout = _layout((ROOT / "README.md").read_text(encoding="utf-8"))
    assert "_yamltext" in _modules()
    assert "_yamltext" not in _named(layout.replace("`_yamltext`", "yamltext"))


def test_every_python_file_the_map_names_exists() -> None:
    layout = _layout((ROOT / "README.md").read_text(encoding="utf-8"))
    files = set(re.findall(r"`(?:src/mlrig/)?([\w/]+\.py)`", layout))
    named_paths = {f for f in files if not f.startswith(("scripts/", "tests/"))}
    present = {path.name for path in PACKAGE.rglob("*.py")}
    assert {Path(f).name for f in named_paths} <= present
