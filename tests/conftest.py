"""Shared helpers: render projects and run the CLI, always inside ``tmp_path``."""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest
from click.testing import CliRunner, Result

from mlrig import Answers, _lock, builtin_template, new, resolve_answers
from mlrig.cli import main

# The galleries (tests/world.py, tests/gallery.py): their tests run in copies, never here.
collect_ignore = ["repos", "gallery_repos"]

_FIND_UV = _lock.find_uv


# The test identity every git commit of the suite is made under, whoever runs it.
TEST_GIT_CONFIG = "[user]\n\tname = mlrig tests\n\temail = tests@mlrig.invalid\n"


@pytest.fixture(autouse=True, scope="session")
def isolated_user(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No test reads the developer's own mlrig, copier or git settings.

    For the whole session (and every process it starts) the user config directory is
    a temporary one, ``MLRIG_CONFIG`` and ``COPIER_SETTINGS_PATH`` are unset, and git
    reads a global config holding only a test identity and no system config: a
    ``trust`` list, ``trusted_prefixes`` or an ``insteadOf`` rule on the developer's
    machine cannot change a result. Caches stay where they are, so installs stay fast.
    Tests that write a user config still use :func:`tests.configenv.isolate`.
    """
    root = tmp_path_factory.mktemp("user")
    gitconfig = root / "gitconfig"
    gitconfig.write_text(TEST_GIT_CONFIG, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(root / "config"))
        patch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        patch.delenv("MLRIG_CONFIG", raising=False)
        patch.delenv("COPIER_SETTINGS_PATH", raising=False)
        yield root


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


#: ``made_once(key, dest, make)`` (the fixture below).
MadeOnce = Callable[[str, Path, Callable[[Path], object]], Path]


@pytest.fixture(scope="session")
def made_once(
    tmp_path_factory: pytest.TempPathFactory,
) -> MadeOnce:
    """``made_once(key, dest, make)``: a copy at ``dest`` of what ``make(path)`` made.

    ``make`` runs once per ``key`` in the session (per worker), in a folder named like
    ``dest``; each call copies that tree, git repository included, to ``dest``. Copying
    is far cheaper than rendering: for trees a test starts from, not the ones it tests.
    """
    made: dict[str, Path] = {}

    def _made_once(key: str, dest: Path, make: Callable[[Path], object]) -> Path:
        if key not in made:
            source = tmp_path_factory.mktemp("made") / dest.name
            make(source)
            made[key] = source
        shutil.copytree(made[key], dest, symlinks=True)
        return dest

    return _made_once


@pytest.fixture
def render(tmp_path: Path, made_once: MadeOnce) -> Callable[..., Path]:
    """Render the built-in template's source with the given answers (no git); return the project.

    Rendering is deterministic, so each template and answers is rendered once per
    worker (:func:`made_once`); every call gets its own copy of that tree.
    """
    count = 0

    def _render(**given: object) -> Path:
        nonlocal count
        count += 1
        key = f"render {builtin_template()} {make_answers(**given)!r}"
        dest = tmp_path / f"render-{count}" / "demo-model"
        return made_once(key, dest, lambda folder: render_to(folder, **given))

    return _render


def render_to(dest: Path, **given: object) -> Path:
    """Render the built-in template's source into ``dest`` with the given answers (no git)."""
    new(dest, answers=make_answers(**given), template=builtin_template(), git=False)
    return dest


def trained_project(made_once: MadeOnce, dest: Path, **given: object) -> Path:
    """A copy at ``dest`` of a project rendered with ``given`` and trained as its train job
    does (``artifacts/`` holds what CI publishes); rendered and trained once per answers."""

    def make(project: Path) -> None:
        render_to(project, **given)
        train = ["demo_model.train", "--data", "data/train.csv", "--out", "artifacts"]
        done = subprocess.run(
            [sys.executable, "-m", *train],
            cwd=project,
            env={**os.environ, "PYTHONPATH": str(project / "src")},
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr

    return made_once(f"trained {make_answers(**given)!r}", dest, make)


T = TypeVar("T")


def once_per_session(factory: pytest.TempPathFactory, key: str, make: Callable[[Path], T]) -> T:
    """``make(folder)``'s result, computed once per test session and ``key``.

    Under pytest-xdist the workers share it: the first to ask runs ``make`` in a
    folder of the session's temporary directory (the others wait for it) and pickles
    the result for the others, who read it, and the files it names, as they are.
    """
    base = factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = shared / "once" / key
    folder.mkdir(parents=True, exist_ok=True)
    result = folder / "result.pickle"
    with (folder / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result.exists():
            made = make(folder / "made")
            result.write_bytes(pickle.dumps(made))
        loaded: T = pickle.loads(result.read_bytes())
    return loaded


def run_cli(*args: str, input: str | None = None) -> Result:
    """Run ``mlrig ARGS`` in-process, capturing stdout and stderr separately."""
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def tree(path: Path) -> list[str]:
    """Every path under ``path``, relative, sorted: to prove nothing was written."""
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))
