"""The built-in template's release history: complete, current, and updatable offline."""

from __future__ import annotations

import filecmp
import re
from pathlib import Path

from mlrig import __version__, builtin_template, new
from mlrig.templates import BUILTIN_URL, builtin_bundle, template_versions
from mlrig.validate import validate_tree
from tests.conftest import make_answers, run_cli
from tests.templaterepo import commit_project, git


def _same_tree(left: Path, right: Path) -> list[str]:
    """Paths that differ between two directory trees (``.git`` ignored)."""
    compare = filecmp.dircmp(left, right, ignore=[".git", "__pycache__"])
    differences = [
        *compare.left_only,
        *compare.right_only,
        *compare.diff_files,
        *compare.funny_files,
    ]
    _, mismatch, errors = filecmp.cmpfiles(left, right, compare.common_files, shallow=False)
    differences += mismatch + errors
    for sub in compare.common_dirs:
        differences += [f"{sub}/{name}" for name in _same_tree(left / sub, right / sub)]
    return differences


def test_newest_release_is_this_version_and_holds_the_template_source(tmp_path: Path) -> None:
    versions = template_versions(str(builtin_bundle()))
    assert versions[-1] == f"v{__version__}", "run scripts/release_template.py"
    clone = tmp_path / "released"
    git(tmp_path, "clone", "--quiet", "--branch", versions[-1], str(builtin_bundle()), str(clone))
    assert _same_tree(builtin_template(), clone) == [], "run scripts/release_template.py"


def test_project_from_the_previous_release_updates_offline(tmp_path: Path) -> None:
    versions = template_versions(str(builtin_bundle()))
    assert len(versions) >= 2
    previous, current = versions[-2], versions[-1]
    project = tmp_path / "old-model"
    answers = make_answers(project_name="old-model", ci_provider="both")
    new(project, answers=answers, template=builtin_bundle(), ref=previous)
    # The project was made by another installation of mlrig, on another machine.
    answers_file = project / ".copier-answers.yml"
    text = re.sub(
        r"^_src_path: .*$",
        "_src_path: /gone/site-packages/mlrig/templates/mlrig-builtin-ml.bundle",
        answers_file.read_text(),
        flags=re.MULTILINE,
    )
    answers_file.write_text(text)
    commit_project(project, "made elsewhere")

    assert run_cli("check", str(project)).exit_code == 1
    result = run_cli("update", str(project))
    assert result.exit_code == 0, result.output
    recorded = answers_file.read_text()
    assert f"_commit: {current}" in recorded
    assert f"_src_path: {BUILTIN_URL}\n" in recorded
    assert validate_tree(project, answers=[answers.description]) == []
    commit_project(project, "update")
    assert run_cli("check", str(project)).exit_code == 0
