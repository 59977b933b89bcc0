"""`mlrig update --summary FILE`: the request text the template-sync job opens.

The jobs themselves (which read the file) run in tests/test_e2e_sync.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlrig import new
from mlrig.commands._update_result import FileChange, UpdateResult
from mlrig.commands._update_summary import MAX_LISTED, request_text
from tests.conftest import run_cli
from tests.templaterepo import TemplateRepo, commit_project, git, status

QUESTIONS = "project:\n  type: str\n  default: demo\n"
README_V1 = "# {{ project }}\n\n" + "".join(f"line {i}\n" for i in range(1, 21))
README_V2 = README_V1.replace("line 18\n", "line 18 improved by v2\n")
TITLE = "Update from the mlrig template"
INTRO = "`mlrig update` brought this repository up to date with the newest version"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project on template v1 of a template whose v2 changes README line 18."""
    template = TemplateRepo(tmp_path / "template")
    template.release("v1", QUESTIONS, {"README.md.jinja": README_V1, "keep.txt": "kept\n"})
    template.release("v2", QUESTIONS, {"README.md.jinja": README_V2, "keep.txt": "kept\n"})
    dest = tmp_path / "work" / "myproj"
    new(dest, answers={"project": "myproj"}, template=template.path, ref="v1")
    return dest


@pytest.fixture
def summary(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    return out / "request.md"


def _edit_line_18(project: Path) -> None:
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("line 18\n", "line 18 by the team\n"))
    commit_project(project)


def test_an_update_writes_the_request(project: Path, summary: Path) -> None:
    result = run_cli("update", str(project), "--summary", str(summary))
    assert result.exit_code == 0, result.output
    title, empty, body = summary.read_text().split("\n", 2)
    assert (title, empty) == (TITLE, "")
    assert body.startswith(INTRO)
    assert "Conflicts" not in body
    # Atomic: the file is renamed into place, no temporary file is left beside it.
    assert [p.name for p in summary.parent.iterdir()] == ["request.md"]
    assert "line 18 improved by v2" in (project / "README.md").read_text()


def test_conflicts_are_counted_in_the_title_and_listed_in_the_body(
    project: Path, summary: Path
) -> None:
    _edit_line_18(project)
    result = run_cli("update", str(project), "--summary", str(summary))
    assert result.exit_code == 1, result.output
    title, empty, body = summary.read_text().split("\n", 2)
    assert (title, empty) == (f"{TITLE} (conflicts to resolve in 1 file)", "")
    assert body.startswith(INTRO)
    assert "## Conflicts to resolve (1 file)\n" in body
    assert "\n- `README.md`\n" in body
    assert "between `<<<<<<< before updating` and `=======`" in body
    assert "<<<<<<< before updating" in (project / "README.md").read_text()


def test_rej_conflicts_get_rej_instructions(project: Path, summary: Path) -> None:
    _edit_line_18(project)
    result = run_cli("update", str(project), "--conflict", "rej", "--summary", str(summary))
    assert result.exit_code == 1, result.output
    body = summary.read_text()
    assert "\n- `README.md`\n" in body
    assert "git ls-files '*.rej'" in body
    assert "<<<<<<<" not in body


def test_no_change_writes_nothing_and_removes_a_stale_summary(project: Path, summary: Path) -> None:
    assert run_cli("update", str(project)).exit_code == 0
    commit_project(project, "update to v2")
    summary.write_text(f"{TITLE}\n\nfrom an earlier run\n")
    result = run_cli("update", str(project), "--summary", str(summary))
    assert result.exit_code == 0, result.output
    assert "is on the newest template version v2" in result.stdout
    assert not summary.exists()


def test_a_failed_update_leaves_no_summary(project: Path, summary: Path) -> None:
    summary.write_text(f"{TITLE}\n\nfrom an earlier run\n")
    (project / "keep.txt").write_text("edited, not committed\n")
    result = run_cli("update", str(project), "--summary", str(summary))
    assert result.exit_code == 3
    assert "uncommitted changes" in result.stderr
    assert not summary.exists()


def test_summary_with_preview_is_a_usage_error(project: Path, summary: Path) -> None:
    result = run_cli("update", str(project), "--preview", "--summary", str(summary))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert "--summary cannot be combined with --preview" in lines[0]
    assert "mlrig update --help" in lines[0]
    assert not summary.exists()


def test_a_summary_folder_that_is_missing_is_refused_before_updating(
    project: Path, tmp_path: Path
) -> None:
    head = git(project, "rev-parse", "HEAD")
    result = run_cli("update", str(project), "--summary", str(tmp_path / "nowhere" / "r.md"))
    assert result.exit_code == 2
    assert "does not exist; create it first" in result.stderr
    assert status(project) == []
    assert git(project, "rev-parse", "HEAD") == head


def _result(conflicts: int, *, applied: bool = True) -> UpdateResult:
    changes = (
        FileChange("changed", "README.md"),
        *(FileChange("conflict", f"src/f{i:02}.py") for i in range(conflicts)),
    )
    return UpdateResult(Path("/p"), "gh:org/t", "v1", "v2", changes, applied, ())


def test_the_body_lists_at_most_fifty_files_and_counts_the_rest() -> None:
    request = request_text(_result(MAX_LISTED + 3))
    assert request is not None
    assert request.title == f"{TITLE} (conflicts to resolve in 53 files)"
    listed = [line for line in request.body.splitlines() if line.startswith("- ")]
    assert listed[0] == "- `src/f00.py`"
    assert listed[MAX_LISTED - 1] == "- `src/f49.py`"
    assert listed[MAX_LISTED:] == ["- and 3 more"]
    assert "## Conflicts to resolve (53 files)" in request.body


def test_exactly_fifty_files_are_all_listed() -> None:
    request = request_text(_result(MAX_LISTED))
    assert request is not None
    listed = [line for line in request.body.splitlines() if line.startswith("- ")]
    assert len(listed) == MAX_LISTED
    assert "more" not in listed[-1]


def test_an_update_not_applied_opens_no_request() -> None:
    assert request_text(_result(2, applied=False)) is None


# --- the job's script and the mlrig it installs ----------------------------------------

SCRIPT = Path(__file__).resolve().parent.parent / "templates/ml/project/.mlrig/template-sync.sh"
#: A python3 whose venv holds a pip that installs nothing and an mlrig of the given help.
FAKE_PYTHON = """#!/bin/sh
venv="$3"
mkdir -p "$venv/bin"
printf '#!/bin/sh\\nexit 0\\n' > "$venv/bin/python"
printf '#!/bin/sh\\ncase "$1" in --version) echo "mlrig, version 0.4.0";;\\n\
update) [ "$2" = --help ] && echo "%s" || touch "{ran}";; esac\\n' "{help}" > "$venv/bin/mlrig"
chmod +x "$venv/bin/python" "$venv/bin/mlrig"
"""


def _run_sync_script(tmp_path: Path, mlrig_help: str) -> tuple[int, str, Path]:
    repo = tmp_path / "repo"
    (repo / ".mlrig").mkdir(parents=True)
    (repo / ".mlrig" / "sync-requirements.txt").write_text("mlrig==0.4.0 --hash=sha256:00\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ran = tmp_path / "update-ran"
    python = bin_dir / "python3"
    python.write_text(FAKE_PYTHON.format(ran=ran, help=mlrig_help))
    python.chmod(0o755)
    proc = subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path / "out")],
        cwd=repo,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr, ran


def test_the_sync_script_refuses_a_pinned_mlrig_without_summary(tmp_path: Path) -> None:
    code, output, ran = _run_sync_script(tmp_path, "Options: --to --preview --conflict")

    assert code == 1
    assert "is older than this script, which needs mlrig 0.5.0 or newer" in output
    assert "bump the pin" in output
    assert not ran.exists(), "the update must not run with an mlrig that cannot summarize"


def test_the_sync_script_runs_a_pinned_mlrig_with_summary(tmp_path: Path) -> None:
    code, output, ran = _run_sync_script(tmp_path, "Options: --to --preview --summary FILE")

    assert ran.exists(), output
    assert code == 0, output
    assert "Already up to date with the template" in output
