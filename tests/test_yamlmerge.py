"""The pipeline merge keeps every byte of the user's file and adds only mlrig's jobs."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from mlrig._yamlmerge import (
    MAX_PIPELINE_BYTES,
    job_names,
    merge_github,
    merge_gitlab,
    read_pipeline,
    select_jobs,
)
from mlrig.errors import InvalidInputError

OURS_GITHUB = """\
name: CI
on:
  push:
permissions: {}
concurrency:
  group: ci
env:
  FORCE_COLOR: "1"

jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - run: ruff check .

  test:
    runs-on: ubuntu-latest
    steps:
      - run: pytest

  # Trains on a sample and gates the metric.
  train:
    needs: [test]
    runs-on: ubuntu-latest
    steps:
      - name: Train
        run: >-
          python -m demo.train
          --data data/train.csv

      - uses: actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f # v7.0.0

  docker:
    needs: [lint, test, train]
    runs-on: ubuntu-latest
    steps:
      - run: docker build .
"""

USER_GITHUB = """\
# Our CI. Keep the matrix in sync with requires-python.
name: Build
'on':
  push: {branches: [main]}   # flow style, kept as is
permissions:
  contents: read

jobs:
    test:                     # four-space indentation
        runs-on: &runner ubuntu-latest
        steps:
            - run: pytest -q
    deploy:
        needs: test
        runs-on: *runner
        steps:
            - run: ./deploy.sh
    # old-job: disabled until the cluster is back
# trailing comment of the file
"""

OURS_GITLAB = """\
workflow:
  rules:
    - if: $CI_COMMIT_BRANCH

stages:
  - lint
  - test
  - train
  - build

default:
  interruptible: true

.python:
  image: python:3.12-slim
  before_script:
    - uv sync

lint:
  extends: .python
  stage: lint
  script:
    - ruff check .

test:
  extends: .python
  stage: test
  script:
    - pytest

train:
  extends: .python
  stage: train
  needs:
    - job: test
      artifacts: false
  script:
    - python -m demo.train

# Docker-in-Docker build.
docker-build:
  stage: build
  needs: [lint, test, train]
  script:
    - docker build .
"""

USER_GITLAB = """\
# Pipeline of the forecaster.
include:
  - local: ci/docker.yml

stages:
  - quality
  - test   # unit tests only
  - package

variables:
  PIP_CACHE_DIR: "$CI_PROJECT_DIR/.cache/pip"

.python: &python  # shared by every job
  image: python:3.11-slim
  before_script:
    - pip install -r requirements.txt

lint:
  <<: *python
  stage: quality
  script:
    - ruff check forecast

unit-tests:
  extends: .python
  stage: test
  script:
    - !reference [.python, before_script]
    - pytest -q
"""


def only_insertions(before: str, after: str) -> list[str]:
    """The lines ``after`` adds to ``before``; fails when any line of ``before`` changed."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    inserted: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
        None, old, new, autojunk=False
    ).get_opcodes():
        assert tag in ("equal", "insert"), f"changed user lines: {old[i1:i2]!r} -> {new[j1:j2]!r}"
        if tag == "insert":
            inserted.extend(new[j1:j2])
    return inserted


def load(text: str) -> Any:
    data = YAML(typ="rt").load(text)
    assert isinstance(data, dict)
    return data


def test_github_merge_only_inserts_mlrig_jobs_after_the_users_jobs() -> None:
    result = merge_github(USER_GITHUB, OURS_GITHUB, name="ci.yml")

    assert result.added == ("lint", "train", "docker")
    assert result.kept == ("test",)
    inserted = "".join(only_insertions(USER_GITHUB, result.text))
    # Everything up to the user's last job line is byte-identical, and so is the tail.
    head = USER_GITHUB.split("# trailing")[0]
    assert result.text.startswith(head)
    assert result.text.endswith("        - run: docker build .\n# trailing comment of the file\n")
    # mlrig's jobs start at the user's job column (mlrig's own indentation inside), with
    # mlrig's comments and pins.
    assert "\n    train:\n      needs: [test]\n" in inserted
    assert "    # Trains on a sample and gates the metric.\n" in inserted
    assert "# v7.0.0\n" in inserted
    merged = load(result.text)
    jobs = merged["jobs"]
    assert isinstance(jobs, dict)
    assert list(jobs) == ["test", "deploy", "lint", "train", "docker"]
    assert jobs["train"]["steps"][0]["run"] == "python -m demo.train --data data/train.csv"
    # Every needs: points at a job that exists (the user's `test` satisfies mlrig's).
    for job in jobs.values():
        needs = job.get("needs", [])
        assert set([needs] if isinstance(needs, str) else needs) <= set(jobs)


def test_github_merge_reports_settings_kept_and_missing() -> None:
    notes = merge_github(USER_GITHUB, OURS_GITHUB, name="ci.yml").notes

    assert "kept your `on:`; mlrig's differs and was not merged" in notes
    assert "kept your `permissions:`; mlrig's differs and was not merged" in notes
    assert any("`concurrency:` was not added" in note for note in notes)


def test_github_merge_with_only_brings_the_jobs_a_job_needs() -> None:
    user = "on: push\njobs:\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - run: x\n"

    result = merge_github(user, OURS_GITHUB, name="ci.yml", only={"docker"})

    assert result.added == ("test", "train", "docker")
    assert result.kept == ("lint",)
    assert result.text.startswith(user)


def test_github_merge_of_a_file_with_every_job_already_there_changes_nothing() -> None:
    result = merge_github(OURS_GITHUB, OURS_GITHUB, name="ci.yml")

    assert result.text == OURS_GITHUB
    assert result.added == ()
    assert result.kept == ("lint", "test", "train", "docker")


def test_gitlab_merge_keeps_the_user_file_and_unions_stages_in_the_users_order() -> None:
    result = merge_gitlab(USER_GITLAB, OURS_GITLAB, name=".gitlab-ci.yml")

    assert result.added == ("test", "train", "docker-build")
    assert result.kept == ("lint",)
    inserted = only_insertions(USER_GITLAB, result.text)
    assert result.text.startswith(USER_GITLAB.split("  - package")[0])
    merged = load(result.text)
    assert merged["stages"] == ["quality", "test", "train", "build", "package"]
    assert inserted[:2] == ["  - train\n", "  - build\n"]
    # The user's anchors, alias, !reference and comments are untouched.
    for line in USER_GITLAB.splitlines():
        assert line in result.text.splitlines()
    # mlrig's .python differs from the user's: it comes in under its own name.
    assert ".mlrig-python:\n  image: python:3.12-slim\n" in "".join(inserted)
    assert merged["test"]["extends"] == ".mlrig-python"
    assert merged["unit-tests"]["extends"] == ".python"
    assert "# Docker-in-Docker build.\ndocker-build:\n" in "".join(inserted)
    assert "kept your `workflow:`" not in " ".join(result.notes)
    assert any("`workflow:` was not added" in note for note in result.notes)
    assert any("added as `.mlrig-python`" in note for note in result.notes)


def test_gitlab_merge_adds_stages_when_the_user_has_none() -> None:
    user = "build-it:\n  stage: build\n  script:\n    - make\n"

    result = merge_gitlab(user, OURS_GITLAB, name=".gitlab-ci.yml")

    assert result.text.startswith(user)
    merged = load(result.text)
    # GitLab's default stages (the user's jobs use them) keep their order.
    assert merged["stages"] == ["lint", "build", "test", "train", "deploy"]
    assert ".python" in merged
    assert merged["lint"]["extends"] == ".python"


def test_gitlab_merge_rewrites_a_one_line_flow_stage_list_only() -> None:
    user = "stages: [test, deploy]  # short\nunit:\n  stage: test\n  script: [pytest]\n"

    result = merge_gitlab(user, OURS_GITLAB, name=".gitlab-ci.yml", only={"lint"})

    assert result.text.splitlines()[0] == "stages: [lint, test, deploy]  # short"
    assert result.text.splitlines()[1:4] == user.splitlines()[1:4]
    assert result.added == ("lint",)


def test_gitlab_hidden_templates_and_keywords_are_not_jobs() -> None:
    assert job_names(USER_GITLAB, gitlab=True) == ("lint", "unit-tests")
    assert job_names(OURS_GITHUB, gitlab=False) == ("lint", "test", "train", "docker")


def test_select_jobs_keeps_only_the_chosen_jobs_and_their_needs() -> None:
    text = select_jobs(OURS_GITLAB, {"train"}, gitlab=True, name=".gitlab-ci.yml")

    assert job_names(text, gitlab=True) == ("test", "train")
    assert ".python:" in text
    assert "docker-build" not in text
    assert select_jobs(OURS_GITHUB, {"nothing"}, gitlab=False, name="ci.yml") == ""


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("jobs:\n  a: [1\n  b: 2\n", "ci.yml:3: not valid YAML"),
        (
            "on: push\njobs:\n  a:\n    x: 1\n  a:\n    x: 2\n",
            'ci.yml:5: not valid YAML (found duplicate key "a"',
        ),
        ("jobs: {}\n\0\0binary", "ci.yml is binary"),
        (b"\xff\xfe\x00jobs".decode("latin-1"), "ci.yml is binary"),
    ],
)
def test_bad_pipeline_files_are_refused_with_the_file_and_line(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "ci.yml"
    path.write_bytes(content.encode("latin-1"))

    with pytest.raises(InvalidInputError) as caught:
        read_pipeline(path, "ci.yml")

    assert str(caught.value).startswith(expected)
    assert caught.value.exit_code == 2


def test_a_huge_pipeline_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ci.yml"
    with path.open("wb") as handle:
        handle.write(b"jobs: {}\n#")
        handle.truncate(MAX_PIPELINE_BYTES + 1)

    with pytest.raises(InvalidInputError, match=r"ci\.yml is 5\.0 MB, larger than 5\.0 MB"):
        read_pipeline(path, "ci.yml")


def test_a_valid_pipeline_file_is_read_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / ".gitlab-ci.yml"
    path.write_text(USER_GITLAB)

    assert read_pipeline(path, ".gitlab-ci.yml") == USER_GITLAB


def test_gitlab_jobs_of_local_includes_count_as_the_users() -> None:
    result = merge_gitlab(
        USER_GITLAB, OURS_GITLAB, name=".gitlab-ci.yml", included={"train": "package"}
    )

    assert "train" in result.kept
    assert "train" not in result.added
    # mlrig's docker-build (stage build) now needs the user's train of the later stage package.
    assert any(
        "`docker-build` (stage build) needs `train` of the later stage package" in n
        for n in result.problems
    )


def test_gitlab_needs_on_a_later_stage_is_reported() -> None:
    user = "stages: [build, test]\nunit:\n  stage: test\n  script: [pytest]\n"

    result = merge_gitlab(user, OURS_GITLAB, name=".gitlab-ci.yml")

    assert load(result.text)["stages"] == ["lint", "build", "test", "train"]
    assert any(
        "`docker-build` (stage build) needs `test` of the later stage test" in n
        for n in result.problems
    )
    assert not any(n.startswith("`train`") for n in result.problems)
    # A merge without such a need has no problem.
    assert merge_gitlab(USER_GITLAB, OURS_GITLAB, name=".gitlab-ci.yml").problems == ()


def test_a_crlf_file_stays_crlf_and_byte_identical() -> None:
    user = USER_GITHUB.replace("\n", "\r\n")

    result = merge_github(user, OURS_GITHUB, name="ci.yml")

    assert result.text.count("\n") == result.text.count("\r\n")
    assert result.text.startswith(user.split("# trailing")[0])
    assert (
        result.text.replace("\r\n", "\n")
        == merge_github(USER_GITHUB, OURS_GITHUB, name="ci.yml").text
    )


def test_an_empty_gitlab_file_gets_mlrigs_jobs_and_stages() -> None:
    result = merge_gitlab("", OURS_GITLAB, name=".gitlab-ci.yml")

    merged = load(result.text)
    assert result.added == ("lint", "test", "train", "docker-build")
    assert merged["stages"] == ["lint", "build", "test", "train", "deploy"]
    assert merged["train"]["extends"] == ".python"


def test_flow_style_jobs_are_refused_with_a_fix() -> None:
    user = "on: push\njobs: {a: {runs-on: x, steps: [{run: y}]}}\n"

    with pytest.raises(InvalidInputError, match=r"ci\.yml: `jobs:` is written in flow style"):
        merge_github(user, OURS_GITHUB, name="ci.yml")


def _merge(user: str, gitlab: bool) -> str:
    if gitlab:
        return merge_gitlab(user, OURS_GITLAB, name=".gitlab-ci.yml").text
    return merge_github(user, OURS_GITHUB, name="ci.yml").text


@pytest.mark.parametrize("gitlab", [False, True], ids=["github", "gitlab"])
def test_a_crlf_pipeline_gets_crlf_insertions(gitlab: bool) -> None:
    user = (USER_GITLAB if gitlab else USER_GITHUB).replace("\n", "\r\n")

    merged = _merge(user, gitlab)

    assert merged.count("\n") == merged.count("\r\n")
    assert len(merged) > len(user)
    load(merged)


@pytest.mark.parametrize("gitlab", [False, True], ids=["github", "gitlab"])
def test_a_file_without_a_final_newline_gets_nothing_but_the_insertion(gitlab: bool) -> None:
    user = (
        "unit:\n  stage: test\n  script: [pytest]"
        if gitlab
        else (
            "on: push\njobs:\n  unit:\n    runs-on: ubuntu-latest\n    steps:\n      - run: pytest"
        )
    )

    merged = _merge(user, gitlab)

    # Every byte of the user's file comes first; the rest is mlrig's, and the file
    # still ends as it did, without a newline.
    assert merged.startswith(user + "\n")
    assert not merged.endswith("\n")
    inserted = merged[len(user) :]
    assert ("\ntrain:\n" if gitlab else "\n  train:\n") in inserted
    load(merged)


@pytest.mark.parametrize("gitlab", [False, True], ids=["github", "gitlab"])
def test_a_pipeline_ending_with_a_document_end_marker_gets_the_jobs_inside_the_document(
    gitlab: bool,
) -> None:
    body = (
        "unit:\n  stage: test\n  script: [pytest]\n"
        if gitlab
        else "on: push\njobs:\n  unit:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: pytest\n"
    )
    user = body + "...\n# trailing notes after the document\n"

    merged = _merge(user, gitlab)

    head, marker, tail = merged.partition("\n...\n")
    assert marker, merged
    assert tail == "# trailing notes after the document\n"
    assert head.startswith(body.rstrip("\n"))
    jobs = load(merged) if gitlab else load(merged)["jobs"]
    assert {"unit", "train"} <= set(jobs)
