"""Shared helpers: render projects and run the CLI, always inside ``tmp_path``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mlrig import Answers, builtin_template, new, resolve_answers
from mlrig.cli import main


def make_answers(**given: object) -> Answers:
    """Answers for the built-in template: the defaults, overridden by ``given``."""
    return resolve_answers(given, project_default="demo-model", use_defaults=True)


@pytest.fixture
def render(tmp_path: Path) -> Callable[..., Path]:
    """Render the built-in template's source with the given answers (no git); return the project."""
    count = 0

    def _render(**given: object) -> Path:
        nonlocal count
        count += 1
        dest = tmp_path / f"render-{count}" / "demo-model"
        new(dest, answers=make_answers(**given), template=builtin_template(), git=False)
        return dest

    return _render


def run_cli(*args: str, input: str | None = None) -> Result:
    """Run ``mlrig ARGS`` in-process, capturing stdout and stderr separately."""
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def tree(path: Path) -> list[str]:
    """Every path under ``path``, relative, sorted: to prove nothing was written."""
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))


@pytest.fixture(scope="session")
def _unreleased_templates(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """A templates folder whose bundle's newest version is ``templates/ml`` as edited.

    ``None`` when the installed bundle's newest release already holds exactly that
    source (after ``scripts/release_template.py``). Otherwise the bundle's history gets
    one more version, ``<newest>.post1``, so that tests of adopt and update exercise
    the template as edited, before it is released.
    """
    import filecmp
    import shutil

    from mlrig.templates import BUNDLE_NAME, builtin_bundle
    from tests.templaterepo import commit_project, git

    root = tmp_path_factory.mktemp("unreleased")
    clone = root / "history"
    git(root, "clone", "--quiet", str(builtin_bundle()), str(clone))
    newest = git(clone, "tag", "--list", "v*", "--sort=-v:refname").splitlines()[0]
    git(clone, "checkout", "--quiet", "-B", "main", newest)
    for entry in clone.iterdir():
        if entry.name != ".git":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    shutil.copytree(
        builtin_template(), clone, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
    )
    if not git(clone, "status", "--porcelain"):
        return None
    commit_project(clone, "unreleased")
    git(clone, "tag", f"{newest}.post1")
    templates = root / "templates"
    templates.mkdir()
    git(clone, "bundle", "create", "--quiet", str(templates / BUNDLE_NAME), "main", "--tags")
    for entry in builtin_template().parent.iterdir():
        if entry.name != BUNDLE_NAME:
            (templates / entry.name).symlink_to(entry)
    assert not filecmp.dircmp(builtin_template(), templates / "ml").diff_files
    return templates


@pytest.fixture
def unreleased_builtin(_unreleased_templates: Path | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the built-in template's newest version the source as edited (see above)."""
    if _unreleased_templates is not None:
        import mlrig.templates

        monkeypatch.setattr(mlrig.templates, "_templates_dir", lambda: _unreleased_templates)
