"""Shared helpers: render projects and run the CLI, always inside ``tmp_path``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mlrig import Answers, _lock, builtin_template, new, resolve_answers
from mlrig.cli import main

# The world gallery (tests/world.py): its own tests run in copies, never collected here.
collect_ignore = ["repos"]

_FIND_UV = _lock.find_uv


@pytest.fixture(autouse=True, scope="session")
def _no_lock() -> Iterator[None]:
    """The quick loop never contacts a package index: mlrig finds no uv and writes no lock.

    Tests (and module fixtures) that need the lock render inside :func:`locking`.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_lock, "find_uv", lambda: None)
        yield


@contextmanager
def locking() -> Iterator[None]:
    """Within the block ``new`` locks with the real uv (and the package index)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_lock, "find_uv", _FIND_UV)
        yield


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
