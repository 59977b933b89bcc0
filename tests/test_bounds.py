"""What a repository or a user hands mlrig is read within bounds, and adopt writes only
into the repository itself (issue 15).

Each case here hung, crashed or wrote where it must not on the main branch before
issue 15. Cases that could hang or read without end run mlrig in a subprocess with
a timeout and a memory limit, so that they fail the test instead of stalling the
suite or the machine.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from mlrig.commands.adopt import AdoptResult, adopt
from mlrig.commands.doctor import doctor
from mlrig.templates import parse_template_spec
from tests.configenv import isolate
from tests.templaterepo import TemplateRepo, commit_project, git, status
from tests.test_bad_input import LAUGHS, TIMEOUT, _one_line_error
from tests.test_doctor import make_repo
from tests.test_yamlmerge import _merge, load

# A read without end (of /dev/zero) stops here instead of filling the machine's memory.
_MEMORY = 2 * 1024**3
_TEST_MAKEFILE = "test:\n\tpytest -q\n"


def _mlrig(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m mlrig ARGS`` in a subprocess; a hang fails with TimeoutExpired."""

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (_MEMORY, _MEMORY))

    return subprocess.run(
        [sys.executable, "-m", "mlrig", *args],
        capture_output=True,
        text=True,
        errors="backslashreplace",
        stdin=subprocess.DEVNULL,
        timeout=TIMEOUT,
        check=False,
        preexec_fn=limit_memory,
    )


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(monkeypatch, tmp_path / "env")


# --- Alias bombs in a pipeline: refused, never merged into ------------------------------


def _bomb_github() -> tuple[str, str]:
    text = (
        "on: push\nx-laughs:\n"
        + textwrap.indent(LAUGHS, "  ")
        + "jobs:\n  unit:\n    runs-on: ubuntu-latest\n    env:\n      LOL: *i\n"
        "    steps:\n      - run: make test\n"
    )
    return ".github/workflows/ci.yml", text


def _bomb_gitlab() -> tuple[str, str]:
    text = ".laughs:\n" + textwrap.indent(LAUGHS, "  ") + "unit:\n  script: *i\n"
    return ".gitlab-ci.yml", text


@pytest.mark.parametrize("make", [_bomb_github, _bomb_gitlab], ids=["github", "gitlab"])
def test_adopt_refuses_a_pipeline_holding_an_alias_bomb_and_changes_nothing(
    tmp_path: Path, make: Callable[[], tuple[str, str]]
) -> None:
    path, text = make()
    repo = make_repo(tmp_path / "r", {path: text, "Makefile": _TEST_MAKEFILE})

    proc = _mlrig("adopt", str(repo), "-d", "test_command=make test")

    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = _one_line_error(proc.stderr)
    assert f"{path} uses YAML aliases that stand for more than" in line
    assert status(repo) == []


# --- Files that lead to a device, or out of the repository: named, never read ------------


def _untracked(repo: Path) -> None:
    (repo / "Makefile").symlink_to("/dev/zero")


def _replaced(repo: Path) -> None:
    # Tracked as a regular file, then replaced in the work tree (git lists it as a file).
    (repo / "Makefile").write_text(_TEST_MAKEFILE)
    commit_project(repo, "Makefile")
    (repo / "Makefile").unlink()
    (repo / "Makefile").symlink_to("/dev/zero")


@pytest.mark.parametrize("link", [_untracked, _replaced], ids=["untracked", "tracked-file"])
def test_doctor_names_a_makefile_that_leads_to_dev_zero_instead_of_reading_it(
    tmp_path: Path, link: Callable[[Path], None]
) -> None:
    # A notebook makes doctor look for a notebook runner in the Makefile.
    repo = make_repo(
        tmp_path / "r", {"analysis.ipynb": "{}", "tests/test_a.py": "def test_a(): pass\n"}
    )
    link(repo)

    proc = _mlrig("doctor", "--json", str(repo))

    assert proc.returncode == 1, proc.stderr  # doctor's findings, not a crash
    assert "Traceback" not in proc.stderr
    found = {f["id"]: f for f in json.loads(proc.stdout)["findings"]}
    unreadable = found["files-unreadable"]
    assert unreadable["paths"] == ["Makefile"]
    assert "Makefile is a symlink to /dev/zero, outside the repository" in unreadable["detail"]


@pytest.mark.parametrize(
    ("path", "finding"),
    [(".github/workflows/ci.yml", "ci-unparsable"), ("Dockerfile", "files-unreadable")],
    ids=["workflow", "dockerfile"],
)
def test_doctor_never_hands_a_linter_a_file_that_leads_to_dev_zero(
    tmp_path: Path, path: str, finding: str
) -> None:
    # zizmor and hadolint would read the device without end.
    repo = make_repo(tmp_path / "r", {"tests/test_a.py": "def test_a(): pass\n"})
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).symlink_to("/dev/zero")

    proc = _mlrig("doctor", "--json", str(repo))

    assert proc.stderr == ""  # a report, not a crash
    found = {f["id"]: f for f in json.loads(proc.stdout)["findings"]}
    assert found[finding]["paths"] == [path]
    assert "is a symlink to /dev/zero, outside the repository" in found[finding]["detail"]


def test_doctor_reads_a_symlink_inside_the_repository_and_never_one_leading_out(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secretlib\n")
    inside = make_repo(tmp_path / "in", {"reqs/base.txt": "numpy\n"})
    (inside / "requirements.txt").symlink_to("reqs/base.txt")
    out = make_repo(tmp_path / "out", {"README.md": "demo\n"})
    (out / "requirements.txt").symlink_to(outside)

    followed = doctor(inside)
    refused = doctor(out)

    assert followed.dependencies.loose == ("requirements.txt: numpy",)
    assert "files-unreadable" not in {f.id for f in followed.findings}
    assert "secretlib" not in json.dumps(refused.as_dict())
    unreadable = next(f for f in refused.findings if f.id == "files-unreadable")
    assert unreadable.paths == ("requirements.txt",)
    assert f"symlink to {outside}, outside the repository" in unreadable.detail


def test_check_refuses_an_answers_file_that_leads_to_dev_zero(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / ".copier-answers.yml").symlink_to("/dev/zero")
    commit_project(repo, "answers")

    proc = _mlrig("check", str(repo))

    assert proc.returncode == 2, proc.stderr
    line = _one_line_error(proc.stderr)
    assert ".copier-answers.yml is a symlink to /dev/zero, outside the repository" in line


def test_fleet_refuses_a_fifo_as_the_repository_list(tmp_path: Path) -> None:
    fifo = tmp_path / "repos.txt"
    os.mkfifo(fifo)

    proc = _mlrig("fleet", "check", "--from", str(fifo))

    assert proc.returncode == 2, proc.stderr
    assert f"the repository list {fifo} is not a regular file" in _one_line_error(proc.stderr)
    assert proc.stdout == ""


# --- Submodules: adopt writes nothing inside another repository --------------------------


def _with_submodule(tmp_path: Path, at: str, files: dict[str, str | bytes]) -> Path:
    """A repository (a Makefile with a test target) with a submodule at ``at`` holding ``files``."""
    sub = make_repo(tmp_path / "sub", files)
    repo = make_repo(tmp_path / "r", {"Makefile": _TEST_MAKEFILE, "train.py": "print(1)\n"})
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "--quiet", str(sub), at)
    commit_project(repo, "submodule")
    return repo


def _left_alone(result: AdoptResult, path: str, submodule: str) -> None:
    action = next(a for a in result.files if a.path == path)
    assert action.action == "keep"
    assert action.notes == (
        f"{submodule} is another git repository (a submodule): mlrig writes nothing inside it",
    )


def test_adopt_leaves_a_submodule_at_github_workflows_unchanged(tmp_path: Path) -> None:
    theirs = "on: push\njobs:\n  theirs:\n    runs-on: ubuntu-latest\n    steps:\n      - run: x\n"
    repo = _with_submodule(tmp_path, ".github/workflows", {"ci.yml": theirs})

    result = adopt(repo, overrides={"test_command": "make test"})

    assert status(repo / ".github/workflows") == []
    assert (repo / ".github/workflows/ci.yml").read_text() == theirs
    assert sorted(status(repo)) == [
        "?? .copier-answers.yml",
        "?? .github/dependabot.yml",
        "?? .mlrig/sync-requirements.txt",
        "?? .mlrig/template-sync.sh",
    ]
    _left_alone(result, ".github/workflows/ci.yml", ".github/workflows")
    _left_alone(result, ".github/workflows/template-sync.yml", ".github/workflows")
    # update never renders them: they are the repository's own.
    assert ".github/workflows/ci.yml" in getattr(result.answers, "own_files", ())


def test_adopt_from_a_house_template_leaves_a_submodule_at_tests_unchanged(
    tmp_path: Path,
) -> None:
    house = TemplateRepo(tmp_path / "house")
    house.release(
        "v1.0.0",
        "project_name:\n  type: str\n  default: demo\n",
        {"tests/test_smoke.py": "def test_smoke(): pass\n", "NOTES.md": "notes\n"},
    )
    repo = _with_submodule(tmp_path, "tests", {"test_theirs.py": "def test_x(): pass\n"})

    result = adopt(repo, template=parse_template_spec(str(house.path)))

    assert status(repo / "tests") == []
    assert not (repo / "tests/test_smoke.py").exists()
    assert sorted(status(repo)) == ["?? .copier-answers.yml", "?? NOTES.md"]
    _left_alone(result, "tests/test_smoke.py", "tests")


# --- A document start, directives and `...`: mlrig's jobs go inside the document ----------


@pytest.mark.parametrize("gitlab", [False, True], ids=["github", "gitlab"])
def test_a_pipeline_with_a_yaml_directive_and_document_markers_gets_the_jobs_inside(
    gitlab: bool,
) -> None:
    body = (
        "unit:\n  stage: test\n  script: [pytest]\n"
        if gitlab
        else "on: push\njobs:\n  unit:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: pytest\n"
    )
    user = "%YAML 1.1\n--- # our pipeline\n" + body + "... # end\n# notes after the document\n"

    merged = _merge(user, gitlab)

    assert merged.startswith("%YAML 1.1\n--- # our pipeline\n" + body.rstrip("\n"))
    assert merged.endswith("\n... # end\n# notes after the document\n")
    jobs = load(merged) if gitlab else load(merged)["jobs"]
    assert {"unit", "train"} <= set(jobs)
