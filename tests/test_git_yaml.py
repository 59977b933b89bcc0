"""What a user notices of mlrig's one home for git (mlrig._git) and for YAML (mlrig._yaml)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlrig import new
from tests.configenv import isolate
from tests.conftest import run_cli
from tests.templaterepo import TemplateRepo, commit_project, git

QUESTIONS = "project:\n  type: str\n  default: demo\n"
FILES = {
    "README.md.jinja": "# {{ project }}\n",
    ".github/workflows/ci.yml": (
        "name: CI\non: push\npermissions: {}\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
        "    timeout-minutes: 10\n    steps:\n      - run: echo test\n"
    ),
}
BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project from v1 of a two-version template, committed."""
    isolate(monkeypatch, tmp_path)
    template = TemplateRepo(tmp_path / "template")
    template.release("v1", QUESTIONS, FILES)
    dest = tmp_path / "work" / "proj"
    new(dest, answers={"project": "proj"}, template=template.path, ref="v1")
    template.release("v2", QUESTIONS, {**FILES, "README.md.jinja": "# {{ project }} v2\n"})
    return dest


def _recording_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put a git first on PATH that logs each call's prompt settings, then runs the real git."""
    real = shutil.which("git")
    assert real is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "git-calls.log"
    wrapper = bin_dir / "git"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'echo "prompt=$GIT_TERMINAL_PROMPT gcm=$GCM_INTERACTIVE $*" >> "{log}"\n'
        f'exec "{real}" "$@"\n'
    )
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("GIT_TERMINAL_PROMPT", raising=False)
    monkeypatch.delenv("GCM_INTERACTIVE", raising=False)
    return log


def test_every_git_call_of_check_and_doctor_is_told_never_to_prompt(
    tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _recording_git(tmp_path, monkeypatch)

    assert run_cli("check", str(project)).exit_code == 1  # v2 is out
    run_cli("doctor", str(project))

    calls = log.read_text().splitlines()
    words = {word for call in calls for word in call.split()}
    # The template's tags, the file listings (run in the background) and the secret scan.
    assert {"ls-remote", "ls-files", "grep"} <= words, calls
    assert [c for c in calls if not c.startswith("prompt=0 gcm=never ")] == []


def test_dirty_tree_names_an_unusual_path_as_it_is(project: Path) -> None:
    (project / "données brutes.csv").write_text("1,2\n")

    result = run_cli("update", str(project))

    assert result.exit_code == 3
    assert "has uncommitted changes (1 paths, e.g. données brutes.csv)" in result.stderr


def test_dirty_tree_names_a_renamed_file_by_its_new_name(project: Path) -> None:
    git(project, "mv", "README.md", "READ-ME.md")

    result = run_cli("update", str(project))

    assert result.exit_code == 3
    assert "(1 paths, e.g. READ-ME.md)" in result.stderr
    commit_project(project)
    assert run_cli("update", str(project)).exit_code == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("framework: [sklearn]\nframework: [none]\n", "not valid YAML: .*duplicate key"),
        (BOMB, "aliases that stand for more than 1000 values"),
    ],
    ids=["duplicate-key", "billion-laughs"],
)
def test_template_test_refuses_a_hostile_matrix_file_at_once(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "template").mkdir()
    (tmp_path / "template" / "copier.yml").write_text("framework:\n  type: str\n")
    matrix = tmp_path / "matrix.yml"
    matrix.write_text(content)

    started = time.monotonic()
    result = run_cli("template", "test", str(tmp_path / "template"), "--matrix", str(matrix))

    assert time.monotonic() - started < 5
    assert result.exit_code == 2, result.output
    assert re.search(f"matrix file {matrix}.*{message}", result.stderr), result.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_template_test_never_waits_on_a_fifo_given_as_matrix_file(tmp_path: Path) -> None:
    (tmp_path / "template").mkdir()
    (tmp_path / "template" / "copier.yml").write_text("framework:\n  type: str\n")
    fifo = tmp_path / "matrix.yml"
    os.mkfifo(fifo)
    matrix = ("--matrix", str(fifo))

    proc = subprocess.run(
        [sys.executable, "-m", "mlrig", "template", "test", str(tmp_path / "template"), *matrix],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )

    assert proc.returncode == 2, proc.stderr
    assert f"matrix file {fifo} is not a regular file" in proc.stderr


def test_a_bomb_in_yaml_only_ruamel_parses_is_refused(tmp_path: Path) -> None:
    """A raw U+2028 breaks a line for PyYAML (YAML 1.1), not for ruamel.yaml (1.2).

    PyYAML's parser, which checks the shape first, stops at it; ruamel.yaml reads
    the file. The aliases must still be counted, with ruamel.yaml's own parser.
    """
    (tmp_path / "template").mkdir()
    (tmp_path / "template" / "copier.yml").write_text("framework:\n  type: str\n")
    matrix = tmp_path / "matrix.yml"
    matrix.write_text("note: one\u2028two\n" + BOMB, encoding="utf-8")

    result = run_cli("template", "test", str(tmp_path / "template"), "--matrix", str(matrix))

    assert result.exit_code == 2, result.output
    assert "aliases that stand for more than 1000 values" in result.stderr
