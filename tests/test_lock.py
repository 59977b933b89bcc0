"""``mlrig new`` locks the starter project's dependencies, or says plainly that it did not.

The quick tests never contact a package index: without uv (the session default, see
conftest.py), with uv offline and an empty cache, or with a stand-in uv. The slow ones
lock for real against the package index.
"""

from __future__ import annotations

import re
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mlrig import builtin_template, new
from mlrig._lock import PIP_DEV_LOCK, PIP_LOCK, UV_LOCK, lock_commands
from mlrig.answers import default_python
from mlrig.commands.doctor import doctor
from tests.conftest import locking, make_answers, run_cli
from tests.templaterepo import git

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
LOCKS = (UV_LOCK, PIP_LOCK, PIP_DEV_LOCK)


def _refresh(package_manager: str, python_version: str, framework: str) -> list[str]:
    return [" ".join(argv) for argv in lock_commands(package_manager, python_version, framework)]


@pytest.mark.parametrize(
    ("package_manager", "files"),
    [("uv", "uv.lock"), ("pip", "requirements.lock and requirements-dev.lock")],
)
def test_without_uv_the_project_is_created_and_the_warning_names_the_command(
    tmp_path: Path, package_manager: str, files: str
) -> None:
    dest = tmp_path / "demo-model"
    result = run_cli("new", str(dest), "--defaults", "-d", f"package_manager={package_manager}")
    assert result.exit_code == 0, result.output
    command = " && ".join(_refresh(package_manager, default_python(), "sklearn"))
    assert (
        f"mlrig: warning: no lock file: uv was not found (https://docs.astral.sh/uv/); "
        f"run `{command}` in the project and commit {files}"
    ) in result.stderr
    assert "Created" in result.stdout
    assert not any((dest / name).exists() for name in LOCKS)
    # The project is complete and committed all the same.
    assert (dest / "pyproject.toml").is_file()
    assert git(dest, "status", "--porcelain") == ""
    assert git(dest, "rev-list", "--count", "HEAD") == "1"


@pytest.mark.parametrize("package_manager", ["uv", "pip"])
def test_unreachable_index_leaves_no_lock_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, package_manager: str
) -> None:
    # uv offline with an empty cache: exactly what an unreachable index looks like to it.
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-cache"))
    dest = tmp_path / "demo-model"
    answers = make_answers(package_manager=package_manager, python_version=PYTHON)
    with locking():
        result = new(dest, answers=answers, template=builtin_template())
    assert result.lock == ()
    assert result.lock_problem is not None
    first = _refresh(package_manager, PYTHON, "sklearn")[0]
    assert result.lock_problem.startswith(f"no lock file: `{first}` failed (")
    assert "network was disabled" in result.lock_problem
    assert not any((dest / name).exists() for name in LOCKS)
    assert not any(name in result.files for name in LOCKS)
    assert result.commit is not None
    assert git(dest, "status", "--porcelain") == ""


def test_a_pip_lock_is_both_files_or_neither(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runtime lock is written, then the dev lock fails: neither file is kept."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "uv"
    fake.write_text(
        "#!/bin/sh\n"
        'for arg; do case "$arg" in dev) echo "error: index down" >&2; exit 2;; esac; done\n'
        'while [ "$#" -gt 1 ]; do [ "$1" = -o ] && echo "# locked" > "$2"; shift; done\n',
        encoding="utf-8",
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path('/usr/bin')}:{Path('/bin')}")
    dest = tmp_path / "demo-model"
    with locking():
        result = new(
            dest,
            answers=make_answers(package_manager="pip"),
            template=builtin_template(),
            git=False,
        )
    assert result.lock == ()
    assert result.lock_problem is not None
    assert "failed (index down)" in result.lock_problem
    assert not (dest / PIP_LOCK).exists()
    assert not (dest / PIP_DEV_LOCK).exists()


@pytest.mark.parametrize("framework", ["sklearn", "pytorch"])
def test_readme_and_pipelines_show_the_lock_commands_mlrig_runs(
    render: Callable[..., Path], framework: str
) -> None:
    """The refresh commands a user reads are the ones mlrig ran (one source of truth)."""
    dest = render(
        package_manager="pip", framework=framework, ci_provider="both", python_version="3.12"
    )
    commands = _refresh("pip", "3.12", framework)
    readme = (dest / "README.md").read_text(encoding="utf-8")
    ci = (dest / ".github/workflows/ci.yml").read_text(encoding="utf-8")
    gitlab = (dest / ".gitlab-ci.yml").read_text(encoding="utf-8")
    for command in commands:
        assert f"\n{command}\n" in readme
        assert f'echo "  {command}"' in ci
        assert f'echo "  {command}"' in gitlab
    uv = render()
    assert _refresh("uv", "3.12", "sklearn") == ["uv lock"]
    assert "\nuv lock\n" in (uv / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("python_version", ["3.10", "3.11", "3.12", "3.13", "3.14"])
def test_dockerfile_base_image_is_pinned_by_digest_in_both_stages(
    render: Callable[..., Path], python_version: str
) -> None:
    dest = render(python_version=python_version)
    dockerfile = (dest / "Dockerfile").read_text(encoding="utf-8")
    bases = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert len(bases) == 2
    assert len(set(bases)) == 1
    assert re.fullmatch(rf"python:{re.escape(python_version)}-slim@sha256:[0-9a-f]{{64}}", bases[0])
    # The final stage takes only the environment from the build stage, and runs unprivileged.
    final = dockerfile.split("\nFROM ")[-1]
    assert "COPY --from=build /opt/venv /opt/venv" in final
    assert "uv" not in final.replace("uv.lock", "")
    assert "USER 10001:10001" in final


# --- Slow: locking for real --------------------------------------------------------


def _findings(project: Path) -> list[str]:
    """doctor's findings, but the one of a project rendered from the template source.

    A released template has version tags; its working copy, rendered here so that
    the test sees this branch's template, has none.
    """
    return [f.id for f in doctor(project).findings if f.id != "template-unknown"]


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
    )


@pytest.mark.slow
def test_uv_project_is_locked_committed_and_a_first_sync_keeps_the_tree_clean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "demo-model"
    with locking():
        result = new(
            dest,
            answers=make_answers(framework="none", python_version=PYTHON),
            template=builtin_template(),
        )
    assert result.lock_problem is None
    assert result.lock == (UV_LOCK,)
    assert UV_LOCK in git(dest, "ls-files").splitlines()
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    uv = Path(sys.executable).parent / "uv"
    sync = _run([str(uv), "sync", "--locked", "--extra", "dev", "--python", sys.executable], dest)
    assert sync.returncode == 0, sync.stderr
    assert git(dest, "status", "--porcelain") == ""
    assert _findings(dest) == []


@pytest.mark.slow
def test_pip_project_gets_hashed_locks_that_plain_pip_installs(tmp_path: Path) -> None:
    dest = tmp_path / "demo-model"
    with locking():
        result = new(
            dest,
            answers=make_answers(framework="none", package_manager="pip", python_version=PYTHON),
            template=builtin_template(),
        )
    assert result.lock_problem is None
    assert result.lock == (PIP_LOCK, PIP_DEV_LOCK)
    dev_lock = (dest / PIP_DEV_LOCK).read_text(encoding="utf-8")
    assert "--hash=sha256:" in dev_lock
    assert "pytest==" in dev_lock
    assert "pytest==" not in (dest / PIP_LOCK).read_text(encoding="utf-8")
    assert {PIP_LOCK, PIP_DEV_LOCK} <= set(git(dest, "ls-files").splitlines())
    venv = tmp_path / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)], tmp_path).returncode == 0
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    install = _run([*pip, "install", "--require-hashes", "-r", PIP_DEV_LOCK], dest)
    assert install.returncode == 0, install.stderr
    assert git(dest, "status", "--porcelain") == ""
    assert _findings(dest) == []
