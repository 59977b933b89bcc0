"""End-to-end: the template-sync job of both providers, run on this machine.

A release of mlrig is made in the test: a copy of this source tree whose built-in
template bundle gains two patch releases after this mlrig's own, BEHIND (the template
as edited here) and CURRENT (the same with one more README line), and whose version is
CURRENT, built into a wheel with ``python -m build``. Projects are rendered from that
bundle at BEHIND or CURRENT, and their ``.mlrig/sync-requirements.txt`` pins mlrig
CURRENT with the hashes of
that wheel and of its dependencies (:func:`mlrig._syncpin.lock_sync_pin` with the wheel
directory as find-links, as a Dependabot bump would leave it). The jobs install mlrig
from that wheel (``PIP_FIND_LINKS``) and their dependencies from the package registry.

- GitHub: act runs ``.github/workflows/template-sync.yml`` for ``workflow_dispatch`` in
  host mode (tests/test_e2e_github.py); the create-pull-request stub pushes the branch
  to the project's local bare remote and records the pull request's payload.
- GitLab: gitlab-ci-local runs the ``template-sync`` job with the shell executor for a
  schedule pipeline; git's ``insteadOf`` sends the job's push (to the URL it builds from
  CI_SERVER_URL and MLRIG_SYNC_TOKEN) to the local bare remote, whose pre-receive hook
  records the push options that create the merge request.

Each provider: behind opens the request, conflicts open it marked (a draft on GitLab),
current does nothing, and a pin without hashes, a hash mismatch and a damaged answers
file each fail the job with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from mlrig import new
from mlrig._syncpin import SYNC_REQUIREMENTS, lock_sync_pin
from mlrig._version import __version__
from mlrig.templates import BUNDLE_NAME, TemplateSpec
from tests.conftest import locking, make_answers
from tests.templaterepo import git
from tests.test_e2e_github import STUBS, ActRun, action_stubs, run_act
from tests.test_e2e_gitlab import GITLAB_CI_LOCAL, jobs_venv

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
# Two releases after this mlrig's own: BEHIND is the template as edited here, CURRENT
# the same with one README line more.
_MAJOR, _MINOR, _PATCH = (int(part) for part in __version__.split("."))
BEHIND, CURRENT = f"{_MAJOR}.{_MINOR}.{_PATCH + 1}", f"{_MAJOR}.{_MINOR}.{_PATCH + 2}"
NEW_LINE = f"A line that template v{CURRENT} adds."
BRANCH = "mlrig/template-sync"
#: Where the GitLab job pushes: CI_SERVER_URL and CI_PROJECT_PATH from the origin below.
GITLAB_ORIGIN = "git@gitlab.example.com:group/demo-model.git"
SYNC_TOKEN = "glpat-e2e"
GITLAB_PUSH_URL = f"https://mlrig-sync:{SYNC_TOKEN}@gitlab.example.com/group/demo-model.git"


@dataclass(frozen=True)
class Release:
    """The mlrig release made in the test: its template bundle, wheel and hashed pin."""

    bundle: Path
    wheels: Path
    pin: str


def _release_history(bundle: Path, work: Path) -> Path:
    """The released bundle plus BEHIND (this template) and CURRENT (one README line more)."""
    repo = work / "history"
    git(work, "clone", "--quiet", str(ROOT / "templates" / BUNDLE_NAME), str(repo))
    git(repo, "checkout", "--quiet", "-B", "main", "origin/main")
    for version in (BEHIND, CURRENT):
        for entry in repo.iterdir():
            if entry.name != ".git":
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        shutil.copytree(ROOT / "templates" / "ml", repo, dirs_exist_ok=True)
        if version == CURRENT:
            with (repo / "project" / "README.md.jinja").open("a", encoding="utf-8") as f:
                f.write(f"\n{NEW_LINE}\n")
        git(repo, "add", "--all")
        # BEHIND holds what the newest release may hold already: a release of its own still.
        git(repo, "commit", "--quiet", "--allow-empty", "-m", f"template v{version}")
        git(repo, "tag", f"v{version}")
    git(repo, "bundle", "create", "--quiet", str(bundle), "HEAD", "main", "--tags")
    return bundle


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    """mlrig CURRENT as a wheel whose bundle's newest template version is CURRENT."""
    work = tmp_path_factory.mktemp("release")
    source = work / "mlrig"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", BUNDLE_NAME)
    shutil.copytree(ROOT / "src", source / "src", ignore=ignore)
    shutil.copytree(ROOT / "templates", source / "templates", ignore=ignore)
    bundle = _release_history(source / "templates" / BUNDLE_NAME, work)
    (source / "src" / "mlrig" / "_version.py").write_text(f'__version__ = "{CURRENT}"\n')
    wheels = work / "wheels"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(wheels), str(source)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    assert [p.name for p in wheels.glob("*.whl")] == [f"mlrig-{CURRENT}-py3-none-any.whl"]
    # The pin, as `lock_sync_pin` writes it for mlrig CURRENT found in the wheel directory.
    scratch = work / "pin"
    (scratch / SYNC_REQUIREMENTS).parent.mkdir(parents=True)
    (scratch / SYNC_REQUIREMENTS).write_text(f"# pin\nmlrig=={CURRENT}\n")
    with locking():
        lock_sync_pin(scratch, PYTHON, find_links=wheels)
    return Release(bundle, wheels, (scratch / SYNC_REQUIREMENTS).read_text())


def make_project(
    root: Path, release: Release, provider: str, version: str, *, origin: str | None = None
) -> tuple[Path, Path]:
    """A project on template ``version`` with the release's pin, and its bare remote."""
    project = root / "demo-model"
    answers = make_answers(ci_provider=provider, python_version=PYTHON, framework="none")
    new(
        project,
        answers=answers.to_data(),
        template=TemplateSpec(str(release.bundle), f"v{version}"),
    )
    (project / SYNC_REQUIREMENTS).write_text(release.pin, encoding="utf-8")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "-m", "Pin mlrig for the template sync")
    remote = root / "remote.git"
    git(root, "init", "--quiet", "--bare", str(remote))
    git(project, "remote", "add", "origin", origin or str(remote))
    git(project, "push", "--quiet", str(remote), "main")
    return project, remote


def _branches(remote: Path) -> list[str]:
    return git(remote, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


def _damage_answers(project: Path) -> None:
    (project / ".copier-answers.yml").write_text("framework: [unclosed\n", encoding="utf-8")


def _drop_hashes(project: Path) -> None:
    (project / SYNC_REQUIREMENTS).write_text(f"mlrig=={CURRENT}\n", encoding="utf-8")


def _wrong_hash(project: Path) -> None:
    path = project / SYNC_REQUIREMENTS
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("mlrig=="))
    # Every hash of the mlrig requirement (its continuation lines) becomes a wrong one.
    for i in range(at + 1, len(lines)):
        if "--hash=sha256:" not in lines[i]:
            break
        lines[i] = (
            lines[i].split("--hash=sha256:")[0]
            + "--hash=sha256:"
            + "0" * 64
            + (" \\\n" if lines[i].rstrip().endswith("\\") else "\n")
        )
    path.write_text("".join(lines), encoding="utf-8")


def _own_last_readme_line(project: Path) -> None:
    """The project's own last README line, where template CURRENT adds one: a conflict."""
    with (project / "README.md").open("a", encoding="utf-8") as f:
        f.write("\nOur own last line.\n")


def _commit(project: Path, change: Callable[[Path], None]) -> None:
    change(project)
    git(project, "commit", "--quiet", "--all", "-m", "break it")


#: A red job's scenario: what breaks, and the reason the log must give.
RED = {
    "no-hash": (
        _drop_hashes,
        "no verified pin: .mlrig/sync-requirements.txt names mlrig without a --hash",
    ),
    "hash-mismatch": (
        _wrong_hash,
        "cannot install the mlrig pinned in .mlrig/sync-requirements.txt",
    ),
    "damaged-answers": (_damage_answers, "mlrig update: invalid input (exit code 2)"),
}


def _find_links(release: Release) -> str:
    return " ".join(filter(None, [str(release.wheels), os.environ.get("PIP_FIND_LINKS")]))


# --- GitHub (act) ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def pip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sync-package-cache")


#: The inputs of peter-evans/create-pull-request v8.1.1 (its action.yml).
CREATE_PULL_REQUEST_INPUTS = [
    "token",
    "branch-token",
    "path",
    "add-paths",
    "commit-message",
    "committer",
    "author",
    "signoff",
    "branch",
    "delete-branch",
    "branch-suffix",
    "base",
    "push-to-fork",
    "sign-commits",
    "title",
    "body",
    "body-path",
    "labels",
    "assignees",
    "reviewers",
    "team-reviewers",
    "milestone",
    "draft",
    "maintainer-can-modify",
]


def test_the_stubs_accept_what_the_sync_workflow_passes(release: Release, tmp_path: Path) -> None:
    project, _ = make_project(tmp_path, release, "github", CURRENT)
    workflow = project / ".github" / "workflows" / "template-sync.yml"
    steps = yaml.safe_load(workflow.read_text())["jobs"]["sync"]["steps"]
    stubs = action_stubs(workflow)  # raises if one is missing
    for step in steps:
        if step.get("uses") in stubs:
            stub = yaml.safe_load((stubs[step["uses"]] / "action.yml").read_text())
            assert set(step.get("with", {})) <= set(stub["inputs"]), step["uses"]
    stub = STUBS / "peter-evans__create-pull-request" / "action.yml"
    assert list(yaml.safe_load(stub.read_text())["inputs"]) == CREATE_PULL_REQUEST_INPUTS


def run_github(project: Path, release: Release, work: Path, cache: Path) -> ActRun:
    return run_act(
        project,
        "sync",
        work,
        cache,
        project / ".github" / "workflows" / "template-sync.yml",
        event="workflow_dispatch",
        payload={"repository": {"default_branch": "main"}},
        env={"PIP_FIND_LINKS": _find_links(release)},
    )


def test_github_sync_opens_the_pull_request_when_behind(
    release: Release, pip_cache: Path, tmp_path: Path
) -> None:
    project, remote = make_project(tmp_path, release, "github", BEHIND)
    run = run_github(project, release, tmp_path / "act", pip_cache)
    run.check(run.job_results == {"sync": "success"}, "the sync job must pass")
    payload = json.loads((run.artifacts / "pull-request.json").read_text())
    assert payload["head"] == BRANCH
    assert payload["title"] == "Update from the mlrig template"
    assert "brought this repository up to date" in payload["body"]
    assert BRANCH in _branches(remote)
    readme = git(remote, "show", f"{BRANCH}:README.md")
    assert NEW_LINE in readme
    answers = git(remote, "show", f"{BRANCH}:.copier-answers.yml")
    assert f"_commit: v{CURRENT}" in answers


def test_github_sync_opens_the_pull_request_marked_when_conflicts_are_left(
    release: Release, pip_cache: Path, tmp_path: Path
) -> None:
    project, remote = make_project(tmp_path, release, "github", BEHIND)
    _commit(project, _own_last_readme_line)
    run = run_github(project, release, tmp_path / "act", pip_cache)
    run.check(run.job_results == {"sync": "success"}, "the sync job must pass")
    payload = json.loads((run.artifacts / "pull-request.json").read_text())
    assert payload["title"] == "Update from the mlrig template (conflicts to resolve in 1 file)"
    assert "- `README.md`" in payload["body"]
    readme = git(remote, "show", f"{BRANCH}:README.md")
    assert "<<<<<<< before updating" in readme
    assert NEW_LINE in readme


def test_github_sync_does_nothing_when_current(
    release: Release, pip_cache: Path, tmp_path: Path
) -> None:
    project, remote = make_project(tmp_path, release, "github", CURRENT)
    run = run_github(project, release, tmp_path / "act", pip_cache)
    run.check(run.job_results == {"sync": "success"}, "the sync job must pass")
    run.check("Already up to date with the template" in run.output("sync"), "no 'up to date'")
    assert not (run.artifacts / "pull-request.json").exists()
    assert _branches(remote) == ["main"]


@pytest.mark.parametrize("scenario", list(RED))
def test_github_sync_is_red_when_mlrig_cannot_run(
    scenario: str, release: Release, pip_cache: Path, tmp_path: Path
) -> None:
    change, reason = RED[scenario]
    project, remote = make_project(tmp_path, release, "github", BEHIND)
    _commit(project, change)
    run = run_github(project, release, tmp_path / "act", pip_cache)
    run.check(run.job_results == {"sync": "failure"}, "the sync job must fail")
    run.check(f"::error title=Template sync::{reason}" in run.log("sync"), f"no {reason!r}")
    assert "Already up to date" not in run.output("sync")
    assert not (run.artifacts / "pull-request.json").exists()
    assert _branches(remote) == ["main"]


# --- GitLab (gitlab-ci-local) ---------------------------------------------------------

_PRE_RECEIVE = """#!/bin/sh
# Records the push options of every push (the merge request GitLab would open).
: > "$GIT_DIR/push-options"
i=0
while [ "$i" -lt "${GIT_PUSH_OPTION_COUNT:-0}" ]; do
  eval "printf '%s\\n' \\"\\$GIT_PUSH_OPTION_$i\\"" >> "$GIT_DIR/push-options"
  i=$((i + 1))
done
"""


@dataclass(frozen=True)
class GitlabRun:
    returncode: int
    output: str
    log: str


def run_gitlab(project: Path, remote: Path, release: Release, work: Path, cache: Path) -> GitlabRun:
    """The template-sync job of a schedule pipeline whose SCHEDULE_TASK is template-sync."""
    if not GITLAB_CI_LOCAL.is_file():
        pytest.fail(f"{GITLAB_CI_LOCAL} is missing: npm ci in the repository root")
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(_PRE_RECEIVE)
    hook.chmod(0o755)
    git(remote, "config", "receive.advertisePushOptions", "true")
    home = work / "home"
    home.mkdir(parents=True)
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(f'[url "{remote}"]\n\tinsteadOf = {GITLAB_PUSH_URL}\n')
    venv_bin = jobs_venv(work / "venv")
    dropped = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_CACHE_DIR")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in dropped and not k.startswith(("PYTEST_", "GCL_"))
    }
    outer = {str(Path(sys.executable).parent)}
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p not in outer]
    env.update(
        HOME=str(home),
        GIT_CONFIG_GLOBAL=str(gitconfig),
        PATH=os.pathsep.join([str(venv_bin), *path]),
        PIP_FIND_LINKS=_find_links(release),
        PIP_CACHE_DIR=str(cache / "pip"),
    )
    argv = [
        str(GITLAB_CI_LOCAL),
        "--home",
        str(work / "gcl-home"),
        "--force-shell-executor",
        "--shell-isolation",
        "--no-color",
        "--variable",
        "SCHEDULE_TASK=template-sync",
        "--variable",
        "CI_PIPELINE_SOURCE=schedule",
        "--variable",
        f"MLRIG_SYNC_TOKEN={SYNC_TOKEN}",
        "template-sync",
    ]
    proc = subprocess.run(
        argv,
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        env=env,
        timeout=900,
    )
    log_file = project / ".gitlab-ci-local" / "output" / "template-sync.log"
    log = log_file.read_text(errors="replace") if log_file.is_file() else ""
    return GitlabRun(proc.returncode, proc.stdout, log)


def _gitlab_project(tmp_path: Path, release: Release, version: str) -> tuple[Path, Path]:
    return make_project(tmp_path, release, "gitlab", version, origin=GITLAB_ORIGIN)


def test_gitlab_sync_opens_the_merge_request_when_behind(
    release: Release, pip_cache: Path, tmp_path: Path
) -> None:
    project, remote = _gitlab_project(tmp_path, release, BEHIND)
    run = run_gitlab(project, remote, release, tmp_path / "gcl", pip_cache)
    assert run.returncode == 0, run.output[-6000:]
    assert BRANCH in _branches(remote), run.output[-6000:]
    assert NEW_LINE in git(remote, "show", f"{BRANCH}:README.md")
    options = (remote / "push-options").read_text().splitlines()
    assert "merge_request.create" in options
    assert "merge_request.target=main" in options
    assert "merge_request.title=Update from the mlrig template" in options
    description = next(o for o in options if o.startswith("merge_request.description="))
    assert "brought this repository up to date" in description
    assert "\n" not in description


def test_gitlab_sync_opens_a_draft_merge_request_when_conflicts_are_left(
    release: Release, pip_cache: Path, tmp_path: Path
) -> None:
    project, remote = _gitlab_project(tmp_path, release, BEHIND)
    _commit(project, _own_last_readme_line)
    run = run_gitlab(project, remote, release, tmp_path / "gcl", pip_cache)
    assert run.returncode == 0, run.output[-6000:]
    options = (remote / "push-options").read_text().splitlines()
    title = "Draft: Update from the mlrig template (conflicts to resolve in 1 file)"
    assert f"merge_request.title={title}" in options
    assert "<<<<<<< before updating" in git(remote, "show", f"{BRANCH}:README.md")


def test_gitlab_sync_does_nothing_when_current(
    release: Release, pip_cache: Path, tmp_path: Path
) -> None:
    project, remote = _gitlab_project(tmp_path, release, CURRENT)
    run = run_gitlab(project, remote, release, tmp_path / "gcl", pip_cache)
    assert run.returncode == 0, run.output[-6000:]
    assert "Already up to date with the template" in run.output
    assert _branches(remote) == ["main"]
    assert not (remote / "push-options").exists()


@pytest.mark.parametrize("scenario", list(RED))
def test_gitlab_sync_is_red_when_mlrig_cannot_run(
    scenario: str, release: Release, pip_cache: Path, tmp_path: Path
) -> None:
    change, reason = RED[scenario]
    project, remote = _gitlab_project(tmp_path, release, BEHIND)
    _commit(project, change)
    run = run_gitlab(project, remote, release, tmp_path / "gcl", pip_cache)
    assert run.returncode != 0, run.output[-6000:]
    assert f"ERROR: {reason}" in run.output, run.output[-6000:]
    assert "Already up to date" not in run.output
    assert _branches(remote) == ["main"]
