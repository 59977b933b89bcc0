"""``mlrig doctor`` on the gallery of realistic repositories, on known-bad input, via the CLI."""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlrig import new
from mlrig.cli.doctor import render
from mlrig.commands.doctor import (
    IMPACT,
    SEVERITIES,
    DoctorFinding,
    DoctorReport,
    FindingId,
    Severity,
    doctor,
)
from mlrig.templates import builtin_bundle, template_versions
from tests.conftest import make_answers, run_cli
from tests.gallery import (
    FAKE_AWS_KEY_ID,
    GALLERY,
    LARGE_DATA_PATH,
    LARGE_MODEL_PATH,
    make_github_matrix,
)
from tests.templaterepo import commit_project, git

MB = 1024 * 1024


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every gallery repository, built once for this module."""
    root = tmp_path_factory.mktemp("gallery")
    return {name: build(root) for name, build in GALLERY.items()}


@pytest.fixture(scope="module")
def reports(gallery: dict[str, Path]) -> dict[str, DoctorReport]:
    """Doctor's report on every gallery repository."""
    return {name: doctor(path) for name, path in gallery.items()}


def finding(report: DoctorReport, finding_id: str) -> DoctorFinding:
    matches = [f for f in report.findings if f.id == finding_id]
    assert matches, f"no {finding_id} finding in {[f.id for f in report.findings]}"
    return matches[0]


def ids(report: DoctorReport) -> set[str]:
    return {f.id for f in report.findings}


def make_repo(root: Path, files: dict[str, str | bytes], ignore: str = "") -> Path:
    """A small committed git repository with ``files`` (and ``.gitignore`` = ``ignore``)."""
    root.mkdir(parents=True)
    git(root, "init", "--quiet", "--initial-branch=main")
    if ignore:
        files = {".gitignore": ignore, **files}
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    commit_project(root, "init")
    return root


# The gallery, one repository at a time.


def test_github_matrix_lint_and_tests_but_no_ml_stages(reports: dict[str, DoctorReport]) -> None:
    report = reports["github_matrix"]
    assert report.ci.providers == ("github",)
    assert report.ci.covered("lint") == ("lint",)
    assert report.ci.covered("tests") == ("test",)
    assert report.ci.covered("data_checks") == report.ci.covered("metric_gate") == ()
    gaps = finding(report, "ci-gaps")
    assert gaps.fix == "mlrig add ci"
    for stage in ("data checks", "training smoke run", "metric gate"):
        assert stage in gaps.detail
    assert "deploy" not in report.ci.covered("tests")
    # Monitoring runs the repository's own evaluate command: `add monitoring` asks for it.
    assert finding(report, "no-monitoring").fix == "mlrig add monitoring"
    assert (len(report.tests.files), report.tests.functions) == (1, 2)


def test_github_matrix_workflow_security_comes_from_zizmor(
    reports: dict[str, DoctorReport],
) -> None:
    security = finding(reports["github_matrix"], "workflow-security")
    assert security.severity == "high"
    assert "template-injection" in security.detail
    assert "unpinned-uses" in security.detail
    assert security.paths == (".github/workflows/ci.yml",)


def test_zizmor_findings_are_typed_with_rule_severity_and_place(
    reports: dict[str, DoctorReport],
) -> None:
    report = reports["github_matrix"]
    injection = [f for f in report.workflow_security if f.rule == "template-injection"]
    assert injection
    assert all(f.tool == "zizmor" for f in report.workflow_security)
    assert injection[0].place.startswith(".github/workflows/ci.yml:")
    assert injection[0].severity is Severity.HIGH
    assert report.tool_failures == ()
    security = finding(report, "workflow-security")
    assert (security.id, security.severity) == (FindingId.WORKFLOW_SECURITY, Severity.HIGH)


def test_github_matrix_ranges_in_pyproject_without_lock_are_unpinned(
    reports: dict[str, DoctorReport],
) -> None:
    report = reports["github_matrix"]
    assert report.dependencies.status == "unpinned"
    assert finding(report, "dependencies-unpinned").fix == "uv lock"


def test_gitlab_include_extends_anchors_references_and_local_includes(
    reports: dict[str, DoctorReport],
) -> None:
    ci = reports["gitlab_include"].ci
    assert ci.providers == ("gitlab",)
    assert ci.problems == ()
    assert ci.covered("lint") == ("lint",)  # via a YAML merge key
    assert ci.covered("tests") == ("unit-tests",)  # via extends
    assert ci.covered("train_smoke") == ("nightly-train",)
    assert ci.covered("image_build") == ("build-image",)  # from the local include
    assert ci.covered("schedule")
    assert ci.remote_includes == 1
    assert not any(job.name.startswith(".") for job in ci.jobs)
    gaps = finding(reports["gitlab_include"], "ci-gaps")
    assert "data checks" in gaps.detail
    assert "metric gate" in gaps.detail
    assert "not inspected (1)" in gaps.detail


def test_gitlab_include_hadolint_findings_and_pinned_requirements(
    reports: dict[str, DoctorReport],
) -> None:
    report = reports["gitlab_include"]
    lint = finding(report, "dockerfile-lint")
    assert lint.severity == "medium"
    assert "DL3007" in lint.detail
    assert lint.paths == ("Dockerfile",)
    assert report.dependencies.status == "pinned"
    assert not report.has_high


def test_no_ci_is_a_high_finding_and_clean_code_raises_no_false_positives(
    reports: dict[str, DoctorReport],
) -> None:
    report = reports["no_ci"]
    no_ci = finding(report, "no-ci")
    assert (no_ci.severity, no_ci.fix) == ("high", "mlrig add ci")
    assert report.ci.files == ()
    # db.py reads its password from the environment, holds placeholders and the
    # README describes what an AWS key looks like: none of it is a credential.
    assert report.secrets == ()
    assert report.large_files == ()
    assert (len(report.tests.files), report.tests.functions) == (1, 3)
    assert "no-tests" not in ids(report)


def test_requirements_only_committed_aws_keys_are_high(reports: dict[str, DoctorReport]) -> None:
    report = reports["requirements_only"]
    assert [(s.path, s.line, s.kind) for s in report.secrets] == [
        ("config.py", 2, "AWS access key"),
        ("config.py", 3, "hard-coded password or key"),
    ]
    secrets = report.findings[0]
    assert (secrets.id, secrets.severity) == ("committed-secrets", "high")
    assert "config.py:2" in secrets.detail
    assert FAKE_AWS_KEY_ID not in json.dumps(report.as_dict())
    assert FAKE_AWS_KEY_ID not in render(report)


def test_requirements_only_loose_requirements_and_no_tests(
    reports: dict[str, DoctorReport],
) -> None:
    report = reports["requirements_only"]
    unpinned = finding(report, "dependencies-unpinned")
    assert "requirements.txt: pandas" in unpinned.detail
    assert "xgboost~=2.0" in unpinned.detail
    # The fix works on the files the repository has (it has no requirements.in).
    assert unpinned.fix == "uv pip compile requirements.txt -o requirements.lock"
    assert finding(report, "no-tests").fix == "write tests/test_*.py (pytest)"


def test_poetry_lock_and_circleci(reports: dict[str, DoctorReport]) -> None:
    report = reports["poetry"]
    assert report.dependencies.status == "locked"
    assert report.dependencies.files == ("poetry.lock",)
    assert report.ci.providers == ("circleci",)
    assert set(report.ci.covered("tests")) == {".circleci/config.yml"}
    assert "dependencies-unpinned" not in ids(report)


def test_notebooks_no_test_runs_are_reported(reports: dict[str, DoctorReport]) -> None:
    report = reports["notebooks"]
    untested = finding(report, "untested-notebooks")
    assert untested.paths == (
        "notebooks/01-explore.ipynb",
        "notebooks/02-features.ipynb",
        "notebooks/03-train.ipynb",
        "notebooks/scratch/quick-look.ipynb",
    )
    assert untested.severity == "medium"  # and no tests at all
    # adopt brings no tests into a repository mlrig did not create: the fix runs them.
    assert untested.fix.startswith("pip install nbmake && pytest --nbmake notebooks/01-explore")
    assert "no-tests" in ids(report)


def test_notebooks_run_by_nbmake_are_not_reported(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "nb",
        {
            "analysis.ipynb": '{"cells": [], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}',
            "requirements-dev.txt": "nbmake==1.5.4\npytest==8.3.3\n",
            "tests/test_smoke.py": "def test_ok():\n    assert True\n",
        },
    )
    report = doctor(repo)
    assert report.notebooks == ("analysis.ipynb",)
    assert report.notebooks_tested
    assert "untested-notebooks" not in ids(report)


def test_large_data_names_the_committed_files_and_suggests_lfs_or_dvc(
    reports: dict[str, DoctorReport],
) -> None:
    report = reports["large_data"]
    large = finding(report, "large-files")
    assert large.paths == (LARGE_DATA_PATH, LARGE_MODEL_PATH)
    assert [f.size for f in report.large_files] == [60 * MB, 12 * MB]
    assert large.fix.startswith("git lfs migrate import")
    assert LARGE_DATA_PATH in large.fix
    assert "dvc add" in large.detail
    # The gitignored 64 MB file and the small CSV are not reported.
    assert all("interim" not in f.path and "labels" not in f.path for f in report.large_files)
    assert report.ci.providers == ("jenkins",)


def test_two_packages_counts_tests_of_both_packages(reports: dict[str, DoctorReport]) -> None:
    report = reports["two_packages"]
    assert report.tests.files == (
        "packages/features/tests/test_core.py",
        "packages/serving/tests/test_core.py",
    )
    assert report.tests.functions == 4
    assert report.dependencies.status == "locked"
    assert report.dockerfiles == ("packages/serving/Dockerfile",)
    # A Dockerfile hadolint finds clean gets no finding.
    assert "dockerfile-lint" not in ids(report)
    assert report.ci.covered("image_build") == ("image",)
    assert report.ci.covered("schedule") == (".github/workflows/ci.yml",)


def test_findings_are_ranked_by_severity_then_impact(reports: dict[str, DoctorReport]) -> None:
    for report in reports.values():
        keys = [(SEVERITIES.index(f.severity), IMPACT.index(f.id)) for f in report.findings]
        assert keys == sorted(keys)
        assert len(ids(report)) == len(report.findings)  # one finding per id


def test_every_gallery_repo_is_unmanaged_and_pointed_to_adopt(
    reports: dict[str, DoctorReport],
) -> None:
    for report in reports.values():
        assert not report.managed
        assert finding(report, "not-managed").fix == "mlrig adopt"


# Known-bad inputs for each detector, and their harmless look-alikes.

SECRETS = {
    "private key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n",
    "GitHub token": 'GITHUB = "ghp_' + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8" + '"\n',
    "GitLab token": "token: glpat-" + "Xy12ab34CD56ef78GH90\n",
    "Slack token": "hook = 'xoxb-" + "123456789012-abcdefABCDEF'\n",
    "hard-coded password or key": 'DB_PASSWORD = "S3cure-Pa55w0rd!"\n',
}


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_each_kind_of_committed_secret_is_caught(tmp_path: Path, kind: str) -> None:
    repo = make_repo(tmp_path / "r", {"settings.py": "import os\n\n" + SECRETS[kind]})
    report = doctor(repo)
    assert [(s.path, s.line, s.kind) for s in report.secrets] == [("settings.py", 3, kind)]
    assert report.has_high


def test_placeholders_and_references_are_not_secrets(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "r",
        {
            "config.py": 'AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"\n'
            'password = "changeme123"\n'
            'api_key = "<your-api-key-1>"\n'
            'token = "${CI_JOB_TOKEN}"\n'
            'SECRET = "{{ secret_value_1 }}"\n'
            'password = os.environ["PASSWORD"]\n'
            'access_key = "xxxxxxxx1"\n',
            ".github/workflows/ci.yml": "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
            "    steps:\n      - run: echo\n        env:\n"
            "          TOKEN: ${{ secrets.DEPLOY_TOKEN }}\n",
            "uv.lock": 'token = "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f0"\n',
        },
    )
    assert doctor(repo).secrets == ()


def test_binary_and_oversized_files_are_not_searched_for_secrets(tmp_path: Path) -> None:
    secret = SECRETS["hard-coded password or key"]
    repo = make_repo(
        tmp_path / "r",
        {
            "blob.dat": b"\0\x01binary\n" + secret.encode(),
            "dump.sql": "-- dump\n" * 200_000 + secret,  # over the 1 MB cap
        },
    )
    assert doctor(repo).secrets == ()


def test_untracked_unignored_files_count_as_about_to_be_committed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"README.md": "hi\n"})
    (repo / ".env").write_text(SECRETS["hard-coded password or key"])
    with (repo / "features.parquet").open("wb") as handle:
        handle.truncate(11 * MB)
    report = doctor(repo)
    assert [s.path for s in report.secrets] == [".env"]
    assert [(f.path, f.tracked) for f in report.large_files] == [("features.parquet", False)]
    assert "untracked" in finding(report, "large-files").detail


def test_size_limit_is_respected(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"small.csv": "a,b\n" * 300_000})  # 1.2 MB
    assert doctor(repo).large_files == ()
    assert [f.path for f in doctor(repo, size_limit=MB).large_files] == ["small.csv"]


def test_files_stored_small_by_a_filter_like_git_lfs_are_not_large(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    # A clean filter stores a short pointer, as Git LFS does; the work tree keeps 20 MB.
    git(repo, "config", "filter.pointer.clean", "head -c 40")
    git(repo, "config", "filter.pointer.smudge", "cat")
    (repo / ".gitattributes").write_text("*.pt filter=pointer\n")
    with (repo / "model.pt").open("wb") as handle:
        handle.truncate(20 * MB)
    commit_project(repo, "model via the filter")
    assert doctor(repo).large_files == ()


def test_file_over_githubs_hard_limit_is_high(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"README.md": "hi\n"})
    with (repo / "weights.bin").open("wb") as handle:
        handle.truncate(101 * MB)
    assert finding(doctor(repo), "large-files").severity == "high"


def test_broken_pipeline_yaml_is_reported(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {".gitlab-ci.yml": "test:\n  script: [pytest\n"})
    report = doctor(repo)
    broken = finding(report, "ci-unparsable")
    assert broken.paths == (".gitlab-ci.yml",)
    assert "not valid YAML" in broken.detail


def test_broken_workflow_is_reported_and_zizmors_failure_is_explained(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {".github/workflows/ci.yml": "on: push\njobs:\n  a: [\n"})
    report = doctor(repo)
    assert finding(report, "ci-unparsable").paths == (".github/workflows/ci.yml",)
    skipped = finding(report, "check-skipped")
    assert "zizmor could not check the files" in skipped.detail
    assert "Stack backtrace" not in skipped.detail
    assert "workflow-security" not in ids(report)
    assert [f.tool for f in report.tool_failures] == ["zizmor"]
    assert report.workflow_security == ()
    # Schema 1 counts the run that could not check the workflow as one finding.
    assert report.as_dict()["facts"]["workflow_security_findings"] == 1  # type: ignore[index]


def test_a_missing_validator_is_a_low_finding_not_an_error(
    gallery: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    which = shutil.which

    def without_hadolint(name: str, *args: Any, **kwargs: Any) -> str | None:
        return None if name == "hadolint" else which(name, *args, **kwargs)

    monkeypatch.setattr(shutil, "which", without_hadolint)
    report = doctor(gallery["gitlab_include"])
    skipped = finding(report, "check-skipped")
    assert (skipped.severity, skipped.fix) == ("low", "pip install 'mlrig[validate]'")
    assert "hadolint is not installed" in skipped.detail
    assert "dockerfile-lint" not in ids(report)


def test_yaml_alias_bomb_is_reported_not_expanded(tmp_path: Path) -> None:
    levels = ["a: &a [pytest, pytest, pytest, pytest, pytest, pytest, pytest, pytest]"]
    levels += [
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 8)}]" for i in range(8)
    ]
    text = ".bomb:\n" + "".join(f"  {line}\n" for line in levels) + "test:\n  script: *i\n"
    repo = make_repo(tmp_path / "r", {".gitlab-ci.yml": text})
    report = doctor(repo)
    assert report.ci.covered("tests") == ()
    unparsable = finding(report, "ci-unparsable")
    assert "aliases that stand for more than 100000 values" in unparsable.detail
    assert unparsable.paths == (".gitlab-ci.yml",)


def test_job_names_match_whole_name_parts_only(tmp_path: Path) -> None:
    jobs = ["constraints", "community", "aggregate", "latest-release"]
    text = "".join(f"{job}:\n  script:\n    - ./run.sh\n" for job in jobs)
    repo = make_repo(tmp_path / "r", {".gitlab-ci.yml": text})
    ci = doctor(repo).ci
    assert [job.name for job in ci.jobs] == jobs
    assert all(job.covers == () for job in ci.jobs)


def test_make_targets_count_as_the_commands_they_run(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "r",
        {
            "Makefile": "check:\n\tpytest -q\n\tpython -m pkg.validate_data\n",
            ".gitlab-ci.yml": "verify:\n  script:\n    - make check\n",
        },
    )
    ci = doctor(repo).ci
    assert ci.covered("tests") == ("verify",)
    assert ci.covered("data_checks") == ("verify",)


def test_gitignored_folders_are_never_entered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_github_matrix(tmp_path)
    (repo / ".gitignore").write_text(".venv/\ndata/cache/\n")
    commit_project(repo, "ignore")
    site = repo / ".venv" / "lib" / "site-packages" / "pkg"
    site.mkdir(parents=True)
    (site / "creds.py").write_text(SECRETS["GitHub token"] + SECRETS["private key"])
    (site / "test_pkg.py").write_text("def test_x():\n    pass\n")
    (site / "demo.ipynb").write_text("{}")
    (site / "Dockerfile").write_text("FROM python:latest\n")
    (repo / "data" / "cache").mkdir(parents=True)
    with (repo / "data" / "cache" / "huge.bin").open("wb") as handle:
        handle.truncate(3 * 1024 * MB)
    touched: list[str] = []

    def spy(original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(path: Any, *args: Any, **kwargs: Any) -> Any:
            touched.append(os.fspath(path) if isinstance(path, (str, os.PathLike)) else "")
            return original(path, *args, **kwargs)

        return wrapper

    for module, name in [(os, "lstat"), (os, "stat"), (os, "scandir"), (os, "listdir")]:
        monkeypatch.setattr(module, name, spy(getattr(module, name)))
    monkeypatch.setattr(io, "open", spy(io.open))
    report = doctor(repo)
    monkeypatch.undo()
    assert touched, "the spies saw nothing: they are not wired in"
    # Paths of the repository's ignored folders only: the validators' own lookups
    # (shutil.which) may pass through a virtual environment that is also named .venv.
    ignored = (repo / ".venv", repo / "data" / "cache")
    entered = [
        p for p in touched if any((repo / p).resolve().is_relative_to(i.resolve()) for i in ignored)
    ]
    assert not entered
    assert report.secrets == ()
    assert report.large_files == ()
    assert len(report.tests.files) == 1
    assert report.notebooks == ()
    assert report.dockerfiles == ()


# Repositories made by mlrig.


def test_fresh_mlrig_project_is_managed_current_and_has_no_high_finding(tmp_path: Path) -> None:
    project = tmp_path / "fresh-model"
    new(project, answers=make_answers(project_name="fresh-model"))
    report = doctor(project)
    assert report.managed
    assert report.template is not None
    assert report.template.current == report.template.latest
    assert report.template.behind == 0
    assert report.ci.missing == ()
    assert report.secrets == ()
    assert report.large_files == ()
    assert {"template-behind", "not-managed", "workflow-security", "ci-gaps"}.isdisjoint(
        ids(report)
    )
    assert not report.has_high
    # Nothing a fix cannot clear: `uv lock` writes the lock file doctor then finds, and
    # the validators come with mlrig[validate].
    fixes = {f.id: f.fix for f in report.findings}
    assert (
        fixes.items()
        <= {
            "dependencies-unpinned": "uv lock",
            "check-skipped": "pip install 'mlrig[validate]'",
        }.items()
    )
    # Every stage runs one of the project's own commands, each found runnable.
    assert report.repo is not None
    assert {s for s, c in report.repo.stages.items() if c.runnable} >= {
        "install",
        "lint",
        "test",
        "data",
        "train",
        "evaluate",
    }
    result = run_cli("doctor", str(project))
    assert result.exit_code == 0, result.output
    assert "managed, current" in result.output


def test_project_on_an_older_template_version_is_behind(tmp_path: Path) -> None:
    versions = template_versions(str(builtin_bundle()))
    project = tmp_path / "old-model"
    answers = make_answers(project_name="old-model")
    new(project, answers=answers, template=builtin_bundle(), ref=versions[0])
    report = doctor(project)
    assert report.template is not None
    assert (report.template.current, report.template.latest) == (versions[0], versions[-1])
    assert report.template.behind == len(versions) - 1
    behind = finding(report, "template-behind")
    assert behind.fix == "mlrig update"
    assert versions[0] in behind.title


def test_unreadable_answers_file_is_a_low_finding(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {".copier-answers.yml": "[not: a mapping\n"})
    report = doctor(repo)
    assert report.managed
    unknown = finding(report, "template-unknown")
    assert unknown.severity == "low"
    assert ".copier-answers.yml" in unknown.detail


# The command line.


def test_cli_table_lists_facts_and_findings(gallery: dict[str, Path]) -> None:
    result = run_cli("doctor", str(gallery["github_matrix"]))
    assert result.exit_code == 1  # the workflow has high zizmor findings
    out = result.output
    assert out.startswith(f"mlrig doctor: {gallery['github_matrix']}")
    assert "SEVERITY" in out
    assert "FIX" in out
    assert "[ci-gaps]" in out
    assert "mlrig add ci" in out
    assert "covers lint, tests" in out


def test_cli_json_has_the_documented_schema(gallery: dict[str, Path]) -> None:
    result = run_cli("doctor", "--json", str(gallery["gitlab_include"]))
    assert result.exit_code == 0, result.output  # medium and low findings only
    data = json.loads(result.output)
    assert data["schema"] == 1
    assert set(data) == {"schema", "project", "status", "summary", "facts", "findings"}
    assert data["status"] == "ok"
    assert set(data["facts"]) == {
        "ci",
        "stages",
        "python",
        "tests",
        "dependencies",
        "docker",
        "workflow_security_findings",
        "python_files",
        "notebooks",
        "large_files",
        "secrets",
        "mlrig",
        "skipped_checks",
    }
    assert data["facts"]["ci"]["covered"]["tests"] == ["unit-tests"]
    for item in data["findings"]:
        assert set(item) == {"id", "severity", "title", "detail", "fix", "paths"}
    assert sum(data["summary"].values()) == len(data["findings"])


def test_cli_exits_1_on_committed_secrets(gallery: dict[str, Path]) -> None:
    result = run_cli("doctor", "--json", str(gallery["requirements_only"]))
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["status"] == "problems"
    assert data["findings"][0]["id"] == "committed-secrets"
    assert FAKE_AWS_KEY_ID not in result.output


def test_cli_refuses_a_missing_directory_with_exit_2(tmp_path: Path) -> None:
    result = run_cli("doctor", str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert "is not a directory" in result.stderr
    assert "Traceback" not in result.output


def test_cli_refuses_a_folder_outside_git_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "train.py").write_text("print('hi')\n")
    result = run_cli("doctor", str(tmp_path / "plain"))
    assert result.exit_code == 2
    assert "not in a git repository" in result.stderr
    assert "git init" in result.stderr


def test_cli_help_documents_the_json_schema() -> None:
    result = run_cli("doctor", "--help")
    assert result.exit_code == 0
    for key in ("schema", "findings", "severity", "fix", "Exit codes"):
        assert key in result.output


# Coverage and stage checks from the repository model.


def test_a_deploy_job_that_mentions_train_is_no_metric_gate(tmp_path: Path) -> None:
    gitlab = (
        "deploy:\n  environment: production\n  script:\n"
        "    - python -m model.train --full && python -m model.evaluate\n"
        "    - scp model.pkl deploy@example.invalid:/srv/train/\n"
    )
    repo = make_repo(tmp_path / "r", {".gitlab-ci.yml": gitlab, "model/__init__.py": ""})
    ci = doctor(repo).ci
    assert ci.covered("train_smoke") == ci.covered("metric_gate") == ()
    assert ci.jobs[0].covers == ()


def test_lint_and_tests_run_through_mise_tasks_are_covered(tmp_path: Path) -> None:
    workflow = (
        "on: push\njobs:\n  check:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: mise run lint\n      - run: mise run test\n"
    )
    mise = '[tasks.lint]\nrun = "ruff check ."\n\n[tasks.test]\nrun = "pytest -q"\n'
    repo = make_repo(tmp_path / "r", {".github/workflows/ci.yml": workflow, "mise.toml": mise})
    ci = doctor(repo).ci
    assert ci.covered("lint") == ci.covered("tests") == ("check",)


def test_a_stage_reading_an_ignored_file_cannot_run_and_the_fix_adds_it(tmp_path: Path) -> None:
    gitlab = "train:\n  script:\n    - python -m model.train --data data/train.csv\n"
    repo = make_repo(
        tmp_path / "r",
        {".gitlab-ci.yml": gitlab, "model/__init__.py": "", "model/train.py": ""},
        ignore="data/\n",
    )
    found = finding(doctor(repo), "stage-cannot-run")
    assert "data/train.csv, which git ignores" in found.detail
    assert found.fix == "git add -f data/train.csv"


def test_a_ci_python_that_requires_python_refuses_is_reported(tmp_path: Path) -> None:
    workflow = (
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n"
        '        python-version: ["3.10", "3.12"]\n    steps:\n      - run: pytest\n'
    )
    pyproject = '[project]\nname = "x"\nrequires-python = ">=3.11"\n'
    repo = make_repo(
        tmp_path / "r", {".github/workflows/ci.yml": workflow, "pyproject.toml": pyproject}
    )
    found = finding(doctor(repo), "ci-python")
    assert "test (.github/workflows/ci.yml) uses 3.10" in found.detail
    assert "3.12" not in found.detail.split("uses", 1)[1]
    assert found.fix == "use Python 3.11 in .github/workflows/ci.yml"


def test_a_python_mlrig_cannot_serve_is_reported(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {".python-version": "3.9\n", "app.py": ""})
    found = finding(doctor(repo), "python-unsupported")
    assert "Python 3.9" in found.title
    assert found.paths == (".python-version",)
