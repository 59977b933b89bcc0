"""Versioned data: ``data_versioning=dvc`` tracks the starter dataset with DVC.

The generated project holds ``data/train.csv.dvc`` (the CSV's md5 and size, as ``dvc add``
writes them), keeps the CSV itself out of git (``data/.gitignore``), and every job that
reads the data (data checks, train, monitor; GitHub and GitLab) pulls it from the remote
the CI variable ``DVC_REMOTE_URL`` names first. ``train`` records the data version
(``data_md5``) beside the metrics. The slow tests run DVC itself (see test_e2e_dvc.py).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from mlrig import builtin_template
from mlrig.commands.doctor import doctor
from mlrig.errors import InvalidInputError
from mlrig.validate import validate_trees
from tests.conftest import make_answers
from tests.templaterepo import commit_project, git

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

SHIPPED_CSV = Path(__file__).resolve().parent.parent / "templates/ml/project/data/train.csv"
DVC_FILES = (".dvc/config", ".dvc/.gitignore", "data/train.csv.dvc", "data/.gitignore")


def _dvc_outs(project: Path) -> list[dict[str, object]]:
    data = yaml.safe_load((project / "data/train.csv.dvc").read_text(encoding="utf-8"))
    outs: list[dict[str, object]] = data["outs"]
    return outs


def test_the_dvc_file_records_the_md5_and_size_of_the_shipped_csv(
    render: Callable[..., Path],
) -> None:
    project = render(data_versioning="dvc")
    shipped = SHIPPED_CSV.read_bytes()
    assert _dvc_outs(project) == [
        {
            "md5": hashlib.md5(shipped, usedforsecurity=False).hexdigest(),
            "size": len(shipped),
            "hash": "md5",
            "path": "train.csv",
        }
    ]
    # The rendered CSV is the shipped one, so `dvc add` on it leaves the .dvc file as it is.
    assert (project / "data/train.csv").read_bytes() == shipped


def test_dvc_project_keeps_the_csv_out_of_git_and_the_remote_out_of_the_repository(
    render: Callable[..., Path],
) -> None:
    project = render(data_versioning="dvc")
    assert (project / "data/.gitignore").read_text() == "/train.csv\n"
    assert "/config.local" in (project / ".dvc/.gitignore").read_text().splitlines()
    config = (project / ".dvc/config").read_text()
    assert "remote = storage" in config
    assert "url" not in config  # the remote's URL comes from DVC_REMOTE_URL or config.local
    dev = tomllib.loads((project / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["dev"]
    assert any(dep.startswith("dvc[s3]") for dep in dev)


def test_without_dvc_nothing_of_dvc_is_rendered(render: Callable[..., Path]) -> None:
    project = render()
    assert [name for name in DVC_FILES if (project / name).exists()] == []
    texts = [
        (project / name).read_text()
        for name in (".github/workflows/ci.yml", ".github/workflows/monitor.yml", "pyproject.toml")
    ]
    assert not any("dvc" in text.lower() for text in texts)


def _steps(workflow: Path, job: str) -> list[str]:
    data = yaml.safe_load(workflow.read_text())
    return [step.get("name", "") for step in data["jobs"][job]["steps"]]


def test_every_job_that_reads_the_data_pulls_it_first_on_both_providers(
    render: Callable[..., Path], subtests: pytest.Subtests
) -> None:
    managers = ("uv", "pip")
    projects = [
        render(data_versioning="dvc", ci_provider="both", package_manager=manager)
        for manager in managers
    ]
    for manager, project, findings in zip(
        managers, projects, validate_trees(projects), strict=True
    ):
        with subtests.test(manager):
            assert findings == []
            _pulls_first(project, manager)


def _pulls_first(project: Path, package_manager: str) -> None:
    run = "uv run " if package_manager == "uv" else ""

    ci = project / ".github/workflows/ci.yml"
    pull = "Pull the dataset (DVC)"
    data_steps = _steps(ci, "data")
    assert data_steps.index(pull) < data_steps.index(
        "Check the dataset (schema, ranges, nulls, row count)"
    )
    train_steps = _steps(ci, "train")
    assert train_steps.index(pull) < train_steps.index("Train (smoke run)")
    assert pull not in _steps(ci, "test") + _steps(ci, "lint")
    monitor_steps = _steps(project / ".github/workflows/monitor.yml", "monitor")
    assert monitor_steps.index(pull) < monitor_steps.index(
        "Monitor the published model on the newest data"
    )
    step = next(
        s for s in yaml.safe_load(ci.read_text())["jobs"]["data"]["steps"] if s.get("name") == pull
    )
    assert step["env"]["DVC_REMOTE_URL"] == "${{ vars.DVC_REMOTE_URL }}"
    assert f'{run}dvc remote add --local --force storage "$DVC_REMOTE_URL"' in step["run"]
    assert f"{run}dvc pull ||" in step["run"]

    gitlab = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    for job in ("data", "train", "monitor"):
        first = gitlab[job]["script"][0]
        assert f"{run}dvc pull ||" in first, job
        assert "DVC_REMOTE_URL" in first
    assert not any("dvc" in line for line in gitlab["test"]["script"])


def test_train_records_the_data_version_beside_the_metrics(
    render: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = render(data_versioning="dvc", framework="none")
    monkeypatch.syspath_prepend(str(project / "src"))
    train = importlib.import_module("demo_model.train")
    try:
        out = project / "artifacts"
        data = project / "data/train.csv"
        assert train.main(["--data", str(data), "--out", str(out)]) == 0
    finally:
        for name in [m for m in sys.modules if m.startswith("demo_model")]:
            del sys.modules[name]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data_md5"] == _dvc_outs(project)[0]["md5"]
    assert {"accuracy", "f1"} <= set(metrics)


def test_dvc_is_for_new_projects_only() -> None:
    assert make_answers(data_versioning="dvc").data_versioning == "dvc"
    assert make_answers().data_versioning == "none"
    with pytest.raises(InvalidInputError, match="data_versioning: 'dvc' is for new projects"):
        make_answers(
            data_versioning="dvc",
            existing_repo=True,
            install_command="pip install -e .",
            lint_command="none",
            test_command="pytest",
            data_command="none",
            train_command="python train.py",
        )
    with pytest.raises(InvalidInputError, match="'git-lfs' is not one of: none, dvc"):
        make_answers(data_versioning="git-lfs")


def test_doctor_points_large_data_at_the_dvc_commands_the_pipelines_use(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / "README.md").write_text("hi\n")
    commit_project(repo, "init")
    with (repo / "features.parquet").open("wb") as handle:
        handle.truncate(11 * 1024 * 1024)  # untracked, over the 10 MB limit
    large = next(f for f in doctor(repo).findings if f.id == "large-files")
    assert large.fix == "dvc add features.parquet && dvc push"
    for command in ("git rm --cached PATH", "dvc add PATH", "dvc push", "dvc pull"):
        assert f"`{command}`" in large.detail, command
    assert "data_versioning=dvc" in large.detail


def test_the_template_matrix_renders_dvc_beside_every_value_of_every_other_question() -> None:
    from tests.test_template_matrix import COMBINATIONS

    seen: dict[tuple[str, str], set[object]] = {}
    for combo in COMBINATIONS:
        for key, value in combo.items():
            seen.setdefault((key, str(value)), set()).add(combo["data_versioning"])
    lacking = [pair for pair, kinds in seen.items() if kinds != {"none", "dvc"}]
    assert lacking == [("data_versioning", "none"), ("data_versioning", "dvc")], lacking


def test_plain_copier_refuses_dvc_for_an_existing_repository(tmp_path: Path) -> None:
    from copier import run_copy

    source = shutil.copytree(builtin_template(), tmp_path / "template")
    data = {"existing_repo": True, "data_versioning": "dvc"}
    with pytest.raises(ValueError, match="must be 'none' for an existing repository"):
        run_copy(str(source), tmp_path / "p", data=data, defaults=True, quiet=True)
