"""`mlrig adopt` and `mlrig add` on realistic repositories: merges, bad input, updates."""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from mlrig import Answers, new
from mlrig.commands.adopt import add as adopt_add
from mlrig.commands.adopt import adopt
from mlrig.commands.update import UpdateResult, update
from mlrig.templates import BUILTIN_URL, builtin_bundle
from mlrig.validate import validate_pipelines
from tests.conftest import make_answers, run_cli
from tests.gallery import GALLERY, make_github_matrix, make_gitlab_include, make_no_ci
from tests.templaterepo import commit_project, git, status

GITLAB_CI_LOCAL = Path(__file__).resolve().parents[1] / "node_modules" / ".bin" / "gitlab-ci-local"


def snapshot(root: Path) -> dict[str, tuple[str, bytes | str]]:
    """Every path under ``root`` but .git: its kind and content (or link target)."""
    found: dict[str, tuple[str, bytes | str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in [*dirnames, *filenames]:
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                found[rel] = ("dir", "")
            else:
                found[rel] = (oct(path.stat().st_mode), path.read_bytes())
    return found


def only_insertions(before: str, after: str) -> list[str]:
    """The lines ``after`` adds to ``before``; fails when any line of ``before`` changed."""
    old, new_lines = before.splitlines(keepends=True), after.splitlines(keepends=True)
    inserted: list[str] = []
    matcher = difflib.SequenceMatcher(None, old, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        assert tag in ("equal", "insert"), (
            f"user lines changed: {old[i1:i2]!r} -> {new_lines[j1:j2]!r}"
        )
        if tag == "insert":
            inserted.extend(new_lines[j1:j2])
    return inserted


def zizmor(root: Path) -> list[str]:
    """zizmor's pedantic findings for the workflows under ``root``, without positions."""
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "zizmor"),
            *("--offline", "--no-progress", "--persona=pedantic", "--format=github"),
            ".github/workflows",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode in (0, *range(10, 15)), proc.stderr
    return sorted(
        re.sub(r"line=\d+|:\d+:", "", line) for line in proc.stdout.splitlines() if "::" in line
    )


def make_gitlab_local(root: Path) -> Path:
    """gitlab_include without its remote project include, so gitlab-ci-local runs offline."""
    repo = make_gitlab_include(root)
    path = repo / ".gitlab-ci.yml"
    text = path.read_text()
    remote = (
        "  - project: platform/ci-templates\n    ref: v3.2.0\n    file: /templates/python.yml\n"
    )
    assert remote in text
    path.write_text(text.replace(remote, ""))
    commit_project(repo, "drop the remote include")
    return repo


# The gallery repositories in which today's inference finds no stage command: adopt
# refuses them (see test_a_repo_without_any_stage_command_is_refused_with_the_flag).
GALLERY_FLAGS: dict[str, tuple[str, ...]] = dict.fromkeys(
    ("notebooks", "requirements_only"),
    ("-d", "test_command=python -m pytest -q"),
)


def _overrides(name: str) -> dict[str, object]:
    pairs = (flag.split("=", 1) for flag in GALLERY_FLAGS.get(name, ())[1::2])
    return {key: value for key, value in pairs}


@pytest.mark.slow
def test_adopt_github_repo_adds_jobs_and_keeps_every_user_byte(tmp_path: Path) -> None:
    repo = make_github_matrix(tmp_path)
    before = snapshot(repo)
    workflow = (repo / ".github/workflows/ci.yml").read_text()
    zizmor_before = zizmor(repo)

    result = adopt(repo)

    merged = next(f for f in result.files if f.path == ".github/workflows/ci.yml")
    assert merged.action == "merge"
    assert merged.kept_jobs == ("lint", "test")
    # No Dockerfile, no data check, evaluate command or metrics file: those stages are
    # left out, not generated red.
    assert merged.added_jobs == ("train",)
    inserted = only_insertions(workflow, (repo / ".github/workflows/ci.yml").read_text())
    assert inserted[0] == "\n"
    assert "  train:\n" in inserted
    # Pipeline, not project: only pipeline files are new, every other byte is the user's.
    after = snapshot(repo)
    assert {path for path in after if path not in before} == {
        ".copier-answers.yml",
        ".github/dependabot.yml",
        ".github/workflows/template-sync.yml",
        ".mlrig",
        ".mlrig/sync-requirements.txt",
        ".mlrig/template-sync.sh",
    }
    assert {path: after[path] for path in before if path != ".github/workflows/ci.yml"} == {
        path: content for path, content in before.items() if path != ".github/workflows/ci.yml"
    }
    assert not (repo / "src/churn_model").exists()
    assert {item.stage for item in result.left_out} == {
        "data",
        "metric gate",
        "image",
        "monitoring",
    }
    answers = (repo / ".copier-answers.yml").read_text()
    assert "existing_repo: true" in answers
    assert "own_jobs:\n- lint\n- test\n" in answers
    assert f"_src_path: {BUILTIN_URL}\n" in answers
    assert re.search(r"^_commit: v\d+\.\d+\.\d+\S*$", answers, re.MULTILINE)
    assert "project_name: churn-model" in answers
    assert "python_version: '3.11'" in answers
    # The repo's own commands become the pipeline's (answers), with their sources.
    assert isinstance(result.answers, Answers)
    # What its CI really runs comes before the Makefile's `test` target.
    assert result.answers.test_command == "pytest -q --cov=churn tests"
    assert result.inference is not None
    assert result.inference.answers["test_command"].source == ".github/workflows/ci.yml:38"
    assert "package_manager: pip" in answers
    # The merged pipelines validate, apart from what the user's own jobs had before;
    # mlrig's jobs bring no zizmor finding of their own.
    assert result.findings == ()
    assert validate_pipelines(repo, only=[".github/workflows/template-sync.yml"]) == []
    assert zizmor_before, "zizmor must see the user's unpinned actions, or it checks nothing"
    new_findings = set(zizmor(repo)) - set(zizmor_before)
    assert new_findings == set()


@pytest.mark.slow
def test_adopt_gitlab_repo_merges_jobs_and_stages_and_gitlab_ci_local_accepts_it(
    tmp_path: Path,
) -> None:
    repo = make_gitlab_local(tmp_path)
    original = (repo / ".gitlab-ci.yml").read_text()
    dockerfile = (repo / "Dockerfile").read_bytes()

    result = adopt(repo)

    merged = (repo / ".gitlab-ci.yml").read_text()
    inserted = only_insertions(original, merged)
    # The user's jobs would run in a scheduled pipeline: no monitor or sync stage yet.
    assert inserted[:2] == ["  - build\n", "\n"]
    action = next(f for f in result.files if f.path == ".gitlab-ci.yml")
    assert action.kept_jobs == ("lint",)
    assert action.added_jobs == ("test", "train", "docker-build")
    assert any("`.mlrig-python`" in note for note in action.notes)
    assert (repo / "Dockerfile").read_bytes() == dockerfile
    assert result.findings == ()
    proc = subprocess.run(
        [str(GITLAB_CI_LOCAL), "--list-json"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for job in (
        "lint",
        "unit-tests",
        "nightly-train",
        "build-image",
        "test",
        "train",
        "docker-build",
    ):
        assert f'"name":"{job}"' in proc.stdout.replace(" ", ""), job
    shutil.rmtree(repo / ".gitlab-ci-local", ignore_errors=True)


NO_CI_COMMANDS = {"install_command": 'pip install -e ".[test]"', "test_command": "pytest -q"}


def test_adopt_repo_without_ci_writes_valid_pipelines_and_no_project(tmp_path: Path) -> None:
    repo = make_no_ci(tmp_path)
    pyproject = (repo / "pyproject.toml").read_bytes()

    result = adopt(repo, overrides=NO_CI_COMMANDS)

    assert (repo / "pyproject.toml").read_bytes() == pyproject
    written = {f.path for f in result.by_action("write")}
    assert written == {
        ".copier-answers.yml",
        ".github/dependabot.yml",
        ".github/workflows/ci.yml",
        ".github/workflows/template-sync.yml",
        ".mlrig/sync-requirements.txt",
        ".mlrig/template-sync.sh",
    }
    assert result.by_action("merge") == ()
    assert not (repo / "src/iris_clf/train.py").exists()
    assert not (repo / "tests/conftest.py").exists()
    assert not (repo / "Dockerfile").exists()
    assert validate_pipelines(repo) == []
    assert zizmor(repo) == []
    # Nothing but new files: the user's tracked files are untouched.
    assert all(line.startswith("??") for line in status(repo))


@pytest.mark.parametrize("name", sorted(GALLERY))
def test_adopt_preview_changes_nothing_for_any_gallery_repo(tmp_path: Path, name: str) -> None:
    repo = GALLERY[name](tmp_path)
    before = snapshot(repo)

    result = run_cli("adopt", str(repo), "--preview", *GALLERY_FLAGS.get(name, ()))

    assert result.exit_code == 0, result.output
    assert "Preview only: nothing was changed." in result.output
    assert "Answers (value, from):" in result.output
    assert snapshot(repo) == before
    assert status(repo) == []


def test_preview_names_the_jobs_added_and_kept(tmp_path: Path) -> None:
    repo = make_github_matrix(tmp_path)

    result = run_cli("adopt", str(repo), "--preview")

    line = next(
        x for x in result.output.splitlines() if x.split()[1:2] == [".github/workflows/ci.yml"]
    )
    assert line.split()[0] == "merge"
    assert "your jobs kept: lint, test" in line
    assert "train" in line
    # What the repository's CI really runs comes before its Makefile's targets.
    assert re.search(
        r"test_command +pytest -q --cov=churn tests +\.github/workflows/ci\.yml:38\n",
        result.output,
    )
    assert "poetry" not in result.output


def test_data_overrides_win_and_are_shown(tmp_path: Path) -> None:
    repo = make_no_ci(tmp_path)

    result = run_cli(
        "adopt",
        str(repo),
        *("-d", "framework=pytorch", "-d", "ci_provider=gitlab", "-d", "test_command=pytest -q"),
    )

    assert result.exit_code == 0, result.output
    assert re.search(r"framework\s+pytorch\s+-d", result.output)
    answers = (repo / ".copier-answers.yml").read_text()
    assert "framework: pytorch" in answers
    assert (repo / ".gitlab-ci.yml").is_file()
    assert not (repo / ".github").exists()


def _not_git(repo: Path) -> str:
    shutil.rmtree(repo / ".git")
    return "is not in a git repository"


def _subfolder(repo: Path) -> str:
    # The repo's own `src/` stands in for DEST: the test then adopts `repo / "src"`.
    return "is inside the git repository"


def _dirty(repo: Path) -> str:
    (repo / "README.md").write_text("edited\n")
    return "has uncommitted changes"


def _conflicting_branches(repo: Path) -> None:
    git(repo, "checkout", "--quiet", "-b", "other")
    (repo / "README.md").write_text("theirs\n")
    commit_project(repo, "theirs")
    git(repo, "checkout", "--quiet", "main")
    (repo / "README.md").write_text("ours\n")
    commit_project(repo, "ours")


def _mid_merge(repo: Path) -> str:
    _conflicting_branches(repo)
    subprocess.run(["git", "merge", "other"], cwd=repo, capture_output=True, check=False)
    return "in the middle of a merge"


def _mid_rebase(repo: Path) -> str:
    _conflicting_branches(repo)
    subprocess.run(["git", "rebase", "other"], cwd=repo, capture_output=True, check=False)
    return "in the middle of a rebase"


def _workflow(content: bytes) -> Callable[[Path], str]:
    def corrupt(repo: Path) -> str:
        (repo / ".github/workflows/ci.yml").write_bytes(content)
        commit_project(repo, "corrupt")
        return ""

    return corrupt


def _huge(repo: Path) -> str:
    with (repo / ".github/workflows/ci.yml").open("ab") as handle:
        handle.write(b"#" * (5 * 1024 * 1024))
    commit_project(repo, "huge")
    return ".github/workflows/ci.yml is 5.0 MB, larger than 5.0 MB"


def _symlink_out(repo: Path) -> str:
    outside = repo.parent / "outside"
    shutil.copytree(repo / ".github/workflows", outside)
    shutil.rmtree(repo / ".github/workflows")
    (repo / ".github/workflows").symlink_to(outside)
    commit_project(repo, "symlink")
    return f".github/workflows is a symlink to {outside}, outside the repository"


def _read_only(repo: Path) -> str:
    (repo / ".github/workflows/ci.yml").chmod(0o444)
    return "the file .github/workflows/ci.yml is read-only"


def _linked(repo: Path) -> str:
    (repo / ".copier-answers.yml").write_text("_src_path: x\n_commit: v1\n")
    commit_project(repo, "answers")
    return "already has .copier-answers.yml"


@pytest.mark.parametrize(
    ("break_it", "code", "message"),
    [
        (_not_git, 2, None),
        (_subfolder, 2, None),
        (_dirty, 3, None),
        (_mid_merge, 3, None),
        (_mid_rebase, 3, None),
        (
            _workflow(b"on: push\njobs:\n  a: [1\n  b: 2\n"),
            2,
            ".github/workflows/ci.yml:4: not valid YAML",
        ),
        (
            _workflow(b"on: push\njobs:\n  a:\n    x: 1\n  a:\n    x: 2\n"),
            2,
            '.github/workflows/ci.yml:5: not valid YAML (found duplicate key "a"',
        ),
        (_workflow(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), 2, ".github/workflows/ci.yml is binary"),
        (_huge, 2, None),
        (_symlink_out, 2, None),
        (_read_only, 3, None),
        (_linked, 2, None),
    ],
    ids=[
        "not-git",
        "subfolder",
        "dirty",
        "mid-merge",
        "mid-rebase",
        "yaml-syntax",
        "duplicate-key",
        "binary",
        "huge",
        "symlink-outside",
        "read-only",
        "already-linked",
    ],
)
def test_bad_input_is_one_line_with_its_exit_code_and_changes_nothing(
    tmp_path: Path, break_it: Callable[[Path], str], code: int, message: str | None
) -> None:
    repo = make_github_matrix(tmp_path)
    expected = break_it(repo) or message
    assert expected
    before = snapshot(repo)
    outside = snapshot(tmp_path / "outside") if (tmp_path / "outside").exists() else None
    git_status = status(repo) if (repo / ".git").exists() else None

    result = run_cli("adopt", str(repo / "src" if break_it is _subfolder else repo))

    assert result.exit_code == code, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("mlrig: error: ")
    assert expected in result.stderr
    assert snapshot(repo) == before
    if git_status is not None:
        assert status(repo) == git_status
    if outside is not None:
        assert snapshot(tmp_path / "outside") == outside


def test_invalid_override_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    repo = make_no_ci(tmp_path)
    before = snapshot(repo)

    result = run_cli("adopt", str(repo), "-d", "framework=jax")

    assert result.exit_code == 2
    assert "framework: 'jax' is not one of" in result.stderr
    assert snapshot(repo) == before


@pytest.mark.slow
def test_add_docker_to_a_managed_repo_turns_it_on_as_new_would(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "model"
    new(repo, answers=make_answers(docker=False, project_name="model"))
    workflow = (repo / ".github/workflows/ci.yml").read_text()
    assert not (repo / "Dockerfile").exists()

    result = run_cli("add", "docker", str(repo))

    assert result.exit_code == 0, result.output
    assert (repo / "Dockerfile").is_file()
    assert (repo / ".dockerignore").is_file()
    inserted = "".join(only_insertions(workflow, (repo / ".github/workflows/ci.yml").read_text()))
    assert "\n  docker:\n" in inserted
    assert "  lint:\n" not in inserted
    assert "docker: true" in (repo / ".copier-answers.yml").read_text()
    assert validate_pipelines(repo) == []
    changed = {line.split(maxsplit=1)[1] for line in status(repo)}
    # The image's dependabot entry and README section come with it, as from `new`.
    assert changed == {
        ".copier-answers.yml",
        ".dockerignore",
        "Dockerfile",
        ".github/workflows/ci.yml",
        ".github/dependabot.yml",
        "README.md",
    }


@pytest.mark.slow
def test_add_to_a_complete_managed_repo_writes_nothing(tmp_path: Path) -> None:
    repo = tmp_path / "model"
    new(repo, answers=make_answers(project_name="model"))

    result = run_cli("add", "ci", str(repo))

    assert result.exit_code == 0, result.output
    assert status(repo) == []
    assert "write " not in result.output


def test_add_sync_to_an_unmanaged_repo_adopts_only_that_component(tmp_path: Path) -> None:
    repo = make_github_matrix(tmp_path)
    before = snapshot(repo)

    result = run_cli("add", "sync", str(repo))

    assert result.exit_code == 0, result.output
    added = {line.split(maxsplit=1)[1] for line in status(repo)}
    assert added == {".copier-answers.yml", ".github/workflows/template-sync.yml"}
    after = snapshot(repo)
    assert {k: v for k, v in after.items() if k in before} == before
    assert validate_pipelines(repo, only=[".github/workflows/template-sync.yml"]) == []


def test_add_preview_changes_nothing(tmp_path: Path) -> None:
    repo = tmp_path / "model"
    new(repo, answers=make_answers(docker=False, project_name="model"))
    before = snapshot(repo)

    result = run_cli("add", "docker", str(repo), "--preview")

    assert result.exit_code == 0, result.output
    assert re.search(r"write\s+Dockerfile\n", result.output)
    assert re.search(r"merge\s+\.github/workflows/ci\.yml\n", result.output)
    assert snapshot(repo) == before
    assert status(repo) == []


def _newer_template(tmp_path: Path, pipeline: str, old: str, new_text: str) -> Path:
    """A clone of the built-in template with one more version that changes mlrig's jobs."""
    clone = tmp_path / "template"
    git(tmp_path, "clone", "--quiet", str(builtin_bundle()), str(clone))
    tags = git(clone, "tag", "--list", "v*", "--sort=-v:refname").splitlines()
    git(clone, "checkout", "--quiet", "-B", "next", tags[0])
    source = next(p for p in (clone / "project").rglob("*.jinja") if pipeline in p.as_posix())
    text = source.read_text()
    assert old in text
    source.write_text(text.replace(old, new_text, 1))
    (clone / "project" / "NOTICE.md").write_text("Added by the next template version.\n")
    commit_project(clone, "next version")
    git(clone, "tag", "v99.0.0")
    return clone


def _adopt_then_update(
    tmp_path: Path,
    repo: Path,
    pipeline: str,
    old: str,
    new_text: str,
    overrides: dict[str, object] | None = None,
    more: tuple[tuple[str, str, str], ...] = (),
) -> tuple[dict[str, tuple[str, bytes | str]], UpdateResult]:
    """Adopt ``repo``, commit, then update it to a newer template (see _newer_template).

    ``more`` holds further (file, old, new) changes of the newer version. Returns the
    snapshot right after adopting, and the update's result.
    """
    adopt(repo, overrides=overrides)
    template = _newer_template(tmp_path, pipeline, old, new_text)
    for path, before, after in more:
        source = next(p for p in (template / "project").rglob("*.jinja") if path in p.as_posix())
        text = source.read_text()
        assert before in text, (path, before)
        source.write_text(text.replace(before, after))
    if more:
        commit_project(template, "more changes")
        git(template, "tag", "--force", "v99.0.0")
    answers = repo / ".copier-answers.yml"
    answers.write_text(
        re.sub(r"^_src_path: .*$", f"_src_path: {template}", answers.read_text(), flags=re.M)
    )
    commit_project(repo, "adopt mlrig")
    adopted = snapshot(repo)
    return adopted, update(repo)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("make", "pipeline", "old", "new_text"),
    [
        (make_github_matrix, "workflows/ci.yml", "timeout-minutes: 30", "timeout-minutes: 45"),
        (
            make_gitlab_local,
            ".gitlab-ci.yml",
            "  timeout: 30m\n  script:\n{{- dvc_pull() }}\n{%- if train_command %}",
            "  timeout: 45m\n  script:\n{{- dvc_pull() }}\n{%- if train_command %}",
        ),
    ],
    ids=["github", "gitlab"],
)
def test_update_after_adopt_keeps_user_jobs_comments_and_files(
    tmp_path: Path, make: Callable[[Path], Path], pipeline: str, old: str, new_text: str
) -> None:
    repo = make(tmp_path)
    name = ".gitlab-ci.yml" if "gitlab" in pipeline else ".github/workflows/ci.yml"
    original = (repo / name).read_text()

    adopted, result = _adopt_then_update(tmp_path, repo, pipeline, old, new_text)

    assert result.to_version == "v99.0.0"
    assert result.conflicts == ()
    # The user's own jobs' findings (unpinned actions and the like) are not the update's.
    assert result.findings == ()
    after = snapshot(repo)
    assert (repo / "NOTICE.md").read_text() == "Added by the next template version.\n"
    merged = (repo / name).read_text()
    only_insertions(original, merged)
    # The template's change reaches mlrig's train job.
    assert new_text.split("\n")[0] in merged
    changed = {path for path in after if after[path] != adopted.get(path)}
    assert changed == {name, "NOTICE.md", ".copier-answers.yml"}


def test_adopt_keeps_a_job_defined_in_a_local_include(tmp_path: Path) -> None:
    repo = make_gitlab_local(tmp_path)
    include = repo / "ci/docker.yml"
    include.write_text(
        include.read_text() + "\ntrain:\n  stage: train\n  script:\n    - make train\n"
    )
    commit_project(repo, "train in the include")

    result = adopt(repo, preview=True)

    action = next(f for f in result.files if f.path == ".gitlab-ci.yml")
    assert action.kept_jobs == ("lint", "train")
    assert "train" not in action.added_jobs
    assert status(repo) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(GALLERY))
def test_adopt_every_gallery_repo_adds_files_and_only_inserts_into_pipelines(
    tmp_path: Path, name: str
) -> None:
    repo = GALLERY[name](tmp_path)
    before = snapshot(repo)
    had_workflows = (repo / ".github/workflows").is_dir()
    zizmor_before = zizmor(repo) if had_workflows else []

    result = run_cli("adopt", str(repo), *GALLERY_FLAGS.get(name, ()))

    assert result.exit_code == 0, result.output + result.stderr
    after = snapshot(repo)
    merged = {f".github/workflows/{p.name}" for p in (repo / ".github/workflows").glob("*")}
    merged.add(".gitlab-ci.yml")
    for path, (kind, content) in before.items():
        if path in merged and kind != "dir":
            assert isinstance(content, bytes)
            only_insertions(content.decode(), (repo / path).read_text())
        else:
            assert after[path] == (kind, content), path
    assert all(line.startswith(("??", "M ")) or line[:2] == " M" for line in status(repo))
    touched = [p for p in merged if (repo / p).is_file()]
    assert not [str(f) for f in validate_pipelines(repo, only=touched) if "schema" in f.tool]
    # mlrig's jobs bring no zizmor finding (pedantic); the user's own stay theirs.
    if (repo / ".github/workflows").is_dir():
        assert set(zizmor(repo)) - set(zizmor_before) == set()


@pytest.mark.slow
def test_add_monitoring_to_a_managed_repo_on_both_providers(tmp_path: Path) -> None:
    repo = tmp_path / "model"
    new(
        repo,
        answers=make_answers(project_name="model", ci_provider="both", monitoring_schedule="none"),
    )
    gitlab = (repo / ".gitlab-ci.yml").read_text()

    result = run_cli("add", "monitoring", str(repo))

    assert result.exit_code == 0, result.output
    assert (repo / ".github/workflows/monitor.yml").is_file()
    inserted = "".join(only_insertions(gitlab, (repo / ".gitlab-ci.yml").read_text()))
    assert "\nmonitor:\n" in inserted
    assert "\nlint:\n" not in inserted
    assert "monitoring_schedule: 0 6 * * 1" in (repo / ".copier-answers.yml").read_text()
    assert validate_pipelines(repo) == []


def test_add_refuses_a_repo_linked_to_another_template(tmp_path: Path) -> None:
    repo = make_no_ci(tmp_path)
    (repo / ".copier-answers.yml").write_text("_src_path: /templates/house\n_commit: v1.0.0\n")
    commit_project(repo, "linked elsewhere")
    before = snapshot(repo)

    result = run_cli("add", "ci", str(repo))

    assert result.exit_code == 2
    assert "knows the components of the built-in template only" in result.stderr
    assert snapshot(repo) == before


def gitlab_ci_local_list(repo: Path) -> subprocess.CompletedProcess[str]:
    """gitlab-ci-local's job listing of ``repo``; fails (never skips) when it is missing."""
    if not GITLAB_CI_LOCAL.is_file():
        pytest.fail(f"{GITLAB_CI_LOCAL} is missing: run `npm ci` in the repository root")
    proc = subprocess.run(
        [str(GITLAB_CI_LOCAL), "--list-json"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    shutil.rmtree(repo / ".gitlab-ci-local", ignore_errors=True)
    return proc


def _adopt_build_before_test(tmp_path: Path) -> tuple[Path, Result]:
    """A GitLab repository whose build stage comes before test, adopted with an image."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / ".gitlab-ci.yml").write_text(
        "stages: [build, test]\nunit:\n  stage: test\n  script: [pytest]\n"
    )
    (repo / "Dockerfile").write_text("FROM python:3.12-slim\n")
    commit_project(repo, "init")
    return repo, run_cli("adopt", str(repo), "-d", "test_command=pytest")


def test_adopt_warns_about_a_stage_order_gitlab_refuses(tmp_path: Path) -> None:
    _, result = _adopt_build_before_test(tmp_path)

    assert result.exit_code == 1
    assert "[merge] .gitlab-ci.yml: `docker-build` (stage build) needs `test`" in result.stderr


@pytest.mark.slow
def test_gitlab_ci_local_rejects_the_stage_order_adopt_warns_about(tmp_path: Path) -> None:
    repo, result = _adopt_build_before_test(tmp_path)

    assert result.exit_code == 1
    proc = gitlab_ci_local_list(repo)
    assert proc.returncode != 0
    assert "is in a future stage" in proc.stdout + proc.stderr


def test_add_ci_to_an_unmanaged_repo_runs_its_own_commands_and_skips_starter_stages(
    tmp_path: Path,
) -> None:
    repo = make_github_matrix(tmp_path)
    workflow = (repo / ".github/workflows/ci.yml").read_text()

    result = run_cli("add", "ci", str(repo))

    assert result.exit_code == 0, result.output + result.stderr
    assert re.search(r"data_command +none +default +\(left out: see below\)", result.output)
    assert "  data           no data command found\n" in result.output
    assert "      -d data_command='python scripts/check_data.py'\n" in result.output
    inserted = "".join(only_insertions(workflow, (repo / ".github/workflows/ci.yml").read_text()))
    # Only the train job is new (the user has lint and test); it runs the Makefile's target.
    assert "\n  train:\n" in inserted
    assert 'run: "make train"' in inserted
    assert "\n  data:\n" not in inserted
    assert "\n  docker:\n" not in inserted
    assert not (repo / "src/churn_model").exists()
    answers = (repo / ".copier-answers.yml").read_text()
    assert "data_command: none" in answers
    assert "train_command: make train" in answers


@pytest.mark.slow
def test_adopt_links_a_repo_to_a_house_template(tmp_path: Path) -> None:
    from mlrig.commands.template_init import template_init
    from mlrig.templates import parse_template_spec

    house = tmp_path / "house"
    template_init(house)
    repo = make_github_matrix(tmp_path)
    before = snapshot(repo)

    refused = run_cli("adopt", str(repo), "--template", str(house), "-d", "no_such=1")
    assert refused.exit_code == 2, refused.output
    assert "has no question 'no_such'" in refused.stderr
    assert snapshot(repo) == before

    result = adopt(repo, template=parse_template_spec(str(house)))
    assert result.version == "v0.1.0"
    # The inferred answers the house template asks for were passed to it.
    assert isinstance(result.answers, dict)
    assert result.answers["test_command"] == "pytest -q --cov=churn tests"
    merged = next(f for f in result.files if f.path == ".github/workflows/ci.yml")
    assert merged.kept_jobs == ("lint", "test")
    answers = (repo / ".copier-answers.yml").read_text()
    assert f"_src_path: {house}" in answers
    assert "_commit: v0.1.0" in answers
    commit_project(repo, "adopt the house template")
    checked = run_cli("check", str(repo))
    assert checked.exit_code == 0, checked.output
    assert "newest template version v0.1.0" in checked.stdout


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(GALLERY))
def test_every_gallery_repo_keeps_its_content_through_adopt_and_update(
    tmp_path: Path, name: str
) -> None:
    repo = GALLERY[name](tmp_path)
    before = snapshot(repo)
    # mlrig's pipeline goes where the repository's CI is: GitLab's, else GitHub's.
    github = not (repo / ".gitlab-ci.yml").is_file()
    # A change to the set-up step every one of mlrig's GitHub jobs has.
    pipeline, old, new_text = (
        (
            "workflows/ci.yml",
            "- name: Check out the repository\n",
            "- name: Check out the repository (next version)\n",
        )
        if github
        else (
            ".gitlab-ci.yml",
            "  timeout: 30m\n  script:\n{{- dvc_pull() }}\n{%- if train_command %}",
            "  timeout: 45m\n  script:\n{{- dvc_pull() }}\n{%- if train_command %}",
        )
    )
    _, result = _adopt_then_update(tmp_path, repo, pipeline, old, new_text, _overrides(name))

    assert result.to_version == "v99.0.0"
    assert result.conflicts == ()
    assert result.findings == ()
    after = snapshot(repo)
    assert (repo / "NOTICE.md").read_text() == "Added by the next template version.\n"
    name_of_pipeline = ".github/workflows/ci.yml" if github else ".gitlab-ci.yml"
    assert new_text.split("\n")[0] in (repo / name_of_pipeline).read_text()
    for path, content in before.items():
        if path == name_of_pipeline:
            # The user's pipeline: mlrig's jobs were inserted, nothing of theirs changed.
            old_text, new_bytes = content[1], after[path][1]
            assert isinstance(old_text, bytes)
            assert isinstance(new_bytes, bytes)
            only_insertions(old_text.decode(), new_bytes.decode())
        else:
            assert after[path] == content, f"{path} changed"


def test_adopt_names_every_stage_left_out_with_the_flag_that_turns_it_on(
    tmp_path: Path,
) -> None:
    repo = make_github_matrix(tmp_path)

    result = run_cli("adopt", str(repo), "--preview")

    assert result.exit_code == 0, result.output + result.stderr
    left = result.output.split("Left out (and what turns each on):\n", 1)[1]
    assert left.startswith(
        "  data           no data command found\n"
        "      -d data_command='python scripts/check_data.py'\n"
        "  metric gate    no metrics file that the train command writes\n"
        "      -d metrics_file=metrics.json\n"
        "  image          no Dockerfile\n"
        "      add a Dockerfile, then `mlrig add docker`\n"
        "  monitoring     no evaluate_command or metrics_file\n"
        "      -d evaluate_command='python evaluate.py' -d metrics_file=metrics.json "
        "-d monitoring_schedule='0 6 * * 1'\n"
    )
    assert re.search(r"train_command +make train +Makefile", result.output)
    assert "monitor.yml" not in result.output
    # The flags do what the hints say: the gate and monitoring come in.
    turned_on = adopt(
        repo,
        overrides={
            "metrics_file": "metrics.json",
            "evaluate_command": "make evaluate",
            "monitoring_schedule": "0 6 * * 1",
        },
        preview=True,
    )
    assert {item.stage for item in turned_on.left_out} == {"data", "image"}
    assert ".github/workflows/monitor.yml" in {f.path for f in turned_on.by_action("write")}
    assert ".mlrig/gate.py" in {f.path for f in turned_on.by_action("write")}


def test_a_repo_without_any_stage_command_is_refused_with_the_flag(tmp_path: Path) -> None:
    repo = make_no_ci(tmp_path)
    # Without its tests (pytest finds them: a test command), nothing of it is a stage.
    git(repo, "rm", "-r", "--quiet", "tests")
    commit_project(repo, "no tests")
    before = snapshot(repo)

    result = run_cli("adopt", str(repo))

    assert result.exit_code == 2
    assert "give at least one, e.g. -d test_command='pytest -q'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(repo) == before


def test_a_python_mlrig_cannot_serve_is_refused_with_the_flag_that_works(tmp_path: Path) -> None:
    repo = make_no_ci(tmp_path)  # requires-python >= 3.11
    (repo / ".python-version").write_text("3.9\n")
    commit_project(repo, "pin 3.9")
    before = snapshot(repo)

    result = run_cli("adopt", str(repo))

    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert ".python-version says Python 3.9" in result.stderr
    assert "-d python_version=3.11" in result.stderr
    assert snapshot(repo) == before
    # The flag the message names works.
    assert run_cli("adopt", str(repo), "-d", "python_version=3.11").exit_code == 0
    assert "python_version: '3.11'" in (repo / ".copier-answers.yml").read_text()


@pytest.mark.parametrize(
    ("component", "message"),
    [
        ("tests", "mlrig writes no tests into a repository it did not create"),
        (
            "monitoring",
            "no evaluate_command or metrics_file was found: run `mlrig adopt -d "
            "evaluate_command='python evaluate.py' -d metrics_file=metrics.json`",
        ),
        ("docker", "has no Dockerfile; mlrig builds the repository's own image"),
    ],
)
def test_add_refuses_what_an_unmanaged_repo_cannot_run(
    tmp_path: Path, component: str, message: str
) -> None:
    repo = make_no_ci(tmp_path)
    before = snapshot(repo)

    result = run_cli("add", component, str(repo))

    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(repo) == before


def _markers(root: Path) -> list[str]:
    """Files under ``root`` (but .git) holding a conflict marker line."""
    found = []
    for path, (_, content) in snapshot(root).items():
        marker = rb"^(<<<<<<<|=======|>>>>>>>)( |$)"
        if isinstance(content, bytes) and re.search(marker, content, re.MULTILINE):
            found.append(path)
    return found


USER_DEPENDABOT = """\
# Ours: Renovate handles Python; dependabot only watches the actions, monthly.
version: 2
updates:
  - package-ecosystem: github-actions
    directory: /
    schedule:
      interval: monthly
"""


@pytest.mark.slow
@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_update_after_adopt_never_touches_what_adopt_left_alone(
    tmp_path: Path, provider: str
) -> None:
    """The user's own dependabot.yml and the user's job that collided with one of
    mlrig's stay byte-identical through an update that changes both in the template."""
    if provider == "github":
        repo = make_github_matrix(tmp_path)
        (repo / ".github/dependabot.yml").write_text(USER_DEPENDABOT)
        commit_project(repo, "our dependabot")
        pipeline, name = "workflows/ci.yml", ".github/workflows/ci.yml"
        old, new_text = "timeout-minutes: 30", "timeout-minutes: 45"
        # mlrig's test job (the user has their own) and dependabot.yml both change.
        more: tuple[tuple[str, str, str], ...] = (
            ("workflows/ci.yml", "timeout-minutes: 20", "timeout-minutes: 25"),
            ("dependabot.yml", "interval: weekly", "interval: daily"),
        )
    else:
        repo = make_gitlab_local(tmp_path)
        pipeline, name = ".gitlab-ci.yml", ".gitlab-ci.yml"
        old = "  timeout: 30m\n  script:\n{{- dvc_pull() }}\n{%- if train_command %}"
        new_text = "  timeout: 45m\n  script:\n{{- dvc_pull() }}\n{%- if train_command %}"
        # mlrig's lint job (the user has their own lint) changes.
        more = (
            (
                ".gitlab-ci.yml",
                "  timeout: 10m\n  script:\n{%- if lint",
                "  timeout: 11m\n  script:\n{%- if lint",
            ),
        )
    before = snapshot(repo)

    adopted, result = _adopt_then_update(tmp_path, repo, pipeline, old, new_text, more=more)

    assert result.conflicts == ()
    assert _markers(repo) == []
    after = snapshot(repo)
    for path, content in before.items():
        if path != name:
            assert after[path] == content, f"{path} changed"
    only_insertions(before[name][1].decode(), (repo / name).read_text())  # type: ignore[union-attr]
    changed = {path for path in after if after[path] != adopted.get(path)}
    assert changed == {name, "NOTICE.md", ".copier-answers.yml"}
    merged = (repo / name).read_text()
    assert new_text.split("\n")[0] in merged
    # The change to mlrig's job of the user's job's name never reached the user's job.
    assert more[0][2].split("\n")[0] not in merged
    answers = (repo / ".copier-answers.yml").read_text()
    if provider == "github":
        assert "own_files:\n- .github/dependabot.yml\n" in answers


def test_adopt_writes_nothing_into_a_gitignored_path(tmp_path: Path) -> None:
    repo = make_github_matrix(tmp_path)
    with (repo / ".gitignore").open("a") as handle:
        handle.write(".github/dependabot.yml\n")
    commit_project(repo, "no dependabot here")

    result = adopt(repo)

    assert not (repo / ".github/dependabot.yml").exists()
    kept = next(f for f in result.files if f.path == ".github/dependabot.yml")
    assert (kept.action, kept.notes) == ("keep", ("gitignored: mlrig writes none",))
    assert "own_files:\n- .github/dependabot.yml\n" in (repo / ".copier-answers.yml").read_text()


def _gitlab_repo(tmp_path: Path, deploy_rules: str) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / ".gitlab-ci.yml").write_text(
        "stages: [test, deploy]\n\n"
        "unit:\n  stage: test\n  script:\n    - pytest -q\n  except:\n    - schedules\n\n"
        "deploy:\n  stage: deploy\n  script:\n    - ./deploy.sh\n" + deploy_rules
    )
    commit_project(repo, "init")
    return repo


_SKIPS_SCHEDULES = (
    '  rules:\n    - if: $CI_PIPELINE_SOURCE == "schedule"\n      when: never\n'
    "    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n"
)


def test_gitlab_monitoring_and_sync_wait_until_every_user_job_skips_schedules(
    tmp_path: Path,
) -> None:
    repo = _gitlab_repo(tmp_path, "  only:\n    - main\n")
    overrides = {"metrics_file": "metrics.json", "evaluate_command": "make evaluate"}
    overrides |= {"train_command": "make train"}

    result = adopt(repo, overrides=overrides, preview=True)

    left = {item.stage: item for item in result.left_out}
    assert left["monitoring"].reason == "a scheduled pipeline would also run your jobs deploy"
    assert left["template sync"].hint == (
        "add this rule first in the `rules:` of deploy (or `schedules` to their `except:`), "
        'then use:\n- if: $CI_PIPELINE_SOURCE == "schedule"\n  when: never\n'
        "-d template_sync=true"
    )
    action = next(f for f in result.files if f.path == ".gitlab-ci.yml")
    assert {"monitor", "template-sync"}.isdisjoint(action.added_jobs)

    # With the rule the hint shows, the schedule-driven jobs come in.
    safe = _gitlab_repo(tmp_path / "safe", _SKIPS_SCHEDULES)
    result = adopt(safe, overrides={**overrides, "monitoring_schedule": "0 6 * * 1"})
    action = next(f for f in result.files if f.path == ".gitlab-ci.yml")
    assert {"monitor", "template-sync"} <= set(action.added_jobs)
    assert "monitoring" not in {item.stage for item in result.left_out}
    # mlrig's own scheduled job, in the pipeline now, is no user job a schedule would run.
    synced = _gitlab_repo(tmp_path / "synced", _SKIPS_SCHEDULES)
    adopt(synced, overrides={"train_command": "make train"})
    commit_project(synced, "adopt mlrig")
    again = {item.stage: item for item in adopt_add("ci", synced, preview=True).left_out}
    assert again["monitoring"].reason == "no evaluate_command or metrics_file"


@pytest.mark.slow
def test_gitlab_ci_local_accepts_the_schedule_jobs_adopt_adds(tmp_path: Path) -> None:
    repo = _gitlab_repo(tmp_path, _SKIPS_SCHEDULES)
    overrides = {"metrics_file": "metrics.json", "evaluate_command": "make evaluate"}
    overrides |= {"train_command": "make train", "monitoring_schedule": "0 6 * * 1"}
    result = adopt(repo, overrides=overrides)
    action = next(f for f in result.files if f.path == ".gitlab-ci.yml")
    assert {"monitor", "template-sync"} <= set(action.added_jobs)

    proc = gitlab_ci_local_list(repo)

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '"name":"monitor"' in proc.stdout.replace(" ", "")


def test_github_scheduled_workflows_are_never_merged_into_the_users(tmp_path: Path) -> None:
    """A user's own template-sync.yml keeps its triggers and jobs; mlrig adds nothing to it,
    and never a schedule trigger to the user's ci.yml."""
    repo = make_github_matrix(tmp_path)
    own = "name: Sync\non:\n  push:\njobs:\n  mirror:\n    runs-on: ubuntu-latest\n"
    own += "    steps:\n      - run: ./mirror.sh\n"
    (repo / ".github/workflows/template-sync.yml").write_text(own)
    commit_project(repo, "our sync")
    ci = (repo / ".github/workflows/ci.yml").read_text()

    result = adopt(repo)

    assert (repo / ".github/workflows/template-sync.yml").read_text() == own
    kept = next(f for f in result.files if f.path == ".github/workflows/template-sync.yml")
    assert kept.action == "keep"
    inserted = "".join(only_insertions(ci, (repo / ".github/workflows/ci.yml").read_text()))
    assert "schedule" not in inserted
    assert "cron" not in inserted
    answers = (repo / ".copier-answers.yml").read_text()
    assert "- .github/workflows/template-sync.yml\n" in answers


@pytest.mark.parametrize(
    ("metrics", "baseline", "code", "verdict"),
    [
        ('{"accuracy": 0.91}', None, 0, "Gate passed."),
        ('{"accuracy": 0.70}', None, 1, "accuracy 0.7000 is below the threshold 0.8000"),
        (
            '{"accuracy": 0.85}',
            '{"accuracy": 0.95}',
            1,
            "dropped more than 0.0500 below the baseline 0.9500",
        ),
        ('{"loss": 0.1}', None, 1, "has no 'accuracy' (keys: loss)"),
    ],
    ids=["pass", "below-threshold", "below-baseline", "no-metric"],
)
def test_the_gate_adopt_writes_runs_alone_and_says_why_it_fails(
    tmp_path: Path, metrics: str, baseline: str | None, code: int, verdict: str
) -> None:
    repo = make_github_matrix(tmp_path)
    adopt(repo, overrides={"metrics_file": "reports/metrics.json"})
    workflow = (repo / ".github/workflows/ci.yml").read_text()
    assert "python .mlrig/gate.py\n          --metrics reports/metrics.json" in workflow
    # The repository's package is not even importable here: the gate never imports it.
    (repo / "reports").mkdir()
    (repo / "reports/metrics.json").write_text(metrics)
    if baseline is not None:
        (repo / ".mlrig/baseline.json").write_text(baseline)

    proc = subprocess.run(
        [
            sys.executable,
            "-I",
            ".mlrig/gate.py",
            *("--metrics", "reports/metrics.json", "--metric", "accuracy"),
            *("--threshold", "0.8", "--baseline", ".mlrig/baseline.json"),
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )

    assert proc.returncode == code, proc.stdout + proc.stderr
    assert verdict in proc.stdout + proc.stderr
    if code == 1:
        assert proc.stderr.startswith("error: model gate failed: ")


def test_add_after_adopt_keeps_the_users_jobs_their_own(tmp_path: Path) -> None:
    repo = make_github_matrix(tmp_path)
    adopt(repo)
    commit_project(repo, "adopt mlrig")
    answers = (repo / ".copier-answers.yml").read_text()
    assert "own_jobs:\n- lint\n- test\n" in answers

    result = run_cli("add", "ci", str(repo))

    assert result.exit_code == 0, result.output + result.stderr
    assert (repo / ".copier-answers.yml").read_text() == answers
    assert status(repo) == []


def test_a_gate_whose_tool_would_be_gitignored_is_refused(tmp_path: Path) -> None:
    repo = make_github_matrix(tmp_path)
    with (repo / ".gitignore").open("a") as handle:
        handle.write(".*/\n")
    commit_project(repo, "ignore dot folders")
    before = snapshot(repo)

    result = run_cli("adopt", str(repo), "-d", "metrics_file=metrics.json")

    assert result.exit_code == 2
    assert "git ignores that path here; stop ignoring .mlrig/" in result.stderr
    assert snapshot(repo) == before
