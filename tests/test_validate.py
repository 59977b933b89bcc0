"""Every validator is wired in: each is fed a known-bad file and must report it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mlrig import EnvironmentProblem, validate
from mlrig.validate import Check, validate_pipelines, validate_tree, validate_trees

PINNED_CHECKOUT = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1"
GOOD_WORKFLOW = f"""\
name: CI
on:
  push:
permissions: {{}}
concurrency:
  group: ${{{{ github.workflow }}}}-${{{{ github.ref }}}}
  cancel-in-progress: true
jobs:
  test:
    name: Test
    runs-on: ubuntu-latest
    timeout-minutes: 5
    steps:
      - uses: {PINNED_CHECKOUT}
        with:
          persist-credentials: false
      - run: echo "hello"
"""

BAD_FILES: dict[str, tuple[str, str, str]] = {
    # id: (relative path, content, tool expected to report it)
    "workflow-schema": (
        ".github/workflows/ci.yml",
        GOOD_WORKFLOW.replace("    steps:", "    stepz: []\n    steps:"),
        "schema:vendor.github-workflows",
    ),
    "workflow-without-timeout": (
        ".github/workflows/ci.yml",
        GOOD_WORKFLOW.replace("    timeout-minutes: 5\n", ""),
        "schema:custom.github-workflows-require-timeout",
    ),
    "actionlint-job-graph": (
        ".github/workflows/ci.yml",
        GOOD_WORKFLOW.replace(
            "    timeout-minutes: 5", "    timeout-minutes: 5\n    needs: nowhere"
        ),
        "actionlint",
    ),
    "actionlint-shellcheck": (
        ".github/workflows/ci.yml",
        GOOD_WORKFLOW.replace('echo "hello"', "cat $HOME/*.txt | grep x"),
        "actionlint",
    ),
    "zizmor-unpinned-action": (
        ".github/workflows/ci.yml",
        GOOD_WORKFLOW.replace(PINNED_CHECKOUT, "actions/checkout@v7"),
        "zizmor",
    ),
    "zizmor-template-injection": (
        ".github/workflows/ci.yml",
        GOOD_WORKFLOW.replace('echo "hello"', 'echo "${{ github.head_ref }}"'),
        "zizmor",
    ),
    "dependabot-schema": (
        ".github/dependabot.yml",
        "version: 3\nupdates: []\n",
        "schema:vendor.dependabot",
    ),
    "gitlab-schema": (
        ".gitlab-ci.yml",
        "test:\n  script: 1\n  stage: [x]\n",
        "schema:vendor.gitlab-ci",
    ),
    "hadolint": ("Dockerfile", "FROM python\nRUN pip install requests\n", "hadolint"),
    "yamllint-duplicate-key": ("config.yml", "a: 1\na: 2\n", "yamllint"),
    "shellcheck": ("run.sh", "#!/bin/sh\nrm -rf $1/*\n", "shellcheck"),
    "ruff-check": ("src/pkg/mod.py", "import os\n", "ruff"),
    "ruff-format": ("src/pkg/mod.py", "x=1\n", "ruff-format"),
    "jinja-leftover": ("README.md", "# {{ project_name }}\n", "jinja"),
    "jinja-block-leftover": ("src/pkg/mod.py", "# {% if docker %}\n", "jinja"),
    "jinja-suffix-leftover": ("Dockerfile.jinja", "FROM python:3.12-slim\n", "jinja"),
}


def test_a_clean_tree_has_no_findings(tmp_path: Path) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text(GOOD_WORKFLOW)
    (tmp_path / "mod.py").write_text('print("${{ not jinja }}")\n')
    assert validate_tree(tmp_path) == []


def test_known_bad_file_is_caught(tmp_path: Path, subtests: pytest.Subtests) -> None:
    """Each bad file in a tree of its own; the trees are validated as one batch."""
    roots = []
    for name, (path, content, _) in BAD_FILES.items():
        target = tmp_path / name / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        roots.append(tmp_path / name)
    for (name, (_, _, tool)), findings in zip(
        BAD_FILES.items(), validate_trees(roots), strict=True
    ):
        with subtests.test(name):
            assert tool in {finding.tool for finding in findings}, findings


def test_answers_are_not_reported_as_leftover_jinja(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(
        "# demo\n\nUses {{ braces }} on purpose.\n{{ left_over }}\n"
    )
    findings = validate_tree(tmp_path, answers=["Uses {{ braces }} on purpose."])
    assert [f.message for f in findings] == ["README.md:4: Jinja left over: {{ left_over }}"]


def test_missing_validator_is_an_environment_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "nowhere" / "python"))
    with pytest.raises(EnvironmentProblem, match="validator not found: hadolint"):
        validate_tree(tmp_path)


GITLAB_WITH_REFERENCE = """\
.setup:
  script:
    - echo setup
test:
  script:
    - !reference [.setup, script]
    - pytest
"""

PIPELINE_CASES = {
    "clean": (
        {".github/workflows/ci.yml": GOOD_WORKFLOW, ".gitlab-ci.yml": GITLAB_WITH_REFERENCE},
        set(),
    ),
    "duplicate-key": (
        {".github/workflows/ci.yml": "on: push\non: pull_request\n"},
        {"yaml", "actionlint"},
    ),
    "workflow-schema": (
        {
            ".github/workflows/ci.yml": GOOD_WORKFLOW.replace(
                "    steps:", "    stepz: []\n    steps:"
            )
        },
        {"schema:vendor.github-workflows", "actionlint"},
    ),
    "gitlab-schema": ({".gitlab-ci.yml": "test:\n  script: 1\n"}, {"schema:vendor.gitlab-ci"}),
}


@pytest.mark.parametrize(("files", "tools"), PIPELINE_CASES.values(), ids=PIPELINE_CASES.keys())
def test_validate_pipelines(tmp_path: Path, files: dict[str, str], tools: set[str]) -> None:
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content)
    assert {finding.tool for finding in validate_pipelines(tmp_path)} == tools


# --- many trees at once: each gets the findings it gets alone ----------------------

YAML_WARNING = "a: 1  #no space after the hash: a warning, which alone fails nothing\n"
YAML_ERROR = "a: 1\na: 2\n"
UNTAGGED_IMAGE = "FROM python\n"


def _trees(root: Path, trees: dict[str, dict[str, str]]) -> list[Path]:
    for name, files in trees.items():
        for path, content in files.items():
            (root / name / path).parent.mkdir(parents=True, exist_ok=True)
            (root / name / path).write_text(content)
    return [root / name for name in trees]


def test_trees_validated_together_get_their_own_findings(tmp_path: Path) -> None:
    roots = _trees(
        tmp_path,
        {
            "warning-only": {"config.yml": YAML_WARNING},
            "warning-and-error": {"config.yml": YAML_WARNING, "other.yml": YAML_ERROR},
            "untagged": {"Dockerfile": UNTAGGED_IMAGE},
            "untagged-too": {"Dockerfile": UNTAGGED_IMAGE, "run.sh": BAD_FILES["shellcheck"][1]},
            "clean": {".github/workflows/ci.yml": GOOD_WORKFLOW},
        },
    )

    together = validate_trees(roots)

    assert together == [validate_tree(root) for root in roots]
    warning_only, warning_and_error, untagged, untagged_too, clean = together
    assert warning_only == []
    # yamllint fails that tree, so its report has the warning beside the error.
    assert [f.message.split(" ")[1] for f in warning_and_error] == ["[warning]", "[error]"]
    assert [f.tool for f in untagged] == ["hadolint"]
    assert [f.tool for f in untagged_too] == ["hadolint", "shellcheck", "shellcheck"]
    assert clean == []


def test_a_validator_stopping_on_one_tree_still_checks_the_others(tmp_path: Path) -> None:
    unpinned = GOOD_WORKFLOW.replace(PINNED_CHECKOUT, "actions/checkout@v7")
    # zizmor stops at a workflow it cannot parse, for every file of its run.
    roots = _trees(
        tmp_path,
        {
            "broken": {".github/workflows/ci.yml": "on: [push\n"},
            "unpinned": {".github/workflows/ci.yml": unpinned},
        },
    )

    together = validate_trees(roots)

    assert together == [validate_tree(root) for root in roots]
    assert any("unpinned-uses" in f.message for f in together[1] if f.tool == "zizmor")


def test_results_carry_from_batch_to_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    roots = _trees(
        tmp_path,
        {
            "first": {"config.yml": YAML_WARNING, "Dockerfile": UNTAGGED_IMAGE},
            "second": {"config.yml": YAML_WARNING, "other.yml": YAML_ERROR},
        },
    )
    alone = [validate_tree(root) for root in roots]
    argv: list[str] = []
    start = validate.start_checks

    def recording(root: Path, checks: list[Check], *, require: bool) -> object:
        argv.extend(arg for check in checks for arg in check.argv)
        return start(root, checks, require=require)

    monkeypatch.setattr(validate, "start_checks", recording)
    known: dict[object, list[str]] = {}

    batches = validate_trees(roots[:1], known=known) + validate_trees(roots[1:], known=known)

    # The second tree's config.yml is the first's: its warning is remembered, not re-checked.
    assert batches == alone
    assert "yamllint" in {f.tool for f in batches[1]}
    assert sum(arg.endswith("config.yml") for arg in argv) == 1
