"""End-to-end: run a generated project's GitLab pipeline on this machine with gitlab-ci-local.

A project is generated (``ci_provider=gitlab``, the running interpreter's Python, since
the jobs run on the host Python with ``UV_PYTHON_DOWNLOADS=never``) into a temporary
git repository, and the jobs of its pipeline that need no Docker engine run with
``gitlab-ci-local --force-shell-executor``:

- every job in its own copy of the repository (``--shell-isolation``), as on a runner,
  one at a time (``--concurrency 1``: the jobs share one throwaway virtual environment,
  first on PATH, so ``python -m pip install`` never touches the host's Python);
- gitlab-ci-local's state (job copies, logs) stays in the project, under ``tmp_path``;
- the uv and pip download caches are one directory shared by every run of the session;
- nothing downloads except packages from the registries.

``docker-build`` is not run: it needs a Docker engine (a ``docker:28`` image and a
``docker:28-dind`` service). The Dockerfile is checked statically by the template
tests (hadolint), and gitlab-ci-local checks that the job is defined and wired here.

A healthy project must pass lint, test and train. Then a clone of it is broken on
purpose, one way at a time and committed (gitlab-ci-local reads the git repository),
and only the job that must fail runs, with the jobs it needs: the pipeline must fail
in that job and say why in words a person understands.

Needs gitlab-ci-local (``npm ci`` in the repository root installs the version pinned in
package.json), rsync, git, Node 20+ and the package registries.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from mlrig import Answers, builtin_template, new
from tests.conftest import locking, make_answers
from tests.templaterepo import git

ROOT = Path(__file__).resolve().parent.parent
GITLAB_CI_LOCAL = ROOT / "node_modules" / ".bin" / "gitlab-ci-local"
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
PACKAGE = "demo_model"
# The jobs that run without a Docker engine; docker-build needs one (see the docstring).
LOCAL_JOBS = ("lint", "test", "data", "train")
GATE_HEADER = "| metric | value | baseline | threshold | status |"
RUN_TIMEOUT = 1800  # seconds, for one gitlab-ci-local run (cold caches on a slow machine)

# The healthy projects. The default-like sklearn + uv one is the reference; the break
# scenarios use framework=none + pip, about 2.5 times faster per job: pip reuses its
# download cache, while the uv jobs re-download scikit-learn, SciPy and NumPy (about
# 70 MB) because each ends with `uv cache prune --ci`, and copy them into a fresh .venv.
VARIANTS: dict[str, dict[str, object]] = {
    "sklearn-uv": {"framework": "sklearn", "package_manager": "uv"},
    "none-pip": {"framework": "none", "package_manager": "pip"},
}
BREAK_VARIANT = "none-pip"

# Environment variables of the outer run that must not reach gitlab-ci-local or its
# jobs: they would point the jobs at another environment or configure their pytest.
_DROPPED_VARIABLES = frozenset(
    {
        "VIRTUAL_ENV",
        "CONDA_PREFIX",
        "PYTHONHOME",
        "PYTHONPATH",
        "PIP_REQUIRE_VIRTUALENV",
        "UV_CACHE_DIR",
        "UV_NO_CACHE",
        "UV_PROJECT_ENVIRONMENT",
        "UV_PYTHON",
        "UV_SYSTEM_PYTHON",
    }
)
_DROPPED_PREFIXES = ("PYTEST_", "GCL_")

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@dataclass(frozen=True)
class PipelineRun:
    """The outcome of one gitlab-ci-local run."""

    argv: list[str]
    returncode: int
    output: str
    #: "PASS", "FAIL" or "WARN" of each job that ran, from gitlab-ci-local's report.
    statuses: dict[str, str]
    #: The full log of each job that ran.
    logs: dict[str, str]

    def log(self, job: str) -> str:
        return self.logs.get(job, "")

    def __str__(self) -> str:
        """For assertion messages: the command and the end of its output."""
        return f"$ {' '.join(self.argv)}\nexit code {self.returncode}\n{self.output[-6000:]}"


_REPORT_LINE = re.compile(r"^ (PASS|FAIL|WARN) +(?:\[[^\]]*\] +)?(\S+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class GitlabCiLocal:
    """gitlab-ci-local with a fixed environment and a shared dependency cache."""

    executable: Path
    home: Path
    cache: Path

    def env(self, venv_bin: Path | None = None) -> dict[str, str]:
        """The host's environment minus the outer run's Python settings; venv_bin first on PATH."""
        env = {
            name: value
            for name, value in os.environ.items()
            if name not in _DROPPED_VARIABLES and not name.startswith(_DROPPED_PREFIXES)
        }
        outer = {str(Path(sys.executable).parent), str(Path(sys.prefix) / "bin")}
        path = [p for p in os.environ.get("PATH", os.defpath).split(os.pathsep) if p not in outer]
        if venv_bin is not None:
            path.insert(0, str(venv_bin))
        env["PATH"] = os.pathsep.join(path)
        return env

    def _argv(self, *args: str) -> list[str]:
        # Run in the project: gitlab-ci-local takes only a relative --cwd.
        return [str(self.executable), "--home", str(self.home), *args]

    def inspect(self, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a read-only command such as ``--list-json`` or ``--preview``."""
        return subprocess.run(
            self._argv("--no-color", *args),
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            env=self.env(),
            timeout=120,
        )

    def run(
        self,
        project: Path,
        venv_bin: Path,
        *jobs: str,
        needs: bool = False,
        variables: Mapping[str, str] | None = None,
    ) -> PipelineRun:
        """Run ``jobs`` (and, with ``needs``, the jobs they need) with the shell executor.

        ``variables`` are CI/CD variables of the run; they override predefined ones.
        """
        variables = variables or {}
        given = [
            arg for name, value in variables.items() for arg in ("--variable", f"{name}={value}")
        ]
        if variables:
            given += ["--ignore-predefined-vars", ",".join(variables)]
        argv = self._argv(
            *given,
            "--force-shell-executor",
            "--shell-isolation",
            "--concurrency",
            "1",
            "--no-artifacts-to-source",
            "--no-color",
            "--timestamps",
            "--variable",
            f"UV_CACHE_DIR={self.cache / 'uv'}",
            "--variable",
            f"PIP_CACHE_DIR={self.cache / 'pip'}",
            *jobs,
            *(["--needs"] if needs else []),
        )
        proc = subprocess.run(
            argv,
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            env=self.env(venv_bin),
            timeout=RUN_TIMEOUT,
        )
        statuses = {job: status for status, job in _REPORT_LINE.findall(proc.stdout)}
        output_dir = project / ".gitlab-ci-local" / "output"
        logs = {
            job: (output_dir / f"{job}.log").read_text(encoding="utf-8", errors="replace")
            for job in statuses
            if (output_dir / f"{job}.log").is_file()
        }
        return PipelineRun(argv, proc.returncode, proc.stdout, statuses, logs)


@dataclass(frozen=True)
class Generated:
    """A generated project (a git repository) and the throwaway venv its jobs run in."""

    name: str
    project: Path
    venv_bin: Path


def _answers(**given: object) -> Answers:
    """The answers of a GitLab project on the host's Python, overridden by ``given``."""
    return make_answers(**{"ci_provider": "gitlab", "python_version": PYTHON, **given})


def generate_project(dest: Path, given: Mapping[str, object], *, lock: bool = False) -> Path:
    """Generate a project of the template source into ``dest``: a git repository, on ``main``.

    With ``lock`` mlrig locks its dependencies (from the package index), as ``mlrig new``
    does for a user; the pipeline's install steps need that lock.
    """
    if not lock:
        new(dest, answers=_answers(**given), template=builtin_template())
        return dest
    with locking():
        result = new(dest, answers=_answers(**given), template=builtin_template())
    assert result.lock_problem is None, result.lock_problem
    return dest


def jobs_venv(path: Path) -> Path:
    """Create the throwaway virtual environment (with pip) the jobs run in; return its bin."""
    venv.create(path, with_pip=True)
    return path / "bin"


@pytest.fixture(scope="session")
def gitlab_ci_local(tmp_path_factory: pytest.TempPathFactory) -> GitlabCiLocal:
    """The pinned gitlab-ci-local; fails (never skips) when it or rsync is missing."""
    if not GITLAB_CI_LOCAL.is_file():
        pytest.fail(
            f"{GITLAB_CI_LOCAL} is missing: run `npm ci` in {ROOT} (Node 20+) to install "
            "the gitlab-ci-local pinned in package.json"
        )
    if shutil.which("rsync") is None:
        pytest.fail("rsync is missing: gitlab-ci-local needs it (apt-get install rsync)")
    return GitlabCiLocal(
        executable=GITLAB_CI_LOCAL,
        home=tmp_path_factory.mktemp("gitlab-ci-local-home"),
        cache=tmp_path_factory.mktemp("dependency-cache"),
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Generated]:
    """Generate each variant's project and throwaway venv once per module, on first use."""
    made: dict[str, Generated] = {}

    def _get(name: str) -> Generated:
        if name not in made:
            base = tmp_path_factory.mktemp(name)
            project = generate_project(base / "demo-model", VARIANTS[name], lock=True)
            made[name] = Generated(name, project, jobs_venv(base / "jobs-venv"))
        return made[name]

    return _get


@pytest.fixture(scope="module")
def healthy_run(
    generated: Callable[[str], Generated], gitlab_ci_local: GitlabCiLocal
) -> Callable[[str], PipelineRun]:
    """Run each variant's local jobs once per module, on first use."""
    runs: dict[str, PipelineRun] = {}

    def _get(name: str) -> PipelineRun:
        if name not in runs:
            made = generated(name)
            runs[name] = gitlab_ci_local.run(made.project, made.venv_bin, *LOCAL_JOBS)
        return runs[name]

    return _get


# -- the healthy project ---------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_healthy_project_passes_every_local_job(
    healthy_run: Callable[[str], PipelineRun], variant: str
) -> None:
    run = healthy_run(variant)
    assert run.statuses == dict.fromkeys(LOCAL_JOBS, "PASS"), run
    assert run.returncode == 0, run
    for hook in ("check yaml", "fix end of files", "ruff check", "ruff format"):
        assert re.search(rf"{hook}\.+Passed", run.log("lint")), run.log("lint")
    assert re.search(r"^=+ \d+ passed in ", run.log("test"), re.MULTILINE), run.log("test")
    assert "data/train.csv: 400 rows, all checks passed" in run.log("data")
    assert "Gate passed." in run.log("train")
    if VARIANTS[variant]["package_manager"] == "uv":
        # uv made each job's .venv from the host's Python: nothing else was downloaded.
        for job in LOCAL_JOBS:
            assert f"Using CPython {PYTHON}." in run.log(job), run.log(job)
            assert "Downloading cpython" not in run.log(job)


def test_healthy_train_job_prints_the_gate_table(
    healthy_run: Callable[[str], PipelineRun], generated: Callable[[str], Generated]
) -> None:
    log = healthy_run("sklearn-uv").log("train")
    baseline = json.loads((generated("sklearn-uv").project / "metrics/baseline.json").read_text())
    assert GATE_HEADER in log
    row = rf"\| accuracy \| 0\.\d{{4}} \| {baseline['accuracy']:.4f} \| 0\.8000 \| pass \|"
    assert re.search(row, log), log
    assert re.search(rf"\| f1 \| 0\.\d{{4}} \| {baseline['f1']:.4f} \| - \| info \|", log), log


# -- broken on purpose, one way at a time ----------------------------------------------


def _replace_once(path: Path, old: str, new_text: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
    path.write_text(text.replace(old, new_text), encoding="utf-8")


def _broken_copy(
    generated: Callable[[str], Generated],
    dest: Path,
    what: str,
    edit: Callable[[Path], None],
    variant: str = BREAK_VARIANT,
) -> Path:
    """Clone the healthy project of ``variant`` into ``dest``, apply ``edit`` and commit it."""
    source = generated(variant).project
    git(dest.parent, "clone", "--quiet", str(source), str(dest))
    git(dest, "remote", "remove", "origin")  # gitlab-ci-local would try to parse a local path
    edit(dest)
    git(dest, "commit", "--quiet", "--all", "--message", f"Break on purpose: {what}")
    return dest


def _run_broken(
    generated: Callable[[str], Generated],
    gitlab_ci_local: GitlabCiLocal,
    project: Path,
    *jobs: str,
    needs: bool = False,
    variant: str = BREAK_VARIANT,
) -> PipelineRun:
    return gitlab_ci_local.run(project, generated(variant).venv_bin, *jobs, needs=needs)


def test_lint_error_fails_the_lint_job(
    generated: Callable[[str], Generated], gitlab_ci_local: GitlabCiLocal, tmp_path: Path
) -> None:
    def add_unused_import(project: Path) -> None:
        _replace_once(
            project / f"src/{PACKAGE}/data.py", "import math\n", "import math\nimport os\n"
        )

    project = _broken_copy(generated, tmp_path / "p", "an unused import", add_unused_import)
    run = _run_broken(generated, gitlab_ci_local, project, "lint")
    assert run.statuses == {"lint": "FAIL"}, run
    assert run.returncode != 0
    log = run.log("lint")
    # pre-commit names the hook; ruff names the rule, the problem and the place.
    assert "- hook id: ruff-check" in log, log
    assert "F401 [*] `os` imported but unused" in log, log
    assert f"src/{PACKAGE}/data.py:" in log, log


def test_failing_unit_test_fails_the_test_job(
    generated: Callable[[str], Generated], gitlab_ci_local: GitlabCiLocal, tmp_path: Path
) -> None:
    def miscount_accuracy(project: Path) -> None:
        _replace_once(
            project / f"src/{PACKAGE}/evaluate.py",
            "return hits / len(y_true)",
            "return hits / (len(y_true) + 1)",
        )

    project = _broken_copy(generated, tmp_path / "p", "a bug in accuracy()", miscount_accuracy)
    run = _run_broken(generated, gitlab_ci_local, project, "test")
    assert run.statuses == {"test": "FAIL"}, run
    assert run.returncode != 0
    # pytest's summary names the failing test and the wrong value.
    assert "FAILED tests/test_evaluate.py::test_metrics_by_hand - assert 0.5 == 0.6" in run.log(
        "test"
    ), run.log("test")


def test_corrupted_data_sample_fails_the_data_job_before_training(
    generated: Callable[[str], Generated], gitlab_ci_local: GitlabCiLocal, tmp_path: Path
) -> None:
    def empty_one_cell(project: Path) -> None:
        path = project / "data/train.csv"
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        cells = lines[4].split(",")  # line 5 of the file; column 2 is pressure
        cells[1] = ""
        lines[4] = ",".join(cells)
        path.write_text("".join(lines), encoding="utf-8")

    project = _broken_copy(generated, tmp_path / "p", "an empty cell", empty_one_cell)

    # The whole path to train: the data job stops it with one line per problem, and
    # train never starts.
    run = _run_broken(generated, gitlab_ci_local, project, "train", needs=True)
    assert run.statuses == {"data": "FAIL"}, run
    assert run.returncode != 0
    log = run.log("data")
    assert f"$ python -m {PACKAGE}.data data/train.csv" in log, log
    assert "error: line 5: 'pressure' is empty" in log, log


def test_model_below_the_threshold_fails_the_gate(
    generated: Callable[[str], Generated], gitlab_ci_local: GitlabCiLocal, tmp_path: Path
) -> None:
    def raise_the_threshold(project: Path) -> None:
        _replace_once(
            project / f"src/{PACKAGE}/config.py",
            "GATE_THRESHOLD = 0.8\n",
            "GATE_THRESHOLD = 0.999\n",
        )

    project = _broken_copy(generated, tmp_path / "p", "a threshold of 0.999", raise_the_threshold)

    # The data checks pass; the gate fails train, with the table and the reason.
    run = _run_broken(generated, gitlab_ci_local, project, "train", needs=True)
    assert run.statuses == {"data": "PASS", "train": "FAIL"}, run
    assert run.returncode != 0
    train_log = run.log("train")
    assert GATE_HEADER in train_log, train_log
    assert re.search(r"\| accuracy \| 0\.\d{4} \| [0-9.]+ \| 0\.9990 \| FAIL \|", train_log)
    reason = r"error: model gate failed: accuracy 0\.\d{4} is below the threshold 0\.9990$"
    assert re.search(reason, train_log, re.MULTILINE), train_log


def test_metric_regression_against_the_baseline_fails_the_gate(
    generated: Callable[[str], Generated], gitlab_ci_local: GitlabCiLocal, tmp_path: Path
) -> None:
    def perfect_baseline(project: Path) -> None:
        path = project / "metrics/baseline.json"
        baseline = json.loads(path.read_text(encoding="utf-8"))
        path.write_text(json.dumps({**baseline, "accuracy": 1.0}, indent=2) + "\n")

    project = _broken_copy(generated, tmp_path / "p", "a baseline of 1.0", perfect_baseline)
    run = _run_broken(generated, gitlab_ci_local, project, "train", needs=True)
    assert run.statuses == {"data": "PASS", "train": "FAIL"}, run
    assert run.returncode != 0
    log = run.log("train")
    assert re.search(r"\| accuracy \| 0\.\d{4} \| 1\.0000 \| 0\.8000 \| FAIL \|", log), log
    reason = (
        r"error: model gate failed: accuracy 0\.\d{4} dropped more than 0\.0500 below "
        r"the baseline 1\.0000$"
    )
    assert re.search(reason, log, re.MULTILINE), log


def _add_dependency(project: Path) -> None:
    """One more runtime dependency in pyproject.toml, and no lock update."""
    path = project / "pyproject.toml"
    text = path.read_text(encoding="utf-8")
    new_text = re.sub(r"^dependencies = \[", 'dependencies = ["six>=1.16", ', text, flags=re.M)
    assert new_text != text
    path.write_text(new_text, encoding="utf-8")


def test_dependency_changed_without_a_lock_update_fails_the_pip_install(
    generated: Callable[[str], Generated], gitlab_ci_local: GitlabCiLocal, tmp_path: Path
) -> None:
    project = _broken_copy(generated, tmp_path / "p", "a dependency, no lock", _add_dependency)
    run = _run_broken(generated, gitlab_ci_local, project, "test")
    assert run.statuses == {"test": "FAIL"}, run
    log = run.log("test")
    assert "demo-model 0.1.0 requires six, which is not installed." in log, log
    assert (
        "ERROR: requirements-dev.lock does not match pyproject.toml: run these commands and "
        "commit requirements.lock and requirements-dev.lock:" in log
    ), log
    assert "$ pytest" not in log, "the tests ran without their dependencies"


def test_dependency_changed_without_a_lock_update_fails_the_uv_install(
    generated: Callable[[str], Generated], gitlab_ci_local: GitlabCiLocal, tmp_path: Path
) -> None:
    project = _broken_copy(
        generated, tmp_path / "p", "a dependency, no lock", _add_dependency, "sklearn-uv"
    )
    run = _run_broken(generated, gitlab_ci_local, project, "test", variant="sklearn-uv")
    assert run.statuses == {"test": "FAIL"}, run
    log = " ".join(run.log("test").split())  # uv wraps its message to the terminal's width
    assert "The lockfile at `uv.lock` needs to be updated, but `--locked` was provided." in log
    assert "To update the lockfile, run `uv lock`." in log, log


# -- gitlab-ci-local parses every GitLab render ----------------------------------------

RENDERS: dict[str, dict[str, object]] = {
    "gitlab-defaults": {},
    "gitlab-pip-pytorch-gpu-f1": {
        "package_manager": "pip",
        "framework": "pytorch",
        "gpu_runner": "gpu-a100",
        "gate_metric": "f1",
        "gate_threshold": 0.75,
    },
    "gitlab-uv-pytorch-gpu-nodocker": {
        "framework": "pytorch",
        "gpu_runner": "gpu.large_1",
        "docker": False,
    },
    "both-pip-none-nodocker-nomonitor": {
        "ci_provider": "both",
        "package_manager": "pip",
        "framework": "none",
        "docker": False,
        "monitoring_schedule": "none",
    },
    "both-uv-sklearn-python310": {"ci_provider": "both", "python_version": "3.10"},
}


def _listed_jobs(inspected: subprocess.CompletedProcess[str]) -> dict[str, list[str]]:
    """Jobs of a ``--list-csv`` output: name -> needs."""
    lines = inspected.stdout.splitlines()
    start = lines.index("name;stage;when;allowFailure;environment;needs") + 1
    jobs = {}
    for line in lines[start:]:
        if line.strip():
            name, *_, needs = line.split(";")
            jobs[name] = [n for n in needs.strip("[]").split(",") if n]
    return jobs


@pytest.mark.parametrize("answers", RENDERS.values(), ids=RENDERS.keys())
def test_gitlab_ci_local_accepts_the_rendered_pipeline(
    gitlab_ci_local: GitlabCiLocal, tmp_path: Path, answers: dict[str, object]
) -> None:
    project = generate_project(tmp_path / "demo-model", answers)
    given = _answers(**answers)
    docker, gpu = given.docker, given.gpu_runner != "none"
    monitor = given.monitoring_schedule != "none"

    listed = gitlab_ci_local.inspect(project, "--list-json")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    names = {job["name"] for job in json.loads(listed.stdout)}
    optional = {"docker-build": docker, "gpu-test": gpu, "monitor": monitor}
    expected = {
        *LOCAL_JOBS,
        "mr-note",
        "template-sync",
        *(job for job, on in optional.items() if on),
    }
    assert names == expected

    preview = gitlab_ci_local.inspect(project, "--preview")
    assert preview.returncode == 0, preview.stdout + preview.stderr
    expanded = yaml.safe_load(preview.stdout)
    assert expected <= expanded.keys()
    assert expanded["lint"]["image"]["name"] == f"python:{given.python_version}-slim"

    # The jobs (and their needs) of each kind of pipeline, by the rules: every job
    # a job needs runs in the same pipeline.
    pipelines = {
        "push": [],
        "merge_request": ["CI_PIPELINE_SOURCE=merge_request_event"],
        "schedule": ["CI_PIPELINE_SOURCE=schedule"],
        "template-sync": ["CI_PIPELINE_SOURCE=schedule", "SCHEDULE_TASK=template-sync"],
    }
    push = {
        "lint": [],
        "test": [],
        "data": [],
        "train": ["data"],
        **({"gpu-test": []} if gpu else {}),
        **({"docker-build": ["lint", "test", "data", "train"]} if docker else {}),
    }
    runs = {
        "push": push,
        # The gate's verdict note is posted only on a merge request.
        "merge_request": {**push, "mr-note": ["train"]},
        "schedule": {"monitor": []} if monitor else {},
        "template-sync": {"template-sync": []},
    }
    for source, variables in pipelines.items():
        args = [arg for v in variables for arg in ("--variable", v)]
        # --list-json above validated the schema.
        quiet = ["--ignore-predefined-vars", "CI_PIPELINE_SOURCE", "--no-json-schema-validation"]
        listed = gitlab_ci_local.inspect(project, "--list-csv", *quiet, *args)
        assert listed.returncode == 0, listed.stdout + listed.stderr
        assert _listed_jobs(listed) == runs[source], source


def test_gitlab_ci_local_rejects_an_invalid_pipeline(
    gitlab_ci_local: GitlabCiLocal, tmp_path: Path
) -> None:
    """A known-bad file: proves gitlab-ci-local's own schema check is wired in."""
    project = generate_project(tmp_path / "demo-model", {})
    _replace_once(project / ".gitlab-ci.yml", "  stage: lint\n", "  stage: lint\n  scrip: [x]\n")
    git(project, "commit", "--quiet", "--all", "--message", "A typo in the lint job")
    listed = gitlab_ci_local.inspect(project, "--list-json")
    assert listed.returncode != 0
    assert "'scrip' property is not expected to be here at lint" in listed.stdout + listed.stderr


# -- the default branch ----------------------------------------------------------------


def test_pipeline_runs_on_a_default_branch_not_named_main_and_publishes_from_it(
    gitlab_ci_local: GitlabCiLocal, tmp_path: Path
) -> None:
    """Default branch ``trunk``: a push to it starts the pipeline with every push job,
    and docker-build's rules pick ``publish`` there and ``check`` on another branch.

    docker-build needs Docker-in-Docker, so its rules are run as a copy: the same
    workflow rules, rules and variables, one script line that prints the mode.
    """
    from mlrig import builtin_template

    project = tmp_path / "demo-model"
    new(project, answers=_answers(framework="none"), template=builtin_template())
    git(project, "branch", "-m", "trunk")
    trunk = [
        "--ignore-predefined-vars",
        "CI_DEFAULT_BRANCH",
        "--variable",
        "CI_DEFAULT_BRANCH=trunk",
    ]
    listed = gitlab_ci_local.inspect(project, "--list-csv", *trunk)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert set(_listed_jobs(listed)) == {*LOCAL_JOBS, "docker-build"}

    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    build = pipeline["docker-build"]
    probe = {
        "workflow": pipeline["workflow"],
        "stages": ["build"],
        "docker-build": {
            "stage": "build",
            "rules": build["rules"],
            "variables": {"IMAGE_MODE": build["variables"]["IMAGE_MODE"]},
            "script": ['echo "image mode: $IMAGE_MODE"'],
        },
    }
    (project / "probe.yml").write_text(yaml.safe_dump(probe), encoding="utf-8")
    modes = {}
    for default in ("trunk", "elsewhere"):
        argv = gitlab_ci_local._argv(
            "--file", "probe.yml", "--force-shell-executor", "--no-color",
            "--ignore-predefined-vars", "CI_DEFAULT_BRANCH",
            "--variable", f"CI_DEFAULT_BRANCH={default}", "docker-build",
        )  # fmt: skip
        proc = subprocess.run(
            argv, cwd=project, capture_output=True, text=True, check=False,
            stdin=subprocess.DEVNULL, env=gitlab_ci_local.env(), timeout=RUN_TIMEOUT,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        found = re.search(r"image mode: (\w+)", proc.stdout)
        assert found, proc.stdout
        modes[default] = found.group(1)
    assert modes == {"trunk": "publish", "elsewhere": "check"}
