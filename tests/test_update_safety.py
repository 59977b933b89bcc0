"""`mlrig update` loses no work: binary, latin-1 and non-ASCII conflicts, kills, rebases.

Template versions are tagged git repositories in ``tmp_path``; projects are made
from them with ``mlrig new``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mlrig import new
from mlrig.templates import builtin_bundle, template_versions
from tests.conftest import make_answers, run_cli
from tests.signals import default_sigint
from tests.templaterepo import GIT_ENV, TemplateRepo, commit_project, git, status

QUESTIONS = "project:\n  type: str\n  default: demo\n"
TEXT = "# notes\n\n" + "".join(f"line {i}\n" for i in range(1, 21))
LOGO_V1 = bytes(range(256)) * 4
LOGO_V2 = LOGO_V1[::-1]
LOGO_USER = b"\0user's own logo" * 40
LATIN_V1 = "caf\xe9\n".encode("latin-1") + TEXT.encode()
ODD = "données/é.txt"
V1: dict[str, str | bytes] = {
    "README.md": TEXT,
    "logo.bin": LOGO_V1,
    "icon.bin": LOGO_V1,
    "latin.txt": LATIN_V1,
    ODD: TEXT,
    "gone.txt": "removed in v2\n",
}
V2: dict[str, str | bytes] = {
    **{k: v for k, v in V1.items() if k != "gone.txt"},
    "README.md": TEXT.replace("line 10\n", "line 10 from v2\n"),
    "logo.bin": LOGO_V2,
    "latin.txt": LATIN_V1.replace(b"line 10\n", "line 10 \xe9t\xe9 v2\n".encode("latin-1")),
    ODD: TEXT.replace("line 10\n", "line 10 from v2\n"),
    "added.txt": "added in v2\n",
}


@pytest.fixture
def template(tmp_path: Path) -> TemplateRepo:
    repo = TemplateRepo(tmp_path / "template")
    repo.release("v1", QUESTIONS, V1)
    repo.release("v2", QUESTIONS, V2)
    return repo


@pytest.fixture
def project(tmp_path: Path, template: TemplateRepo) -> Path:
    dest = tmp_path / "work" / "proj"
    new(dest, answers={"project": "proj"}, template=template.path, ref="v1")
    return dest


def _conflicts(stdout: str) -> list[str]:
    return [line.split(maxsplit=1)[1] for line in stdout.splitlines() if "conflict " in line]


def test_binary_changed_on_both_sides_keeps_the_users_bytes(project: Path) -> None:
    (project / "logo.bin").write_bytes(LOGO_USER)
    (project / "icon.bin").write_bytes(LOGO_USER)  # the template leaves this one alone
    commit_project(project)
    result = run_cli("update", str(project))
    assert result.exit_code == 1, result.output
    assert _conflicts(result.stdout) == ["logo.bin"]
    assert "logo.bin" in result.stderr
    assert (project / "logo.bin").read_bytes() == LOGO_USER
    assert (project / "logo.bin.rej").read_bytes() == LOGO_V2  # the template's side, beside
    assert (project / "icon.bin").read_bytes() == LOGO_USER  # only the user changed it: kept


def test_binary_changed_by_the_template_only_is_updated(project: Path) -> None:
    result = run_cli("update", str(project))
    assert result.exit_code == 0, result.output
    assert (project / "logo.bin").read_bytes() == LOGO_V2
    assert not (project / "logo.bin.rej").exists()


def test_conflict_rej_keeps_the_users_edit_in_the_file(project: Path) -> None:
    readme = project / "README.md"
    readme.write_text(
        TEXT.replace("line 10\n", "line 10 by the team\n").replace("# notes", "# ours")
    )
    commit_project(project)
    result = run_cli("update", str(project), "--conflict", "rej")
    assert result.exit_code == 1, result.output
    assert "README.md" in _conflicts(result.stdout)
    text = readme.read_text()
    assert "line 10 by the team" in text
    assert "# ours" in text
    assert "<<<<<<<" not in text
    rejected = (project / "README.md.rej").read_text()
    assert "-line 10 by the team\n" in rejected
    assert "+line 10 from v2\n" in rejected
    # The .rej is a patch: applying it takes the template's side.
    git(project, "apply", "README.md.rej")
    assert "line 10 from v2" in readme.read_text()


def test_a_file_the_user_keeps_in_crlf_takes_the_template_change_in_crlf(
    project: Path,
) -> None:
    readme = project / "README.md"
    readme.write_bytes(
        TEXT.replace("line 3\n", "line 3 by the team\n").replace("\n", "\r\n").encode()
    )
    commit_project(project)
    result = run_cli("update", str(project))
    assert result.exit_code == 0, result.output
    assert "README.md" not in _conflicts(result.stdout)
    expected = TEXT.replace("line 3\n", "line 3 by the team\n").replace(
        "line 10\n", "line 10 from v2\n"
    )
    assert readme.read_bytes() == expected.replace("\n", "\r\n").encode()


def test_latin1_template_file_updates_and_its_conflict_is_reported(project: Path) -> None:
    latin = project / "latin.txt"
    latin.write_bytes(LATIN_V1.replace(b"line 10\n", "line 10 \xe0 nous\n".encode("latin-1")))
    commit_project(project)
    result = run_cli("update", str(project))
    assert result.exit_code == 1, result.output
    assert "latin.txt" in _conflicts(result.stdout)
    merged = latin.read_bytes()
    assert "line 10 \xe0 nous".encode("latin-1") in merged
    assert "line 10 \xe9t\xe9 v2".encode("latin-1") in merged


def test_latin1_template_file_without_conflict_updates(project: Path) -> None:
    result = run_cli("update", str(project))
    assert result.exit_code == 0, result.output
    assert (project / "latin.txt").read_bytes() == V2["latin.txt"]


def test_conflict_in_a_non_ascii_path_is_reported(project: Path) -> None:
    odd = project / ODD
    odd.write_text(TEXT.replace("line 10\n", "line 10 by the team\n"))
    commit_project(project)
    result = run_cli("update", str(project))
    assert result.exit_code == 1, result.output
    assert _conflicts(result.stdout) == [ODD]
    assert ODD in result.stderr
    assert "<<<<<<< before updating" in odd.read_text()


def _start_rebase_at_edit(project: Path) -> None:
    (project / "notes.txt").write_text("one\n")
    commit_project(project, "one")
    (project / "notes.txt").write_text("two\n")
    commit_project(project, "two")
    env = {**GIT_ENV, "GIT_SEQUENCE_EDITOR": "sed -i 1s/^pick/edit/"}
    subprocess.run(
        ["git", "rebase", "-i", "HEAD~1"], cwd=project, env=env, check=True, capture_output=True
    )
    assert (project / ".git" / "rebase-merge").is_dir()


def test_update_refuses_during_a_rebase(project: Path) -> None:
    _start_rebase_at_edit(project)
    head = git(project, "rev-parse", "HEAD")
    result = run_cli("update", str(project))
    assert result.exit_code == 3
    assert "in the middle of a rebase" in result.stderr
    assert status(project) == []
    assert git(project, "rev-parse", "HEAD") == head
    assert "_commit: v1" in (project / ".copier-answers.yml").read_text()


def test_fleet_update_refuses_a_repo_during_a_rebase(project: Path) -> None:
    _start_rebase_at_edit(project)
    result = run_cli("fleet", "update", "--json", str(project))
    assert result.exit_code == 1
    assert '"status": "error"' in result.stdout
    assert "in the middle of a rebase" in result.stdout
    assert git(project, "branch", "--list", "mlrig/*") == ""
    assert status(project) == []


def _record_version(project: Path, version: str) -> None:
    answers = project / ".copier-answers.yml"
    text = answers.read_text()
    current = next(line for line in text.splitlines() if line.startswith("_commit: "))
    answers.write_text(text.replace(current, f"_commit: {version}"))
    commit_project(project, f"made by a newer mlrig ({version})")


def test_project_ahead_of_the_builtin_template_is_not_behind(tmp_path: Path) -> None:
    versions = template_versions(str(builtin_bundle()))
    project = tmp_path / "from-the-future"
    new(project, answers=make_answers(project_name="from-the-future"), template=builtin_bundle())
    _record_version(project, "v99.0.0")
    for args in (["check"], ["check", "--json"], ["update"]):
        result = run_cli(*args, str(project))
        assert result.exit_code == 2, args
        assert f"v99.0.0, newer than {versions[-1]}" in result.stderr
        assert "upgrade mlrig" in result.stderr
        assert "behind" not in result.output
        assert result.stderr.count("\n") == 1  # one line, no traceback
    fleet = run_cli("fleet", "check", "--json", str(project))
    assert fleet.exit_code == 1
    assert "upgrade mlrig" in fleet.stdout
    assert '"status": "behind"' not in fleet.stdout
    doctor = run_cli("doctor", "--json", str(project))
    assert "template-behind" not in doctor.stdout
    assert "upgrade mlrig" in doctor.stdout
    assert status(project) == []


def test_project_ahead_of_its_templates_tags(project: Path) -> None:
    _record_version(project, "v3")
    result = run_cli("update", str(project))
    assert result.exit_code == 2
    assert "newer than v2" in result.stderr
    assert status(project) == []


def test_copiers_os_errors_are_one_line(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import copier

    def stale(*_: object, **__: object) -> None:
        raise FileExistsError(17, "File exists", "/tmp/copier._main.old_copy.x")

    monkeypatch.setattr(copier, "run_update", stale)
    result = run_cli("update", str(project))
    assert result.exit_code == 3
    assert "copier could not update proj: [Errno 17] File exists" in result.stderr
    assert status(project) == []
    assert git(project, "worktree", "list").count("\n") == 0


# Kills: a ~4,000-file project, an update paused at a chosen step by a wrapper that
# the runner script installs, then SIGINT or SIGKILL.

RUNNER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import mlrig.commands._update_write as last_step
    import mlrig.commands.update as up
    from mlrig.cli import main

    point, marker = sys.argv[1], Path(sys.argv[2])
    go = marker.with_name("go")
    calls = []

    def pausing(original, after=0):
        # Pause once, until the test has sent its signal and says go.
        def wrapper(*args, **kwargs):
            calls.append(1)
            if len(calls) == after + 1:
                marker.write_text("paused")
                deadline = time.monotonic() + 60
                while not go.exists() and time.monotonic() < deadline:
                    time.sleep(0.01)
            return original(*args, **kwargs)
        return wrapper

    after = 1 if point == "_replace" else 0
    module = up if hasattr(up, point) else last_step
    setattr(module, point, pausing(getattr(module, point), after))
    sys.exit(main(sys.argv[3:]))
    """
)
BIG_V2 = {**V2, "README.md": TEXT.replace("line 3\n", "line 3 from v2\n")}


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """A 4,000-file project on v1 and the snapshot an uninterrupted update leaves."""
    root = tmp_path_factory.mktemp("big")
    repo = TemplateRepo(root / "template")
    repo.release("v1", QUESTIONS, V1)
    repo.release("v2", QUESTIONS, BIG_V2)
    project = root / "proj"
    new(project, answers={"project": "proj"}, template=repo.path, ref="v1")
    for index in range(4_000):
        folder = project / "notes" / f"part{index // 400}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"n{index}.txt").write_text(f"note {index}\n")
    commit_project(project, "4,000 notes")
    done = root / "done"
    shutil.copytree(project, done, symlinks=True)
    assert run_cli("update", str(done)).exit_code == 0
    return project, _snapshot(done)


def _snapshot(project: Path) -> dict[str, object]:
    files = {
        p.relative_to(project).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in project.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(project).parts
    }
    return {"status": sorted(status(project)), "files": files}


def _ours_in_shm(pid: int) -> list[Path]:
    found = []
    for folder in Path("/dev/shm").glob("mlrig-update-*"):
        try:
            if (folder / "owner").read_text().split()[1] == str(pid):
                found.append(folder)
        except (OSError, IndexError):
            continue
    return found


def _mlrig(*args: str, tmpdir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    return subprocess.run(
        [sys.executable, "-m", "mlrig", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )


POINTS = {
    # While copier merges in the scratch worktree.
    "_copier_update": "before",
    # The result is complete in scratch; nothing is written yet.
    "_check_room": "before",
    # The new contents and the plan are in the git directory; no file renamed yet.
    "_switch": "pending",
    # Inside the renames: one file is in place, the others are not.
    "_replace": "partial",
}


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill"])
@pytest.mark.parametrize("point", POINTS)
def test_interrupted_update_changes_nothing_or_completes(
    tmp_path: Path, big: tuple[Path, dict[str, object]], point: str, sig: signal.Signals
) -> None:
    original, after = big
    project = tmp_path / "proj"
    shutil.copytree(original, project, symlinks=True)
    before = _snapshot(project)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    runner, marker = tmp_path / "runner.py", tmp_path / "paused"
    runner.write_text(RUNNER)
    proc = subprocess.Popen(
        [sys.executable, str(runner), point, str(marker), "update", str(project)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "TMPDIR": str(tmpdir)},
        preexec_fn=default_sigint,
    )
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert marker.exists(), proc.communicate()
    os.kill(proc.pid, sig)
    time.sleep(0.2)  # let the signal land while paused
    (tmp_path / "go").touch()
    _, stderr = proc.communicate(timeout=120)
    assert "Traceback" not in stderr
    state = _snapshot(project)
    assert (project / ".copier-answers.yml").is_file()
    if sig == signal.SIGINT:
        # Before the plan, Ctrl-C undoes everything; from the plan on, the update completes.
        if POINTS[point] == "before":
            assert proc.returncode == 130
            assert "is as before" in stderr
            assert state == before
        else:
            assert proc.returncode == 0, stderr
            assert state == after
        assert not list(tmpdir.iterdir())
        assert not _ours_in_shm(proc.pid)
        assert git(project, "worktree", "list").count("\n") == 0
        return
    if POINTS[point] in ("before", "pending"):
        assert state == before
    else:
        assert state != before  # killed inside the renames: the next update finishes them
    # The next update cleans what the kill left and finishes (or redoes) the update.
    again = _mlrig("update", str(project), tmpdir=tmpdir)
    assert again.returncode == 0, again.stderr
    assert "template v1 -> v2" in again.stdout
    assert _snapshot(project) == after
    assert not list(tmpdir.iterdir())
    assert not _ours_in_shm(proc.pid)
    assert git(project, "worktree", "list").count("\n") == 0
