"""``mlrig template test`` and ``mlrig template init``: house templates, healthy and broken."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlrig import new
from mlrig._version import __version__
from mlrig.commands.template_init import FIRST_VERSION, template_init
from mlrig.commands.template_test import TemplateTestResult, template_test
from mlrig.templates import builtin_template
from mlrig.validate import validate_tree
from tests.conftest import run_cli, tree
from tests.housetemplates import ALL_IDS, QUESTIONS, house_template
from tests.templaterepo import git, status


def _failing(result: TemplateTestResult) -> set[str]:
    return {c.id for c in result.combinations if c.status == "fail"}


def _status(result: TemplateTestResult) -> dict[str, str]:
    return {c.id: c.status for c in result.combinations}


# --- enumeration -------------------------------------------------------------------


@pytest.mark.slow
def test_healthy_house_template_passes_every_combination(tmp_path: Path) -> None:
    result = run_cli("template", "test", str(house_template(tmp_path / "house")))

    assert result.exit_code == 0, result.output
    # `runner` is asked only when ci is github, so it is not multiplied for ci none.
    rows = [line.split() for line in result.stdout.splitlines()[1:] if line.startswith("pass")]
    assert {row[2] for row in rows} == ALL_IDS
    assert "6 passed, 0 failed, 0 skipped of 6 combinations" in result.stdout


@pytest.mark.slow
def test_validator_rejection_is_skipped_not_failed(tmp_path: Path) -> None:
    questions = QUESTIONS.replace(
        "  default: true\n",
        "  default: false\n"
        "  validator: \"{% if docker and runner == 'windows-latest' %}"
        'Linux images only{% endif %}"\n',
    )
    root = house_template(tmp_path / "house", questions=questions)

    result = template_test(root)

    assert _status(result) == {
        **dict.fromkeys(ALL_IDS, "pass"),
        "github-windows-latest-docker": "skipped",
    }
    skipped = next(c for c in result.combinations if c.status == "skipped")
    assert "Linux images only" in skipped.reason
    assert result.ok


def test_a_default_the_validator_rejects_skips_that_combination(tmp_path: Path) -> None:
    # A later, unasked question whose default is valid only in some combinations.
    questions = QUESTIONS + (
        "image:\n"
        "  type: str\n"
        '  default: ""\n'
        '  validator: "{% if docker and not image %}name the image{% endif %}"\n'
    )
    root = house_template(tmp_path / "house", questions=questions)
    matrix = tmp_path / "matrix.yml"
    matrix.write_text("ci: [none]\n")

    result = template_test(root, matrix=matrix)

    assert _status(result) == {"none-docker": "skipped", "none-nodocker": "pass"}
    skipped = next(c for c in result.combinations if c.status == "skipped")
    assert "name the image" in skipped.reason


def test_matrix_file_replaces_the_enumeration(tmp_path: Path) -> None:
    root = house_template(tmp_path / "house")
    matrix = tmp_path / "matrix.yml"
    # A free-form question is multiplied too when the matrix lists its values.
    matrix.write_text("ci: [none]\ndocker: [false]\nproject_name: [alpha, beta]\n")

    result = template_test(root, matrix=matrix)

    assert list(_status(result)) == ["alpha-none-nodocker", "beta-none-nodocker"]
    assert result.combinations[0].answers["project_name"] == "alpha"
    assert result.ok


def test_progress_shows_each_combination_on_stderr_as_it_finishes(tmp_path: Path) -> None:
    root = house_template(tmp_path / "house")
    matrix = tmp_path / "matrix.yml"
    matrix.write_text("ci: [none]\n")

    result = run_cli("template", "test", str(root), "--matrix", str(matrix), "--jobs", "2")

    assert result.exit_code == 0, result.output
    progress = [line.split() for line in result.stderr.splitlines() if line.startswith("[")]
    assert sorted(progress) == [
        ["[1/2]", "pass", progress[0][2]],
        ["[2/2]", "pass", progress[1][2]],
    ]
    assert {row[2] for row in progress} == {"none-docker", "none-nodocker"}
    assert "[1/2]" not in result.stdout


def test_trusted_template_runs_its_tasks_for_each_combination(tmp_path: Path) -> None:
    marker = tmp_path / "tasks-ran.txt"
    tasks = f"_tasks:\n  - echo {{{{ ci }}}}-{{{{ docker }}}} >> {marker}\n"
    root = house_template(tmp_path / "house", questions=tasks + QUESTIONS)
    matrix = tmp_path / "matrix.yml"
    matrix.write_text("ci: [none]\n")

    refused = run_cli("template", "test", str(root), "--matrix", str(matrix))
    assert refused.exit_code == 2, refused.output
    assert not marker.exists()

    result = template_test(root, matrix=matrix, trust=True)

    assert _status(result) == {"none-docker": "pass", "none-nodocker": "pass"}
    assert sorted(marker.read_text().split()) == ["none-False", "none-True"]


def test_sample_is_deterministic_and_reported(tmp_path: Path) -> None:
    root = house_template(tmp_path / "house")
    matrix = tmp_path / "matrix.yml"
    matrix.write_text("ci: [none]\ndocker: [false]\nproject_name: [a, b, c]\n")
    report = tmp_path / "report.json"
    args = ["template", "test", str(root), "--matrix", str(matrix), "--sample", "2"]

    first = run_cli(*args, "--seed", "7", "--report", str(report))
    again = run_cli(*args, "--seed", "7", "--json")

    assert first.exit_code == 0, first.output
    data = json.loads(report.read_text())
    assert data["schema"] == 1
    assert data["sample"] == {"size": 2, "seed": 7}
    assert data["enumerated"] == 3
    assert data["summary"] == {"pass": 2, "fail": 0, "skipped": 0}
    assert json.loads(again.stdout)["combinations"] == data["combinations"]
    assert "a sample of 2 (seed 7)" in first.stdout


@pytest.mark.slow
def test_builtin_template_sample_passes() -> None:
    copier_yml = yaml.safe_load((builtin_template() / "copier.yml").read_text())
    multiplied = [
        2 if spec.get("type") == "bool" else len(spec["choices"])
        for name, spec in copier_yml.items()
        if not name.startswith("_")
        and spec.get("when", True) is not False
        and (spec.get("choices") or spec.get("type") == "bool")
    ]

    result = template_test(builtin_template(), sample=3, seed=1)

    assert result.enumerated == math.prod(multiplied)
    # Existing-repository combinations with the default (starter) commands are refused
    # by copier.yml's validators: skipped, never rendered.
    rendered = [c for c in result.combinations if c.status != "skipped"]
    assert [c.status for c in rendered] == ["pass"] * 3, [
        (c.id, [str(f) for f in c.findings]) for c in rendered
    ]
    assert all("existing_repo" in c.id.split("-") for c in result.combinations if c not in rendered)


# --- broken templates: the bug is reported for exactly its combinations -------------


@pytest.mark.slow
def test_invalid_workflow_fails_only_its_runner(tmp_path: Path) -> None:
    timeout = "{{ 'ten' if runner == 'windows-latest' else 10 }}"
    root = house_template(tmp_path / "house", timeout=timeout)
    report = tmp_path / "report.json"

    result = run_cli("template", "test", str(root), "--report", str(report))

    assert result.exit_code == 1, result.output
    data = json.loads(report.read_text())
    statuses = {c["id"]: c["status"] for c in data["combinations"]}
    failing = {"github-windows-latest-docker", "github-windows-latest-nodocker"}
    assert statuses == {i: "fail" if i in failing else "pass" for i in ALL_IDS}
    for combo in data["combinations"]:
        if combo["id"] in failing:
            assert combo["answers"]["runner"] == "windows-latest"
            tools = {f["tool"] for f in combo["findings"]}
            assert "schema:vendor.github-workflows" in tools, combo["findings"]
    assert "4 passed, 2 failed" in result.stdout


@pytest.mark.slow
def test_bad_dockerfile_fails_only_its_combination(tmp_path: Path) -> None:
    dockerfile = "FROM python{% if ci == 'github' %}:3.12-slim{% endif %}\nUSER 65534\n"
    root = house_template(tmp_path / "house", dockerfile=dockerfile)

    result = template_test(root)

    assert _failing(result) == {"none-docker"}
    findings = next(c for c in result.combinations if c.id == "none-docker").findings
    assert [f.tool for f in findings] == ["hadolint"]
    assert "DL3006" in findings[0].message
    assert result.count("pass") == 5


@pytest.mark.slow
def test_leftover_jinja_fails_only_its_runner(tmp_path: Path) -> None:
    # Where `runner` is not asked (ci none) it takes its default, ubuntu-latest.
    readme = (
        "# {{ project_name }}\n{% if runner == 'windows-latest' %}"
        "{% raw %}Run {{ command }} to start.{% endraw %}\n{% endif %}"
    )
    root = house_template(tmp_path / "house", readme=readme)

    result = template_test(root)

    assert _failing(result) == {"github-windows-latest-docker", "github-windows-latest-nodocker"}
    for combo in result.combinations:
        if combo.status == "fail":
            assert [f.tool for f in combo.findings] == ["jinja"]
            assert "README.md:2" in combo.findings[0].message


def test_render_error_is_a_failure(tmp_path: Path) -> None:
    readme = "{% if not docker %}{{ undefined_name.attribute }}{% endif %}\n"
    root = house_template(tmp_path / "house", readme=readme)
    matrix = tmp_path / "matrix.yml"
    matrix.write_text("ci: [none]\n")

    result = template_test(root, matrix=matrix)

    assert _status(result) == {"none-docker": "pass", "none-nodocker": "fail"}
    finding = next(c for c in result.combinations if c.status == "fail").findings[0]
    assert finding.tool == "copier"
    assert "undefined_name" in finding.message


# --- bad input: one line, documented exit code, nothing written ----------------------


def test_unreachable_template_exits_3(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    url = (tmp_path / "missing.git").as_uri()

    result = run_cli("template", "test", url, "--report", str(report))

    assert result.exit_code == 3
    assert result.stderr.count("\n") == 2  # the progress line and the one-line error
    assert "cannot reach template" in result.stderr
    assert not report.exists()


def test_directory_without_copier_yml_exits_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()

    result = run_cli("template", "test", str(tmp_path / "empty"))

    assert result.exit_code == 2
    assert "copier.yml" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("ci: [github\n", "not valid YAML"),
        ("- ci\n", "must map question names"),
        ("colour: [red]\n", "unknown questions: colour"),
        ("ci: github\n", "ci must be a non-empty list"),
        ("ci: [gitlab]\n", "'gitlab' is not a valid value for ci"),
        ("docker: [maybe]\n", "'maybe' is not a valid value for docker"),
    ],
)
def test_bad_matrix_file_exits_2(tmp_path: Path, content: str, message: str) -> None:
    root = house_template(tmp_path / "house")
    matrix = tmp_path / "matrix.yml"
    matrix.write_text(content)
    report = tmp_path / "report.json"

    result = run_cli(
        "template", "test", str(root), "--matrix", str(matrix), "--report", str(report)
    )

    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not report.exists()


def test_question_that_cannot_render_is_one_line_error(tmp_path: Path) -> None:
    questions = QUESTIONS.replace("when: \"{{ ci == 'github' }}\"", 'when: "{{ ci == }}"')
    assert questions != QUESTIONS
    root = house_template(tmp_path / "house", questions=questions)

    result = run_cli("template", "test", str(root))

    assert result.exit_code == 1
    assert "its questions fail to render" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_sample_must_be_positive(tmp_path: Path) -> None:
    result = run_cli("template", "test", str(tmp_path), "--sample", "0")

    assert result.exit_code == 2


# --- template init ---------------------------------------------------------------


def test_init_refuses_a_non_empty_destination(tmp_path: Path) -> None:
    dest = tmp_path / "house"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine\n")

    result = run_cli("template", "init", str(dest))

    assert result.exit_code == 2
    assert "is not empty" in result.stderr
    assert tree(tmp_path) == ["house", "house/notes.txt"]


def test_init_makes_a_tagged_template_with_its_own_tests_and_ci(tmp_path: Path) -> None:
    dest = tmp_path / "org" / "ml-template"

    result = run_cli("template", "init", str(dest))

    assert result.exit_code == 0, result.output
    assert git(dest, "tag", "--points-at", "HEAD") == FIRST_VERSION
    assert git(dest, "branch", "--show-current") == "main"
    assert status(dest) == []
    assert (dest / "copier.yml").read_text() == (builtin_template() / "copier.yml").read_text()
    workflow = (dest / ".github/workflows/template-test.yml").read_text()
    assert f"mlrig[validate]=={__version__}" in workflow
    readme = (dest / "README.md").read_text()
    assert "git tag v0.2.0" in readme
    assert "mlrig new my-model --template" in readme
    # The template repository's own files pass the validators mlrig applies to projects.
    own = tmp_path / "own-files"
    own.mkdir()
    for name in (".github", "tests", "README.md", "pytest.ini"):
        source = dest / name
        if source.is_dir():
            shutil.copytree(source, own / name)
        else:
            shutil.copy(source, own / name)
    assert validate_tree(own) == []
    assert "pytest.ini" in tree(own)


@pytest.mark.slow
def test_init_template_passes_its_test_and_renders_projects(tmp_path: Path) -> None:
    dest = tmp_path / "ml-template"
    created = template_init(dest)
    assert created.tag == FIRST_VERSION

    tested = template_test(dest, ref="HEAD", sample=2)
    assert [c.status for c in tested.combinations if c.status != "skipped"] == ["pass", "pass"]
    # The template's own test suite, as its CI runs it (one combination, to be quick).
    env = {**os.environ, "MLRIG_SAMPLE": "1"}
    own = subprocess.run(
        [sys.executable, "-m", "pytest", "-q"], cwd=dest, env=env, capture_output=True, text=True
    )
    assert own.returncode == 0, own.stdout + own.stderr
    assert "1 passed" in own.stdout
    assert status(dest) == []  # its caches are ignored

    project = tmp_path / "my-model"
    made = new(project, answers={"framework": "none"}, template=str(dest))
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == FIRST_VERSION
    assert answers["framework"] == "none"
    assert "pyproject.toml" in made.files
    assert not (project / "tests" / "test_template.py").exists()
