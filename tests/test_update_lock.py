"""``mlrig update`` adds the dependency lock that template v0.4.0's pipelines install.

The update goes to the newest built-in version, which has installed from that lock since.

A starter project made from template v0.3.0 has no lock; after the update its CI runs
``uv sync --locked`` (or ``pip install --require-hashes``), so the update writes the
lock or says plainly that it could not. The quick tests never contact a package
index: without uv (the session default, see conftest.py) or with a stand-in uv. The
slow one locks for real and installs from the lock.
"""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import pytest

from mlrig import _lock, new
from mlrig._lock import PIP_DEV_LOCK, PIP_LOCK, UV_LOCK, lock_commands
from mlrig._version import __version__
from mlrig.answers import default_python
from mlrig.commands.fleet import fleet_update
from mlrig.templates import builtin_bundle
from tests.conftest import MadeOnce, locking, make_answers, run_cli
from tests.templaterepo import git, status

OLD = "v0.3.0"
NEWEST = f"v{__version__}"
LOCKS = (UV_LOCK, PIP_LOCK, PIP_DEV_LOCK)


def _old_project(made_once: MadeOnce, tmp_path: Path, **given: object) -> Path:
    """A committed starter project made from template v0.3.0, which had no lock."""
    answers = make_answers(project_name="old-model", **given)
    project = made_once(
        f"update-lock {sorted(given.items())}",
        tmp_path / "old-model",
        lambda dest: new(dest, answers=answers, template=builtin_bundle(), ref=OLD),
    )
    assert not any((project / name).exists() for name in LOCKS)
    return project


def _stand_in_uv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put a uv on PATH that writes a stand-in lock; return the log of its calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "uv-calls.log"
    fake = bin_dir / "uv"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        '[ "$1" = lock ] && echo "# stand-in lock" > uv.lock\n'
        'while [ "$#" -gt 1 ]; do [ "$1" = -o ] && echo "# stand-in lock" > "$2"; shift; done\n'
        "exit 0\n",
        encoding="utf-8",
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return log


@pytest.mark.parametrize(
    ("package_manager", "files"),
    [("uv", "uv.lock"), ("pip", "requirements.lock and requirements-dev.lock")],
)
def test_without_uv_the_update_succeeds_and_the_warning_names_the_command(
    made_once: MadeOnce, tmp_path: Path, package_manager: str, files: str
) -> None:
    project = _old_project(made_once, tmp_path, package_manager=package_manager)
    result = run_cli("update", str(project), "--json")
    assert result.exit_code == 0, result.output
    commands = lock_commands(package_manager, default_python(), "sklearn")
    problem = (
        "no lock file: uv was not found (https://docs.astral.sh/uv/); "
        f"run `{' && '.join(' '.join(argv) for argv in commands)}` in the project "
        f"and commit {files}"
    )
    assert f"mlrig: warning: {problem}\n" in result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "updated"
    assert report["applied"] is True
    assert report["lock_problem"] == problem
    assert not any((project / name).exists() for name in LOCKS)
    assert f"_commit: {NEWEST}" in (project / ".copier-answers.yml").read_text()


def test_an_existing_repository_gets_no_lock_and_no_warning(
    made_once: MadeOnce, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _stand_in_uv(tmp_path, monkeypatch)
    commands = {
        f"{stage}_command": "true"
        for stage in ("install", "lint", "test", "data", "train", "evaluate")
    }
    project = _old_project(
        made_once, tmp_path, existing_repo=True, monitoring_schedule="none", **commands
    )
    with locking():
        result = run_cli("update", str(project))
    assert result.exit_code == 0, result.output
    assert f"{OLD} -> {NEWEST}" in result.stdout
    assert "warning" not in result.stderr
    assert not log.exists()
    assert not any((project / name).exists() for name in LOCKS)


@pytest.mark.parametrize(
    ("package_manager", "written"), [("uv", [UV_LOCK]), ("pip", [PIP_DEV_LOCK, PIP_LOCK])]
)
def test_the_lock_is_added_uncommitted_like_the_rest_of_the_update(
    made_once: MadeOnce,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    package_manager: str,
    written: list[str],
) -> None:
    log = _stand_in_uv(tmp_path, monkeypatch)
    project = _old_project(made_once, tmp_path, package_manager=package_manager)
    with locking():
        preview = run_cli("update", str(project), "--preview")
        assert preview.exit_code == 0, preview.output
        assert not log.exists(), "a preview must not lock"
        result = run_cli("update", str(project))
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    for name in written:
        assert f"  added    {name}\n" in result.stdout
        assert (project / name).read_text() == "# stand-in lock\n"
        assert f"?? {name}" in status(project)


def test_a_project_that_has_its_lock_keeps_it(
    made_once: MadeOnce, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _stand_in_uv(tmp_path, monkeypatch)
    project = _old_project(made_once, tmp_path)
    (project / UV_LOCK).write_text("# the team's own lock\n")
    subprocess.run(["git", "add", UV_LOCK], cwd=project, check=True)
    subprocess.run(["git", "commit", "-qm", "lock"], cwd=project, check=True)
    with locking():
        result = run_cli("update", str(project))
    assert result.exit_code == 0, result.output
    assert UV_LOCK not in result.stdout
    assert not log.exists()
    assert (project / UV_LOCK).read_text() == "# the team's own lock\n"


@pytest.mark.slow
@pytest.mark.parametrize("package_manager", ["uv", "pip"])
def test_updated_project_installs_from_the_lock_it_got(
    made_once: MadeOnce, tmp_path: Path, package_manager: str
) -> None:
    project = _old_project(made_once, tmp_path, package_manager=package_manager)
    with locking():
        result = run_cli("update", str(project))
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr, result.stderr
    written = [UV_LOCK] if package_manager == "uv" else [PIP_DEV_LOCK, PIP_LOCK]
    for name in written:
        assert f"  added    {name}\n" in result.stdout
        assert (project / name).is_file()
    if package_manager == "uv":
        with locking():
            uv = _lock.find_uv()
        assert uv is not None
        # What the updated CI runs: it fails when the lock is missing or stale.
        synced = subprocess.run(
            [uv, "sync", "--locked"], cwd=project, capture_output=True, text=True, check=False
        )
        assert synced.returncode == 0, synced.stderr
    else:
        assert "--hash=sha256:" in (project / PIP_DEV_LOCK).read_text()


def test_fleet_update_commits_without_the_lock_and_says_what_to_add(
    made_once: MadeOnce, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # uv offline with an empty cache (the workers inherit the environment): an
    # unreachable index, as the fleet's own uv sees it.
    monkeypatch.setenv("UV_OFFLINE", "1")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "empty-cache"))
    project = _old_project(made_once, tmp_path)
    (entry,) = fleet_update([project]).repos
    assert entry.status == "updated", entry.message
    assert "; review and merge it; no lock file: `uv lock` failed (" in entry.message
    assert "network was disabled" in entry.message
    assert entry.message.endswith("; run `uv lock` in the project and commit uv.lock")
    assert UV_LOCK not in git(project, "ls-tree", "-r", "--name-only", str(entry.branch))
