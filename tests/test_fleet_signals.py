"""`mlrig fleet update` stopped by a signal: no process of the run outlives it, no repo changes.

The workers are paused inside their repository's update by a ``git`` on PATH that
waits at mlrig's own commit; every process of the run (the parent, its workers,
multiprocessing's helper, the paused git calls) carries a marker in its environment
that the test finds in /proc.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mlrig import new
from tests.signals import default_sigint
from tests.templaterepo import TemplateRepo, git, status

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")

QUESTIONS = "project:\n  type: str\n  default: demo\n"
V1 = {"README.md.jinja": "# {{ project }}\n", "settings.txt": "timeout = 10\n"}
V2 = {"README.md.jinja": "# {{ project }}\n\nv2\n", "settings.txt": "timeout = 20\n"}
REPOS = ("a", "b", "c")
MARKER = "MLRIG_FLEET_SIGNAL_TEST"

# Waits in mlrig's own commit ("mlrig: update template ..."), once the update is
# complete in the scratch worktree; gives up after a minute so nothing waits forever.
PAUSING_GIT = textwrap.dedent(
    """\
    import os, sys, time
    from pathlib import Path

    if any(arg.startswith("mlrig: update template") for arg in sys.argv):
        Path(os.environ["PAUSED_DIR"], str(os.getpid())).touch()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.05)
        sys.exit(1)
    os.execv(os.environ["REAL_GIT"], ["git", *sys.argv[1:]])
    """
)


@pytest.fixture
def fleet(tmp_path: Path) -> list[Path]:
    """Three projects made from template v1, behind v2, each with one commit."""
    template = TemplateRepo(tmp_path / "template")
    template.release("v1", QUESTIONS, V1)
    repos = []
    for name in REPOS:
        dest = tmp_path / "fleet" / name
        new(dest, answers={"project": name}, template=str(template.path), ref="v1")
        repos.append(dest)
    template.release("v2", QUESTIONS, V2)
    return repos


def _run_env(tmp_path: Path, token: str, *, pausing: bool) -> dict[str, str]:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir(exist_ok=True)
    env = {**os.environ, MARKER: token, "TMPDIR": str(tmpdir)}
    if pausing:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        paused = tmp_path / "paused"
        paused.mkdir()
        real_git = shutil.which("git")
        assert real_git is not None
        (bin_dir / "pausing_git.py").write_text(PAUSING_GIT)
        wrapper = bin_dir / "git"
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{bin_dir}/pausing_git.py" "$@"\n')
        wrapper.chmod(0o755)
        env.update(
            PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", PAUSED_DIR=str(paused), REAL_GIT=real_git
        )
    return env


def _processes(token: str) -> list[int]:
    """The ids of the live processes whose environment holds ``MARKER=token``."""
    needle = f"{MARKER}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


@pytest.fixture
def token() -> Iterator[str]:
    """The marker of one run; whatever of the run is still alive at the end is killed."""
    value = uuid.uuid4().hex
    yield value
    for pid in _processes(value):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


SIGNALS = {
    "sigkill-parent": (signal.SIGKILL, False),
    "sigint-parent": (signal.SIGINT, False),
    "sigterm-parent": (signal.SIGTERM, False),
    "ctrl-c-group": (signal.SIGINT, True),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", SIGNALS)
def test_signalled_fleet_update_leaves_no_process_and_every_repo_as_it_was(
    tmp_path: Path, fleet: list[Path], token: str, case: str
) -> None:
    sig, whole_group = SIGNALS[case]
    heads = {repo: git(repo, "rev-parse", "HEAD") for repo in fleet}
    env = _run_env(tmp_path, token, pausing=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlrig", "fleet", "update", "--jobs", "3", *map(str, fleet)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, as a shell job would be
        preexec_fn=default_sigint,
    )
    paused = Path(env["PAUSED_DIR"])
    deadline = time.monotonic() + 120
    while len(list(paused.iterdir())) < len(fleet) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    assert len(list(paused.iterdir())) == len(fleet), "the workers never reached the commit"
    assert len(_processes(token)) > len(fleet) + 1  # the parent, its workers, the paused gits

    if whole_group:
        os.killpg(proc.pid, sig)
    else:
        os.kill(proc.pid, sig)
    # The caller's pipes reach EOF: nothing of the run holds them any more.
    try:
        stdout, stderr = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"the run still holds the caller's pipes: processes {_processes(token)}")
    deadline = time.monotonic() + 10
    while _processes(token) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes(token) == []

    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 130, stderr
        assert stdout == ""
        assert stderr.count("\n") == 1, stderr
        assert "fleet update interrupted after 0 of 3 repositories" in stderr
        assert "left as they were" in stderr
    assert "Traceback" not in stderr
    for repo in fleet:
        assert git(repo, "rev-parse", "HEAD") == heads[repo]
        assert status(repo) == []
        assert git(repo, "branch", "--format=%(refname:short)") == "main"
        assert git(repo, "worktree", "list").count("\n") == 0
        assert list((repo / ".git").glob("*mlrig*")) == []
    assert list((tmp_path / "tmp").glob("mlrig-fleet-*")) == []

    # The next run starts from scratch and updates every repository.
    again = subprocess.run(
        [sys.executable, "-m", "mlrig", "fleet", "update", *map(str, fleet)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=_run_env(tmp_path, token, pausing=False),
        check=False,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr
    for repo in fleet:
        assert "mlrig/update-v2" in git(repo, "branch", "--format=%(refname:short)")
        assert status(repo) == []


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "repos.fifo"
    os.mkfifo(path)
    return path


def _directory(tmp_path: Path) -> Path:
    path = tmp_path / "repos.d"
    path.mkdir()
    return path


@pytest.mark.parametrize(
    "make", [_fifo, lambda _: Path("/dev/zero"), _directory], ids=["fifo", "dev-zero", "directory"]
)
@pytest.mark.parametrize("command", ["check", "update"])
def test_a_repo_list_that_is_no_file_is_refused_at_once(
    tmp_path: Path, command: str, make: Callable[[Path], Path]
) -> None:
    listing = make(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "mlrig", "fleet", command, "--from", str(listing)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=20,
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"the repository list {listing} is not a regular file" in result.stderr
