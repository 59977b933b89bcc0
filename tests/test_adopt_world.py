"""`mlrig adopt` on the world gallery (tests/world.py): pipeline, not project.

For every gallery repository, as a user would check it after ``mlrig adopt``:

- adopt succeeds;
- no byte of a file the repository had changes, except lines inserted into the
  pipelines mlrig merges into (in the file's own line endings; a last line without
  a newline may only gain one);
- the files added are pipeline files, mlrig's own ``.mlrig/`` tools and the answers
  file: no package code, tests, data, pyproject.toml or setup.*;
- nothing is written into a gitignored path;
- every stage the repository has no command for is left out (no job for it) and the
  output names the ``-d KEY=VALUE`` (or, for the image, the Dockerfile) that turns
  it on; the expected jobs are there;
- no job mlrig adds runs a deploy or cleanup line (ssh, scp, rm -rf ...);
- a scheduled pipeline runs no user job (GitLab: gitlab-ci-local's listing of a
  ``schedule`` pipeline, e2e and slow; GitHub: a workflow mlrig gives a schedule holds only
  mlrig's jobs);
- the next template release applied with ``mlrig update`` changes no pre-existing
  file (slow);
- the repository's own tests still pass, and its wheel holds the same files (slow).
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlrig.commands.update import update
from mlrig.templates import builtin_bundle
from tests.conftest import once_per_session, run_cli
from tests.templaterepo import commit_project, git, status
from tests.test_e2e_gitlab import GitlabCiLocal, _listed_jobs, gitlab_ci_local
from tests.world import REPOS, STAGE_FILES, STAGE_JOBS, STAGE_KEYS, WorldRepo, make_repo

__all__ = ["gitlab_ci_local"]  # the session fixture, re-exported for pytest

NAMES = sorted(REPOS)
BIN = Path(sys.executable).parent
#: What adopt may add to a repository: its pipelines, mlrig's tools, the answers file.
ALLOWED_NEW = (
    ".github/workflows/*.yml",
    ".github/workflows/*.yaml",
    ".github/dependabot.yml",
    ".github/actionlint.yaml",
    ".gitlab-ci.yml",
    ".mlrig/*",
    ".copier-answers.yml",
)
#: Lines no stage of mlrig's may run: deploys, uploads, cleanups, credentials.
DEPLOY_LINES = re.compile(
    r"\bssh(-agent|-add)?\b|\bscp\b|\brm -rf\b|twine upload|gh release|docker push|kubectl"
)
_GITLAB_KEYWORDS = frozenset(
    {
        "default",
        "include",
        "stages",
        "variables",
        "workflow",
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
        "spec",
    }
)


# -- reading repositories and pipelines ----------------------------------------------


def files_of(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``root`` but .git: its mode and bytes."""
    found: dict[str, tuple[int, bytes]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            path = Path(dirpath, name)
            found[path.relative_to(root).as_posix()] = (path.lstat().st_mode, path.read_bytes())
    return found


class _TolerantLoader(yaml.SafeLoader):
    """PyYAML's safe loader that reads GitLab's ``!reference`` (and any tag) as None."""


_TolerantLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _load(text: bytes) -> Any:
    return yaml.load(text, Loader=_TolerantLoader)


def pipeline_jobs(files: dict[str, tuple[int, bytes]]) -> dict[str, dict[str, Any]]:
    """``"<provider>:<file>:<job>"`` -> the job's mapping, for every CI file in ``files``."""
    jobs: dict[str, dict[str, Any]] = {}
    for path, (_, content) in files.items():
        if fnmatch(path, ".github/workflows/*.y*ml"):
            data = _load(content) or {}
            for name, job in (data.get("jobs") or {}).items():
                jobs[f"github:{path}:{name}"] = job
        elif path == ".gitlab-ci.yml" or (path.endswith((".yml", ".yaml")) and _is_include(path)):
            data = _load(content) or {}
            if not isinstance(data, dict):
                continue
            for name, job in data.items():
                if name not in _GITLAB_KEYWORDS and not str(name).startswith("."):
                    jobs[f"gitlab:{path}:{name}"] = job
    return jobs


def _is_include(path: str) -> bool:
    # The gallery's GitLab repositories keep their local includes under ci/.
    return path.startswith("ci/")


def job_names(jobs: dict[str, dict[str, Any]], provider: str | None = None) -> set[str]:
    return {key.split(":")[2] for key in jobs if provider is None or key.startswith(provider)}


def _schedule_of(content: bytes) -> bool:
    data = _load(content) or {}
    triggers = data.get("on", data.get(True))  # PyYAML reads a bare `on` key as True
    return isinstance(triggers, dict) and "schedule" in triggers


def inserted_lines(before: bytes, after: bytes) -> list[bytes]:
    """The lines ``after`` inserts into ``before``; fails if any line of ``before`` changed.

    A last line without a newline may gain one (the file's own line ending), and
    nothing else; lines are compared with their endings, so a CRLF line stays CRLF.
    """
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(
        None, [x.rstrip(b"\r\n") for x in old], [x.rstrip(b"\r\n") for x in new], autojunk=False
    )
    inserted: list[bytes] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        assert tag in ("equal", "insert"), f"user lines changed: {old[i1:i2]!r} -> {new[j1:j2]!r}"
        if tag == "insert":
            inserted.extend(new[j1:j2])
            continue
        for index, (mine, theirs) in enumerate(zip(old[i1:i2], new[j1:j2], strict=True)):
            unterminated_last = i1 + index == len(old) - 1 and not mine.endswith((b"\n", b"\r"))
            assert mine == theirs or (unterminated_last and theirs.rstrip(b"\r\n") == mine), (
                f"user line changed: {mine!r} -> {theirs!r}"
            )
    return inserted


# -- adopting, once per repository and module ------------------------------------------


@dataclass(frozen=True)
class Adopted:
    """A gallery repository before and after ``mlrig adopt``."""

    world: WorldRepo
    repo: Path
    before: dict[str, tuple[int, bytes]]
    after: dict[str, tuple[int, bytes]]
    exit_code: int
    output: str

    @property
    def added(self) -> set[str]:
        return set(self.after) - set(self.before)

    @property
    def mlrig_jobs(self) -> dict[str, dict[str, Any]]:
        """The jobs adopt added (not in the repository before), by provider:file:job."""
        before = pipeline_jobs(self.before)
        return {k: v for k, v in pipeline_jobs(self.after).items() if k not in before}

    @property
    def user_jobs(self) -> set[str]:
        return job_names(pipeline_jobs(self.before))


def adopt_repo(name: str, dest: Path, *args: str) -> Adopted:
    repo = make_repo(name, dest)
    before = files_of(repo)
    result = run_cli("adopt", str(repo), *args)
    return Adopted(
        REPOS[name],
        repo,
        before,
        files_of(repo),
        result.exit_code,
        result.output + result.stderr,
    )


@pytest.fixture(scope="module")
def adopted(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Adopted]:
    """Each gallery repository adopted once per session, for every worker (the checks
    below only read it)."""
    made: dict[str, Adopted] = {}

    def _get(name: str) -> Adopted:
        if name not in made:
            made[name] = once_per_session(
                tmp_path_factory, f"adopted-{name}", lambda folder: adopt_repo(name, folder)
            )
        return made[name]

    return _get


# -- the fast checks --------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_adopt_succeeds(adopted: Callable[[str], Adopted], name: str) -> None:
    result = adopted(name)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", NAMES)
def test_no_user_byte_changes_but_lines_inserted_into_pipelines(
    adopted: Callable[[str], Adopted], name: str
) -> None:
    result = adopted(name)
    crlf_style = result.world.crlf
    for path, (mode, content) in result.before.items():
        assert path in result.after, f"{path} was deleted"
        new_mode, new_content = result.after[path]
        assert new_mode == mode, f"{path}: mode changed"
        if new_content == content:
            continue
        assert fnmatch(path, ".github/workflows/*") or path == ".gitlab-ci.yml", f"{path} changed"
        inserted = inserted_lines(content, new_content)
        assert inserted, path
        for line in inserted:
            if crlf_style:
                assert line.endswith(b"\r\n") or line == inserted[-1], f"{path}: LF in {line!r}"
                assert b"\n" not in line.rstrip(b"\r\n"), line
            else:
                assert b"\r" not in line, f"{path}: CR in an LF file: {line!r}"


@pytest.mark.parametrize("name", NAMES)
def test_adopt_adds_only_pipelines_and_mlrig_tools(
    adopted: Callable[[str], Adopted], name: str
) -> None:
    result = adopted(name)
    strays = sorted(p for p in result.added if not any(fnmatch(p, g) for g in ALLOWED_NEW))
    assert strays == [], f"adopt wrote files of a project into {name}: {strays}"
    assert ".copier-answers.yml" in result.added


@pytest.mark.parametrize("name", NAMES)
def test_nothing_is_written_into_a_gitignored_path(
    adopted: Callable[[str], Adopted], name: str
) -> None:
    result = adopted(name)
    changed = sorted(
        result.added | {p for p in result.before if result.after.get(p) != result.before[p]}
    )
    proc = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"],
        cwd=result.repo,
        input="\n".join(changed),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout.split() == [], f"written into gitignored paths: {proc.stdout}"


@pytest.mark.parametrize("name", NAMES)
def test_stages_without_a_command_are_left_out_and_named(
    adopted: Callable[[str], Adopted], name: str
) -> None:
    result = adopted(name)
    added = job_names(result.mlrig_jobs, result.world.provider)
    for stage in result.world.left_out:
        job = STAGE_JOBS[result.world.provider].get(stage)
        assert job is None or job not in added, f"{stage} has no command, yet job {job} was added"
        turns_on = (
            rf"add a {STAGE_FILES[stage]}\b"
            if stage in STAGE_FILES
            else rf"-d {STAGE_KEYS[stage]}="
        )
        assert re.search(turns_on, result.output), (
            f"the output does not say how to turn {stage} on:\n{result.output}"
        )


@pytest.mark.parametrize("name", NAMES)
def test_the_expected_jobs_are_added(adopted: Callable[[str], Adopted], name: str) -> None:
    result = adopted(name)
    added = job_names(result.mlrig_jobs, result.world.provider)
    expected = {STAGE_JOBS[result.world.provider][stage] for stage in result.world.jobs}
    assert expected <= added, f"missing {expected - added}; added {sorted(added)}"


@pytest.mark.parametrize("name", NAMES)
def test_no_mlrig_job_runs_a_deploy_or_cleanup_line(
    adopted: Callable[[str], Adopted], name: str
) -> None:
    for key, job in adopted(name).mlrig_jobs.items():
        text = yaml.safe_dump(job)
        assert not DEPLOY_LINES.search(text), f"{key} runs {DEPLOY_LINES.search(text)}:\n{text}"


@pytest.mark.parametrize("name", [n for n in NAMES if REPOS[n].python])
def test_the_repository_python_is_the_pipeline_python(
    adopted: Callable[[str], Adopted], name: str
) -> None:
    result = adopted(name)
    answers = yaml.safe_load(result.after[".copier-answers.yml"][1])
    assert str(answers["python_version"]) == result.world.python


@pytest.mark.parametrize("name", [n for n in NAMES if REPOS[n].provider == "github"])
def test_a_github_schedule_mlrig_adds_runs_only_mlrig_jobs(
    adopted: Callable[[str], Adopted], name: str
) -> None:
    result = adopted(name)
    mlrig = result.mlrig_jobs
    for path, (_, content) in result.after.items():
        if not fnmatch(path, ".github/workflows/*.y*ml") or not _schedule_of(content):
            continue
        had_schedule = path in result.before and _schedule_of(result.before[path][1])
        if had_schedule:
            continue
        workflow_jobs = set(pipeline_jobs({path: (0, content)}))
        users = sorted(k for k in workflow_jobs if k not in mlrig)
        assert users == [], f"{path}: mlrig's schedule would run the user's jobs {users}"


@pytest.mark.e2e
@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in NAMES if REPOS[n].provider == "gitlab"])
def test_a_scheduled_gitlab_pipeline_lists_no_user_job(
    adopted: Callable[[str], Adopted], gitlab_ci_local: GitlabCiLocal, name: str
) -> None:
    result = adopted(name)
    assert result.exit_code == 0, result.output
    quiet = ["--ignore-predefined-vars", "CI_PIPELINE_SOURCE", "--no-json-schema-validation"]
    listed = gitlab_ci_local.inspect(
        result.repo, "--list-csv", *quiet, "--variable", "CI_PIPELINE_SOURCE=schedule"
    )
    shutil.rmtree(result.repo / ".gitlab-ci-local", ignore_errors=True)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    scheduled = set(_listed_jobs(listed))
    users = scheduled & result.user_jobs
    mlrig = scheduled - result.user_jobs
    if mlrig:
        assert users == set(), f"a schedule for {sorted(mlrig)} also runs {sorted(users)}"
    else:
        # No schedule job was added: adopt must say which user jobs would run, and why.
        for job in sorted(users):
            assert job in result.output, f"adopt does not name {job}:\n{result.output}"


# -- update to the next template release (slow) ----------------------------------------


def next_release(tmp_path: Path) -> Path:
    """A clone of the built-in template with a v99.0.0 that changes mlrig's job timeouts."""
    clone = tmp_path / "template"
    git(tmp_path, "clone", "--quiet", str(builtin_bundle()), str(clone))
    tags = git(clone, "tag", "--list", "v*", "--sort=-v:refname").splitlines()
    git(clone, "checkout", "--quiet", "-B", "next", tags[0])
    changed = 0
    for source in (clone / "project").rglob("*.jinja"):
        text = source.read_text(encoding="utf-8")
        bumped = re.sub(r"(timeout-minutes: |timeout: )(\d+)", _add_fifteen, text, count=1)
        if bumped != text:
            source.write_text(bumped, encoding="utf-8")
            changed += 1
    assert changed, "no job timeout in the template to change: update next_release()"
    commit_project(clone, "next version")
    git(clone, "tag", "v99.0.0")
    return clone


def _add_fifteen(match: re.Match[str]) -> str:
    return f"{match.group(1)}{int(match.group(2)) + 15}"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_update_to_the_next_release_keeps_every_pre_existing_file(
    tmp_path: Path, name: str
) -> None:
    result = adopt_repo(name, tmp_path / "work")
    assert result.exit_code == 0, result.output
    commit_project(result.repo, "adopt mlrig")
    template = next_release(tmp_path)
    answers = result.repo / ".copier-answers.yml"
    answers.write_text(
        re.sub(r"^_src_path: .*$", f"_src_path: {template}", answers.read_text(), flags=re.M)
    )
    commit_project(result.repo, "point at the next release")

    updated = update(result.repo)

    assert updated.to_version == "v99.0.0"
    assert updated.conflicts == ()
    after = files_of(result.repo)
    for path, (mode, content) in result.before.items():
        if after[path] == (mode, content):
            continue
        assert fnmatch(path, ".github/workflows/*") or path == ".gitlab-ci.yml", f"{path} changed"
        inserted_lines(content, after[path][1])
    markers = [p for p, (_, c) in after.items() if re.search(rb"^<<<<<<< ", c, re.M)]
    assert markers == []
    strays = sorted(
        p for p in set(after) - set(result.before) if not any(fnmatch(p, g) for g in ALLOWED_NEW)
    )
    assert strays == []


# -- the repository's own tests and package (slow) -------------------------------------


def _own_env(tmp_path: Path) -> dict[str, str]:
    """A fresh venv (with pip) first on PATH, without this test run's Python settings."""
    target = tmp_path / "own-venv"
    subprocess.run(
        [str(BIN / "uv"), "venv", "--quiet", "--seed", "--python", sys.executable, str(target)],
        check=True,
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["VIRTUAL_ENV"] = str(target)
    env["PATH"] = f"{target / 'bin'}{os.pathsep}{env['PATH']}"
    return env


def _wheel_files(repo: Path, out: Path) -> list[str]:
    """The file list of the wheel ``python -m build --wheel`` makes of ``repo``'s HEAD."""
    checkout = out / "checkout"
    out.mkdir(parents=True)
    git(out, "clone", "--quiet", str(repo), str(checkout))
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out / "dist"), str(checkout)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (wheel,) = (out / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return sorted(archive.namelist())


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_own_tests_still_pass_and_the_wheel_is_the_same(tmp_path: Path, name: str) -> None:
    world = REPOS[name]
    wheel_before = (
        _wheel_files(make_repo(name, tmp_path / "pristine"), tmp_path / "before")
        if world.wheel
        else []
    )
    result = adopt_repo(name, tmp_path / "work")
    assert result.exit_code == 0, result.output
    commit_project(result.repo, "adopt mlrig")
    assert status(result.repo) == []

    env = _own_env(tmp_path)
    proc = subprocess.run(
        f"{world.install} && {world.test}",
        shell=True,
        cwd=result.repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    if world.wheel:
        assert _wheel_files(result.repo, tmp_path / "after") == wheel_before
