"""End-to-end: a generated project's GitHub Actions pipeline, run on this machine by act.

How a run works:

- ``mlrig.new`` renders a project (``ci_provider=github``, this interpreter's Python)
  into a git repository; break scenarios clone it and commit one breakage.
- act runs ``.github/workflows/ci.yml`` for a ``push`` in host mode
  (``-P ubuntu-latest=-self-hosted``): every step is a process on this machine, in act's
  own copy of the work tree. act handles ``actions/checkout`` itself (it copies the
  tree); every other action is mapped with ``--local-repository owner/name@REF=DIR`` to
  an offline stub in ``tests/act_stubs/<owner>__<name>/``, REF read from the rendered
  workflow. The stubs put this environment's uv / a venv of this Python on PATH and
  "upload" artifacts into a directory the test inspects; nothing else is downloaded.
- Dependencies go into throwaway environments: uv's ``.venv`` in act's copy of the
  tree, the setup-python stub's venv in the job's temporary directory. Only package
  registries are contacted (uv, pip); their caches are shared by every run of the
  session, as a self-hosted runner's would be.
- act's own files (HOME, ``--action-cache-path``, ``--cache-server-path``) live under
  the test's temporary directory; the project's work tree is never written.
- The ``docker`` job needs a Docker engine (buildx, build-push) and is never run here:
  each act call selects a job with ``-j`` (act adds the jobs it ``needs``), so act does
  not resolve the docker actions either. tests/test_template_matrix.py validates that job
  statically.

act 0.2.89 empties ``$GITHUB_STEP_SUMMARY`` before every step and never shows it, so the
gate's table is asserted in the gate step's log: ``evaluate.py`` prints the very string
it appends to the summary file, and exits 2 if it cannot append it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlrig import builtin_template, new
from tests.conftest import locking, make_answers
from tests.templaterepo import git

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

STUBS = Path(__file__).resolve().parent / "act_stubs"
BIN = Path(sys.executable).parent
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
PACKAGE = "demo_model"
WORKFLOW = Path(".github/workflows/ci.yml")
SYNC_WORKFLOW = Path(".github/workflows/template-sync.yml")
MONITOR_WORKFLOW = Path(".github/workflows/monitor.yml")
#: The jobs that run without a Docker engine; the others need one.
LOCAL_JOBS = ("lint", "test", "data", "train")
DOCKER_JOBS = ("docker",)
#: Environment variables of this process that must not reach the pipeline's steps
#: (GitHub's runners do not set PYTHONDONTWRITEBYTECODE either).
PRIVATE_ENV = (
    "VIRTUAL_ENV",
    "PYTHONHOME",
    "PYTHONPATH",
    "PYTHONDONTWRITEBYTECODE",
    "UV_PROJECT_ENVIRONMENT",
    "CI",
    "ACT",
)
PRIVATE_ENV_PREFIXES = ("GITHUB_", "RUNNER_", "ACTIONS_", "INPUT_")
ACT_TIMEOUT = 1200  # seconds: a cold run installs scikit-learn from PyPI
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _tool(name: str) -> Path:
    """An executable of the test environment (the ``test`` extra installs act and uv)."""
    path = BIN / name
    found = path if path.is_file() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return Path(found)


# --- The pipeline under act --------------------------------------------------------


def action_stubs(workflow: Path) -> dict[str, Path]:
    """``owner/name@ref`` of every action used (checkout aside) -> its offline stub.

    The Docker jobs' actions are left out: those jobs are never run here.
    """
    data = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    stubs: dict[str, Path] = {}
    for name, job in data["jobs"].items():
        if name in DOCKER_JOBS:
            continue
        for step in job.get("steps", []):
            uses = step.get("uses")
            if uses is None or uses.startswith("actions/checkout@"):
                continue
            stub = STUBS / uses.partition("@")[0].replace("/", "__")
            if not (stub / "action.yml").is_file():
                raise LookupError(f"{workflow} uses {uses}: add an offline stub in {stub}")
            stubs[uses] = stub
    return stubs


def runner_env(home: Path, cache: Path) -> dict[str, str]:
    """act's environment; in host mode the steps inherit it.

    This process's environment minus what would leak into the pipeline (an outer CI's
    GITHUB_* variables, an active venv, the test environment's bin directory), with
    HOME under the test's directory and the package caches in ``cache``.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in PRIVATE_ENV and not key.startswith(PRIVATE_ENV_PREFIXES)
    }
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p) != BIN]
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
        PATH=os.pathsep.join(path),
        UV_CACHE_DIR=str(cache / "uv"),
        PIP_CACHE_DIR=str(cache / "pip"),
        # act gives steps a terminal, GitHub does not: no progress bars in the logs.
        UV_NO_PROGRESS="1",
        # act otherwise asks api.nektosact.com for notices: only registries are contacted.
        ACT_DISABLE_VERSION_CHECK="1",
    )
    return env


@dataclass(frozen=True)
class Step:
    """One top-level step of a job, as act reported it."""

    job: str
    name: str
    result: str
    seconds: float


@dataclass(frozen=True)
class ActRun:
    """One ``act`` invocation: its exit code and its JSON log events."""

    job: str | None
    returncode: int
    events: list[dict[str, Any]]
    stderr: str
    seconds: float
    artifacts: Path

    @property
    def job_results(self) -> dict[str, str]:
        """Result of every job that ran (``success``/``failure``), by job id."""
        return {e["jobID"]: e["jobResult"] for e in self.events if "jobResult" in e}

    def steps(self, job: str | None = None) -> list[Step]:
        """The top-level steps (main stage) that ran, in order."""
        return [
            Step(e["jobID"], e["step"], e["stepResult"], e.get("executionTime", 0) / 1e9)
            for e in self.events
            if "stepResult" in e
            and e.get("stage") == "Main"
            and len(e.get("stepID", [])) == 1
            and (job is None or e["jobID"] == job)
        ]

    def step_result(self, job: str, step: str) -> str | None:
        """``success``/``failure`` of a step; None when it did not run."""
        results = [s.result for s in self.steps(job) if s.name == step]
        return results[-1] if results else None

    def output(self, job: str, step: str | None = None) -> str:
        """What the commands of a job (or one of its steps) printed, without colours."""
        text = "".join(
            e["msg"]
            for e in self.events
            if e.get("raw_output") and e.get("jobID") == job and step in (None, e.get("step"))
        )
        return _ANSI.sub("", text).replace("\r\n", "\n")

    def log(self, job: str | None = None, tail: int = 12000) -> str:
        """The run (or one job of it) as text, for assertion messages."""
        lines = [
            f"[{e.get('jobID', 'act')}] {e.get('msg', '')}".rstrip()
            for e in self.events
            if job in (None, e.get("jobID"))
        ]
        text = _ANSI.sub("", "\n".join(lines) + ("" if job else "\n" + self.stderr))
        return text[-tail:]

    def check(self, condition: bool, what: str) -> None:
        """Fail the test with ``what`` and the run's log unless ``condition``."""
        if not condition:
            pytest.fail(
                f"act -j {self.job or '(all)'}: {what}\n--- act log (tail) ---\n{self.log()}"
            )


def run_act(
    project: Path,
    job: str | None,
    workdir: Path,
    cache: Path,
    workflow: Path | None = None,
    default_branch: str | None = None,
    *,
    event: str = "push",
    payload: Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
) -> ActRun:
    """Run ``job`` (and the jobs it needs) of ``project``'s CI for ``event``, with act.

    ``job`` None runs every job of ``workflow``. ``workdir`` receives act's own files
    and the uploaded artifacts; ``cache`` holds the uv and pip caches. The event's
    payload is ``payload``, or else a push to the checked-out branch whose repository
    reports ``default_branch`` (default: that same branch, as in a new repository) as
    its default branch. ``env`` is added to the runner's environment.
    """
    workflow = workflow or project / WORKFLOW
    branch = git(project, "branch", "--show-current")
    home, artifacts = workdir / "home", workdir / "artifacts"
    home.mkdir(parents=True)
    # act's --defaultbranch alone reports every push as one to the default branch.
    event_file = workdir / "event.json"
    pushed = {
        "ref": f"refs/heads/{branch}",
        "repository": {"default_branch": default_branch or branch},
    }
    event_file.write_text(json.dumps(payload if payload is not None else pushed), encoding="utf-8")
    argv = [
        str(_tool("act")),
        event,
        "--workflows",
        str(workflow),
        *(["--job", job] if job else []),
        "--platform",
        "ubuntu-latest=-self-hosted",
        "--artifact-server-addr",
        "127.0.0.1",
        "--cache-server-addr",
        "127.0.0.1",
        "--cache-server-path",
        str(workdir / "act-cache-server"),
        "--action-cache-path",
        str(workdir / "act-actions"),
        "--env",
        f"MLRIG_E2E_UV={_tool('uv')}",
        "--env",
        f"MLRIG_E2E_PYTHON={sys.executable}",
        "--env",
        f"MLRIG_E2E_ARTIFACTS={artifacts}",
        "--eventpath",
        str(event_file),
        "--json",
    ]
    for uses, stub in action_stubs(workflow).items():
        argv += ["--local-repository", f"{uses}={stub}"]
    start = time.monotonic()
    proc = subprocess.run(
        argv,
        cwd=project,
        env={**runner_env(home, cache), **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        timeout=ACT_TIMEOUT,
    )
    seconds = time.monotonic() - start
    events = []
    for line in (proc.stdout + proc.stderr).splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return ActRun(job, proc.returncode, events, proc.stderr, seconds, artifacts)


def run_pipeline(
    project: Path, workdir: Path, cache: Path, jobs: Iterable[str] = ("lint", "test", "train")
) -> dict[str, ActRun]:
    """Run act once per job, in parallel as GitHub would (``train`` brings ``data``)."""
    jobs = list(jobs)
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {job: pool.submit(run_act, project, job, workdir / job, cache) for job in jobs}
        return {job: future.result() for job, future in futures.items()}


# --- Projects ----------------------------------------------------------------------


def generate(dest: Path, **answers: str) -> Path:
    """A GitHub project of the template source for this interpreter's Python, locked, in git."""
    with locking():
        result = new(
            dest,
            answers=make_answers(ci_provider="github", python_version=PYTHON, **answers),
            template=builtin_template(),
        )
    assert result.lock_problem is None, result.lock_problem
    return dest


@pytest.fixture(scope="module")
def package_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """uv and pip caches shared by every run of the session (and by xdist workers)."""
    root = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        root = root.parent
    cache = root / "e2e-package-cache"
    cache.mkdir(exist_ok=True)
    return cache


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default project (scikit-learn, uv, Docker image) on this Python."""
    return generate(tmp_path_factory.mktemp("healthy") / "demo-model")


@pytest.fixture(scope="module")
def healthy_run(
    healthy: Path, package_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, ActRun]:
    """One run of every job that needs no Docker engine on the healthy project."""
    return run_pipeline(healthy, tmp_path_factory.mktemp("healthy-run"), package_cache)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project that break scenarios clone: no ML framework, so its jobs run ~3x faster.

    The breakages do not depend on the framework; the healthy run covers scikit-learn.
    """
    return generate(tmp_path_factory.mktemp("small") / "demo-model", framework="none")


@pytest.fixture(scope="module")
def small_pip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """As ``small`` with pip: the lint scenario covers the pip flavour of the workflow."""
    dest = tmp_path_factory.mktemp("small-pip") / "demo-model"
    return generate(dest, framework="none", package_manager="pip")


def _workflow_steps(project: Path, job: str) -> list[str]:
    """The steps of ``job`` that run on a push (a pull request's own steps do not)."""
    data = yaml.safe_load((project / WORKFLOW).read_text(encoding="utf-8"))
    return [
        step["name"]
        for step in data["jobs"][job]["steps"]
        if "pull_request" not in str(step.get("if", ""))
    ]


def _config_value(project: Path, name: str) -> str:
    config = (project / "src" / PACKAGE / "config.py").read_text(encoding="utf-8")
    match = re.search(rf"^{name} = (.+)$", config, re.MULTILINE)
    assert match, f"{name} not found in config.py"
    return match.group(1)


# --- Static checks of the mapping --------------------------------------------------


def test_every_action_but_checkout_has_a_stub_that_accepts_its_inputs(
    healthy: Path, small_pip: Path
) -> None:
    workflows = [healthy / WORKFLOW, small_pip / WORKFLOW]
    used: set[str] = set()
    for workflow in workflows:
        data = yaml.safe_load(workflow.read_text(encoding="utf-8"))
        stubs = action_stubs(workflow)  # raises if one is missing
        for job in LOCAL_JOBS:
            for step in data["jobs"][job]["steps"]:
                if step.get("uses") in stubs:
                    stub = yaml.safe_load((stubs[step["uses"]] / "action.yml").read_text())
                    unknown = set(step.get("with", {})) - set(stub["inputs"])
                    assert not unknown, f"{step['uses']}: stub lacks inputs {unknown}"
        used.update(uses.partition("@")[0] for uses in stubs)
    # tests/test_e2e_sync.py and test_e2e_monitor.py run these workflows with stubs too.
    for other in (SYNC_WORKFLOW, MONITOR_WORKFLOW):
        used.update(u.partition("@")[0] for u in action_stubs(healthy / other))
    on_disk = {p.parent.name.replace("__", "/") for p in STUBS.glob("*/action.yml")}
    assert used == on_disk, "a stub is missing or no longer used"


def test_stubs_refuse_what_they_cannot_honour(
    healthy: Path, small_pip: Path, package_cache: Path, tmp_path: Path
) -> None:
    """A stub that accepted anything would let a broken workflow pass: prove they refuse."""
    refs = {
        uses.partition("@")[0]: uses
        for project in (healthy, small_pip)
        for uses in action_stubs(project / WORKFLOW)
    }
    jobs = {
        "uv-python": (refs["astral-sh/setup-uv"], {"python-version": "2.7"}),
        "uv-tool-dir": (
            refs["astral-sh/setup-uv"],
            {"python-version": PYTHON, "tool-dir": "tools"},
        ),
        "setup-python": (refs["actions/setup-python"], {"python-version": "2.7"}),
        "cache": (
            refs["actions/cache"],
            {"path": "x", "key": "k", "fail-on-cache-miss": "true"},
        ),
        "upload": (
            refs["actions/upload-artifact"],
            {"name": "empty", "path": "missing/", "if-no-files-found": "error"},
        ),
    }
    workflow = {
        "on": "push",
        "jobs": {
            job: {"runs-on": "ubuntu-latest", "steps": [{"uses": uses, "with": inputs}]}
            for job, (uses, inputs) in jobs.items()
        },
    }
    path = tmp_path / "workflows" / "stubs.yml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(workflow, sort_keys=False), encoding="utf-8")
    run = run_act(healthy, None, tmp_path / "act", package_cache, workflow=path)
    run.check(run.job_results == dict.fromkeys(jobs, "failure"), "every job must fail")
    expected = {
        "uv-python": f"the workflow asks for Python 2.7; this host offers {PYTHON}",
        "uv-tool-dir": "input(s) not implemented by the offline stub: tool-dir",
        "setup-python": f"the workflow asks for Python 2.7; this host offers {PYTHON}",
        "cache": "cache miss for k and fail-on-cache-miss is true",
        "upload": "No files were found with the provided path: missing/.",
    }
    for job, message in expected.items():
        run.check(message in run.log(job), f"{job}: no {message!r}")


def test_setup_uv_stub_activates_the_environment_as_the_action_does(
    healthy: Path, package_cache: Path, tmp_path: Path
) -> None:
    """activate-environment: a .venv in the workspace, first on PATH, VIRTUAL_ENV, output venv."""
    uses = next(u for u in action_stubs(healthy / WORKFLOW) if u.startswith("astral-sh/setup-uv@"))
    check = (
        'test "$VIRTUAL_ENV" = "$GITHUB_WORKSPACE/.venv"\n'
        'test "$VENV_OUTPUT" = "$VIRTUAL_ENV"\n'
        'test "$(command -v python)" = "$VIRTUAL_ENV/bin/python"\n'
        "echo activated: $VIRTUAL_ENV\n"
    )
    workflow = {
        "on": "push",
        "jobs": {
            "activate": {
                "runs-on": "ubuntu-latest",
                "steps": [
                    {
                        "id": "uv",
                        "uses": uses,
                        "with": {"python-version": PYTHON, "activate-environment": "true"},
                    },
                    {
                        "run": check,
                        "env": {"VENV_OUTPUT": "${{ steps.uv.outputs.venv }}"},
                    },
                ],
            }
        },
    }
    path = tmp_path / "workflows" / "activate.yml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(workflow, sort_keys=False), encoding="utf-8")
    run = run_act(healthy, None, tmp_path / "act", package_cache, workflow=path)
    run.check(run.job_results == {"activate": "success"}, "the venv is not activated")
    run.check("activated: " in run.output("activate"), "the check step did not run")


# --- The default branch ------------------------------------------------------------


def test_ci_runs_on_a_default_branch_not_named_main_and_publishes_only_from_it(
    package_cache: Path, tmp_path: Path
) -> None:
    """Default branch ``trunk``: a push to it runs the jobs and selects the image push;
    a push to another branch runs none (pull requests run through ``pull_request``).

    The docker job needs an engine, so its gate is run as a copy: the same trigger,
    the same ``if:`` and ``PUBLISH`` expression, one step that prints it.
    """
    # The template's source (the next release), not the newest released version.
    project = tmp_path / "demo-model"
    answers = make_answers(ci_provider="github", python_version=PYTHON, framework="none")
    with locking():
        new(project, answers=answers, template=builtin_template())
    git(project, "branch", "-m", "trunk")
    lint = run_act(project, "lint", tmp_path / "lint", package_cache, default_branch="trunk")
    lint.check(lint.job_results == {"lint": "success"}, "lint did not run on trunk")

    ci = yaml.safe_load((project / WORKFLOW).read_text(encoding="utf-8"))
    docker = ci["jobs"]["docker"]
    probe = {
        "on": ci[True],
        "jobs": {
            "docker": {
                "if": docker["if"],
                "runs-on": "ubuntu-latest",
                "env": docker["env"],
                "steps": [{"run": 'echo "publish=$PUBLISH"'}],
            }
        },
    }
    path = tmp_path / "workflows" / "probe.yml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(probe, sort_keys=False), encoding="utf-8")
    on_trunk = run_act(project, None, tmp_path / "probe", package_cache, workflow=path)
    on_trunk.check("publish=true" in on_trunk.output("docker"), "no image push from trunk")

    git(project, "checkout", "-q", "-b", "feature")
    args = (package_cache,)
    feature = run_act(
        project, None, tmp_path / "feature", *args, workflow=path, default_branch="trunk"
    )
    feature.check("publish=" not in feature.output("docker"), "a feature push ran the image job")
    skipped = run_act(project, "lint", tmp_path / "skipped", *args, default_branch="trunk")
    skipped.check(skipped.job_results.get("lint") != "success", "lint ran for a feature push")
    skipped.check(not skipped.steps("lint"), "a feature push ran lint steps")


# --- The healthy project -----------------------------------------------------------


def test_healthy_project_passes_every_job_that_needs_no_docker(
    healthy: Path, healthy_run: dict[str, ActRun]
) -> None:
    lint, test, train = healthy_run["lint"], healthy_run["test"], healthy_run["train"]
    lint.check(lint.returncode == 0 and lint.job_results == {"lint": "success"}, "lint failed")
    test.check(test.returncode == 0 and test.job_results == {"test": "success"}, "test failed")
    train.check(
        train.returncode == 0 and train.job_results == {"data": "success", "train": "success"},
        "data or train failed",
    )
    for run, job in ((lint, "lint"), (test, "test"), (train, "data"), (train, "train")):
        ran = [(s.name, s.result) for s in run.steps(job)]
        expected = [(name, "success") for name in _workflow_steps(healthy, job)]
        run.check(ran == expected, f"{job}: every step must run and pass, got {ran}")

    # uv ran on this Python, in a throwaway venv (act's copy of the work tree).
    install = test.output("test", "Install dependencies")
    test.check(f"Using CPython {sys.version.split()[0]}" in install, "uv used another Python")
    test.check("Creating virtual environment at: .venv" in install, "no fresh venv")
    test.check(
        re.search(r"\b\d+ passed\b", test.output("test", "Run the tests")) is not None,
        "pytest summary missing",
    )
    data_step = "Check the dataset (schema, ranges, nulls, row count)"
    train.check(
        "data/train.csv: 400 rows, all checks passed" in train.output("data", data_step),
        "data check output missing",
    )

    # The model, its metrics, monitoring's reference statistics and the image's smoke-test
    # sample were uploaded through the upload-artifact stub.
    uploaded = train.artifacts / "artifacts"
    assert sorted(p.name for p in uploaded.iterdir()) == [
        "metrics.json",
        "model.pkl",
        "reference.json",
        "sample.csv",
    ]
    metrics = json.loads((uploaded / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["framework"] == "sklearn"

    # The gate's table (the text evaluate.py appends to $GITHUB_STEP_SUMMARY).
    baseline = json.loads((healthy / "metrics" / "baseline.json").read_text(encoding="utf-8"))
    threshold = float(_config_value(healthy, "GATE_THRESHOLD"))
    gate = train.output("train", "Metric gate")
    row = (
        f"| accuracy | {metrics['accuracy']:.4f} | {baseline['accuracy']:.4f} "
        f"| {threshold:.4f} | pass |"
    )
    for expected_line in (
        "| metric | value | baseline | threshold | status |",
        row,
        "Gate passed.",
    ):
        train.check(expected_line in gate.splitlines(), f"gate table lacks {expected_line!r}")

    # act worked on its own copy: the project's work tree is untouched.
    assert git(healthy, "status", "--porcelain", "--ignored") == ""


# --- One breakage at a time --------------------------------------------------------


def broken_copy(
    source: Path, dest: Path, message: str, edits: Mapping[str, Callable[[str], str]]
) -> Path:
    """Clone ``source`` to ``dest``, apply ``edits`` (file -> new text), commit."""
    git(dest.parent, "clone", "--quiet", str(source), str(dest))
    for name, edit in edits.items():
        path = dest / name
        path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    git(dest, "commit", "--quiet", "--all", "-m", message)
    return dest


def replace_once(old: str, new_text: str) -> Callable[[str], str]:
    """An edit that replaces the single occurrence of ``old``."""

    def edit(text: str) -> str:
        assert text.count(old) == 1, f"expected exactly one {old!r}"
        return text.replace(old, new_text)

    return edit


def assert_fails_at(run: ActRun, job: str, step: str, *messages: str) -> str:
    """``job`` failed at ``step``, whose output holds every message; return that output."""
    run.check(run.returncode != 0, "act succeeded")
    run.check(run.job_results.get(job) == "failure", f"job {job} did not fail")
    failed = [s.name for s in run.steps(job) if s.result == "failure"]
    run.check(failed[:1] == [step], f"{job} must fail first at {step!r}, failed: {failed}")
    output = run.output(job, step)
    for message in messages:
        run.check(message in output, f"{step!r} does not say {message!r}")
    return output


def test_lint_error_fails_lint_with_the_rule_code(
    small_pip: Path, package_cache: Path, tmp_path: Path
) -> None:
    project = broken_copy(
        small_pip,
        tmp_path / "demo-model",
        "Import os for nothing",
        {f"src/{PACKAGE}/train.py": replace_once("import json\n", "import json\nimport os\n")},
    )
    run = run_act(project, "lint", tmp_path / "act", package_cache)
    output = assert_fails_at(
        run, "lint", "Pre-commit hooks", "F401", "`os` imported but unused", "- hook id: ruff-check"
    )
    # The other hooks still ran, and passed.
    for hook in ("check yaml", "fix end of files", "ruff format"):
        run.check(
            re.search(rf"^{hook}\.+Passed$", output, re.MULTILINE) is not None, f"{hook} failed"
        )


def test_failing_unit_test_fails_test_with_the_test_name(
    small: Path, package_cache: Path, tmp_path: Path
) -> None:
    # A plausible bug: f1 computed as the Jaccard index.
    project = broken_copy(
        small,
        tmp_path / "demo-model",
        "Simplify f1",
        {
            f"src/{PACKAGE}/evaluate.py": replace_once(
                "return 2 * tp / (2 * tp + fp + fn) if tp else 0.0",
                "return tp / (tp + fp + fn) if tp else 0.0",
            )
        },
    )
    run = run_act(project, "test", tmp_path / "act", package_cache)
    assert_fails_at(
        run, "test", "Run the tests", "FAILED tests/test_evaluate.py::test_metrics_by_hand"
    )


def _corrupt_cell(line: int, column: str, value: str) -> Callable[[str], str]:
    """An edit that sets one cell of a CSV file (line 1 is the header)."""

    def edit(text: str) -> str:
        lines = text.splitlines()
        cells = lines[line - 1].split(",")
        cells[lines[0].split(",").index(column)] = value
        lines[line - 1] = ",".join(cells)
        return "\n".join(lines) + "\n"

    return edit


def test_corrupted_data_sample_fails_the_data_job_line_by_line(
    small: Path, package_cache: Path, tmp_path: Path
) -> None:
    """A broken sensor reading in data/train.csv.

    The Data checks job fails, naming the bad cell in an ``error:`` line, and Train,
    which needs it, never runs. The unit tests use generated samples, not this file,
    so the Test job is not involved.
    """
    project = broken_copy(
        small,
        tmp_path / "demo-model",
        "Add a reading from the broken sensor",
        {"data/train.csv": _corrupt_cell(42, "temperature", "-999")},
    )
    problem = "line 42: 'temperature' = -999 is outside [0, 150]"

    run = run_act(project, "train", tmp_path / "act", package_cache)
    assert_fails_at(
        run, "data", "Check the dataset (schema, ranges, nulls, row count)", f"error: {problem}"
    )
    run.check("train" not in run.job_results, "train ran on bad data")


def test_model_below_the_threshold_fails_with_the_gate_reason(
    small: Path, package_cache: Path, tmp_path: Path
) -> None:
    """The gate is raised above what the model reaches (0.93 for this project).

    The data checks pass, Train's gate step fails with the reason, and the model and
    metrics are still uploaded.
    """
    project = broken_copy(
        small,
        tmp_path / "demo-model",
        "Raise the gate",
        {
            f"src/{PACKAGE}/config.py": replace_once(
                "GATE_THRESHOLD = 0.8\n", "GATE_THRESHOLD = 0.97\n"
            )
        },
    )
    run = run_act(project, "train", tmp_path / "act", package_cache)
    run.check(run.job_results.get("data") == "success", "data checks must pass")
    gate = assert_fails_at(
        run,
        "train",
        "Metric gate",
        "error: model gate failed: accuracy 0.9300 is below the threshold 0.9700",
    )
    run.check("| accuracy | 0.9300 | 0.9300 | 0.9700 | FAIL |" in gate, "no FAIL row")
    run.check(run.step_result("train", "Upload the model and metrics") == "success", "no upload")
    assert (run.artifacts / "artifacts" / "metrics.json").is_file()


def test_metric_regression_against_the_baseline_fails_train_with_the_reason(
    small: Path, package_cache: Path, tmp_path: Path
) -> None:
    """The committed baseline says the model used to reach 0.99; it reaches 0.93.

    The data checks pass and the pipeline fails where it should: at Train's gate.
    """
    project = broken_copy(
        small,
        tmp_path / "demo-model",
        "Record a better baseline",
        {"metrics/baseline.json": replace_once('"accuracy": 0.93,', '"accuracy": 0.99,')},
    )
    run = run_act(project, "train", tmp_path / "act", package_cache)
    run.check(run.job_results.get("data") == "success", "data checks must pass")
    gate = assert_fails_at(
        run,
        "train",
        "Metric gate",
        "error: model gate failed: accuracy 0.9300 dropped more than 0.0500 "
        "below the baseline 0.9900",
    )
    run.check("| accuracy | 0.9300 | 0.9900 | 0.8000 | FAIL |" in gate, "no FAIL row")
    run.check(run.step_result("train", "Upload the model and metrics") == "success", "no upload")
    metrics = json.loads((run.artifacts / "artifacts" / "metrics.json").read_text())
    assert metrics["accuracy"] == 0.93


def _add_dependency(text: str) -> str:
    """pyproject.toml with one more runtime dependency, and no lock update."""
    return re.sub(r"^dependencies = \[", 'dependencies = ["six>=1.16", ', text, count=1, flags=re.M)


def test_dependency_changed_without_a_lock_update_fails_the_uv_install(
    small: Path, package_cache: Path, tmp_path: Path
) -> None:
    project = broken_copy(
        small, tmp_path / "demo-model", "Depend on six", {"pyproject.toml": _add_dependency}
    )
    run = run_act(project, "test", tmp_path / "act", package_cache)
    assert_fails_at(
        run,
        "test",
        "Install dependencies",
        # uv wraps its message to the terminal's width.
        "error: The lockfile at `uv.lock` needs to be updated, but `--locked` was",
        "To update the lockfile, run `uv lock`.",
    )


def test_dependency_changed_without_a_lock_update_fails_the_pip_install(
    small_pip: Path, package_cache: Path, tmp_path: Path
) -> None:
    project = broken_copy(
        small_pip, tmp_path / "demo-model", "Depend on six", {"pyproject.toml": _add_dependency}
    )
    run = run_act(project, "test", tmp_path / "act", package_cache)
    assert_fails_at(
        run,
        "test",
        "Install dependencies",
        "demo-model 0.1.0 requires six, which is not installed.",
        f"uv pip compile pyproject.toml --extra dev --universal --generate-hashes "
        f"--python-version {PYTHON} -o requirements-dev.lock",
    )
    # act shows the ::error:: annotation in its log, not in the step's output.
    run.check(
        "::error::requirements-dev.lock does not match pyproject.toml: run these commands and "
        "commit requirements.lock and requirements-dev.lock:" in run.log("test"),
        "no error annotation naming the lock",
    )
