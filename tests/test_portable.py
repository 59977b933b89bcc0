"""Answers that travel and answers that change (issue 12).

A project's answers file names no path of the machine that made it, so the project
works on a teammate's machine, in CI and with plain copier; ``mlrig update -d``
changes an answer and ``mlrig add`` turns a component on, each with exactly the
files ``mlrig new`` makes with that answer.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from copier import run_copy

import mlrig.templates
from mlrig import new
from mlrig._version import __version__
from mlrig.answers import QUESTIONS
from mlrig.templates import BUILTIN_URL, BUNDLE_NAME, builtin_bundle
from tests.configenv import isolate
from tests.conftest import run_cli
from tests.templaterepo import TemplateRepo, commit_project, git, status

ANSWERS = ".copier-answers.yml"
#: The real installation's bundle, before a test points mlrig at another one.
INSTALLED_BUNDLE = builtin_bundle()
#: A value other than the default for each question `mlrig new` asks, and for
#: template_sync (what `mlrig add sync` turns on).
OTHER_VALUES: dict[str, tuple[str, ...]] = {
    "project_name": ("renamed",),
    "description": ("Forecasts the weather",),
    "python_version": ("3.11",),
    "ci_provider": ("gitlab", "both"),
    "package_manager": ("pip",),
    "framework": ("pytorch", "none"),
    "docker": ("no",),
    "gpu_runner": ("gpu-a100",),
    "monitoring_schedule": ("none", "30 2 * * *"),
    "gate_metric": ("f1",),
    "gate_threshold": ("0.5",),
    "data_versioning": ("dvc",),
    "template_sync": ("false",),
}


def machine(monkeypatch: pytest.MonkeyPatch, root: Path) -> Path:
    """Make ``root`` the machine mlrig runs on; return its mlrig installation's bundle.

    The machine has its own HOME, XDG folders and global git config (empty), and
    mlrig installed below ``root``: the built-in bundle at a path of its own.
    """
    isolate(monkeypatch, root)
    gitconfig = root / "gitconfig"
    gitconfig.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    installed = root / "venv" / "lib" / "site-packages" / "mlrig" / "templates"
    installed.mkdir(parents=True)
    shutil.copyfile(INSTALLED_BUNDLE, installed / BUNDLE_NAME)
    monkeypatch.setattr(mlrig.templates, "_templates_dir", lambda: installed)
    return installed / BUNDLE_NAME


def files(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` but git's own, by relative path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def new_project(parent: Path, *data: str, name: str = "model") -> Path:
    """``mlrig new PARENT/NAME --defaults -d DATA...``."""
    dest = parent / name
    args = [arg for item in data for arg in ("-d", item)]
    result = run_cli("new", str(dest), "--defaults", *args)
    assert result.exit_code == 0, result.output
    return dest


def test_the_answers_file_names_no_path_and_is_the_same_on_every_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = []
    for user in ("alice", "bob"):
        bundle = machine(monkeypatch, tmp_path / user)
        project = new_project(tmp_path / user / "work" / "deep" / "folder")
        text = (project / ANSWERS).read_text()
        assert f"_src_path: {BUILTIN_URL}\n" in text
        for path in (tmp_path, bundle, INSTALLED_BUNDLE, Path(sys.prefix)):
            assert str(path) not in text
        recorded.append((project / ANSWERS).read_bytes())
    assert recorded[0] == recorded[1]


def legacy_project(dest: Path, bundle: Path, version: str) -> Path:
    """A project as mlrig 0.3 made it: the answers file records ``bundle``'s absolute path."""
    run_copy(
        str(bundle),
        str(dest),
        data={"project_name": dest.name},
        vcs_ref=version,
        defaults=True,
        quiet=True,
    )
    git(dest, "init", "--quiet", "--initial-branch=main")
    commit_project(dest, "made by mlrig 0.3")
    return dest


@pytest.mark.slow
def test_a_project_moved_to_another_machine_checks_and_updates_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice_bundle = machine(monkeypatch, tmp_path / "alice")
    made = legacy_project(tmp_path / "alice" / "work" / "model", alice_bundle, "v0.3.0")
    assert f"_src_path: {alice_bundle}\n" in (made / ANSWERS).read_text()
    # The project moves to another user's machine, and the first one is gone.
    project = tmp_path / "bob" / "elsewhere" / "model"
    bob_bundle = machine(monkeypatch, tmp_path / "bob")
    project.parent.mkdir(parents=True)
    shutil.move(made, project)
    shutil.rmtree(tmp_path / "alice")

    behind = run_cli("check", str(project))
    assert behind.exit_code == 1, behind.output
    assert "v0.3.0" in behind.output
    doctor = run_cli("doctor", str(project), "--json")
    assert '"current": "v0.3.0"' in doctor.output, doctor.output
    assert f'"latest": "v{__version__}"' in doctor.output

    # An update that keeps the version only moves the record to the URL.
    before = (project / ANSWERS).read_text()
    migrated = run_cli("update", str(project), "--to", "v0.3.0")
    assert migrated.exit_code == 0, migrated.output
    assert [line.split()[-1] for line in status(project)] == [ANSWERS]
    after = (project / ANSWERS).read_text()
    assert after == before.replace(f"_src_path: {alice_bundle}", f"_src_path: {BUILTIN_URL}")
    commit_project(project, "record the template's URL")
    doctor = run_cli("doctor", str(project), "--json")
    assert '"current": "v0.3.0"' in doctor.output, doctor.output
    assert f'"latest": "v{__version__}"' in doctor.output

    # Plain copier reaches the URL, offline, through git's insteadOf the bundle.
    (tmp_path / "bob" / "gitconfig").write_text(
        f'[url "{bob_bundle}"]\n\tinsteadOf = {BUILTIN_URL}\n'
    )
    by_copier = tmp_path / "bob" / "clone"
    git(tmp_path, "clone", "--quiet", str(project), str(by_copier))
    subprocess.run(
        [sys.executable, "-m", "copier", "update", "--defaults", "--skip-answered", "--quiet"],
        cwd=by_copier,
        check=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
    )

    updated = run_cli("update", str(project))
    assert updated.exit_code == 0, updated.output
    assert f"v0.3.0 -> v{__version__}" in updated.output
    text = (project / ANSWERS).read_text()
    assert f"_src_path: {BUILTIN_URL}\n" in text
    assert f"_commit: v{__version__}\n" in text
    assert str(tmp_path) not in text
    assert files(by_copier) == files(project)
    commit_project(project, f"template v{__version__}")

    recorded = (project / ANSWERS).read_bytes()
    again = run_cli("update", str(project))
    assert again.exit_code == 0, again.output
    assert (project / ANSWERS).read_bytes() == recorded
    assert status(project) == []
    current = run_cli("check", str(project))
    assert current.exit_code == 0, current.output


#: The answers a change needs besides the defaults (only pytorch takes a GPU runner).
NEEDS: dict[str, tuple[str, ...]] = {"gpu_runner": ("framework=pytorch",)}


def _changes() -> list[tuple[str, str]]:
    return [(name, value) for name, values in OTHER_VALUES.items() for value in values]


def test_every_asked_question_has_another_value_to_test() -> None:
    asked = {question.name for question in QUESTIONS if not question.advanced}
    assert asked <= set(OTHER_VALUES)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "value"), _changes(), ids=[f"{k}={v}" for k, v in _changes()])
def test_update_d_gives_what_new_gives_with_that_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    isolate(monkeypatch, tmp_path)
    needs = NEEDS.get(name, ())
    project = new_project(tmp_path / "updated", *needs)
    expected = new_project(tmp_path / "new", *needs, f"{name}={value}")

    result = run_cli("update", str(project), "-d", f"{name}={value}")

    assert result.exit_code == 0, result.output
    assert files(project) == files(expected)


def test_update_d_changes_the_provider_and_keeps_local_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate(monkeypatch, tmp_path)
    project = new_project(tmp_path / "updated")
    expected = new_project(tmp_path / "new", "ci_provider=gitlab")
    note = "\nOur own section, written by the team.\n"
    readme = project / "README.md"
    readme.write_text(readme.read_text() + note)
    commit_project(project, "our README section")

    result = run_cli("update", str(project), "-d", "ci_provider=gitlab")

    assert result.exit_code == 0, result.output
    assert not (project / ".github").exists()
    want = files(expected)
    want["README.md"] += note.encode()
    assert files(project) == want


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("docker=maybe", "docker: 'maybe' is not yes or no"),
        ("ci_provider=jenkins", "ci_provider: 'jenkins' is not one of: github, gitlab, both"),
        ("colour=red", "unknown question 'colour'"),
    ],
)
def test_update_d_refuses_an_invalid_answer_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: str, message: str
) -> None:
    isolate(monkeypatch, tmp_path)
    project = new_project(tmp_path)
    before = files(project)

    result = run_cli("update", str(project), "-d", data)

    assert result.exit_code == 2
    assert message in result.stderr
    assert files(project) == before
    assert status(project) == []


HOUSE_QUESTIONS = (
    "project:\n  type: str\n  default: demo\n"
    "license:\n  type: str\n  choices: [MIT, Apache-2.0]\n  default: MIT\n"
)


def test_update_d_changes_an_answer_of_a_house_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate(monkeypatch, tmp_path)
    template = TemplateRepo(tmp_path / "template")
    for tag in ("v1", "v2"):
        template.release(tag, HOUSE_QUESTIONS, {"LICENSE.jinja": "{{ license }}\n"})
    project = tmp_path / "work" / "model"
    new(project, answers={"project": "model"}, template=template.path, ref="v1")

    refused = run_cli("update", str(project), "--to", "v1", "-d", "license=GPL")
    assert refused.exit_code == 2, refused.output
    assert "license" in refused.stderr
    assert status(project) == []

    changed = run_cli("update", str(project), "--to", "v1", "-d", "license=Apache-2.0")
    assert changed.exit_code == 0, changed.output
    assert (project / "LICENSE").read_text() == "Apache-2.0\n"
    recorded = (project / ANSWERS).read_text()
    assert "license: Apache-2.0\n" in recorded
    assert "_commit: v1\n" in recorded


# Each component of `mlrig add`, the answer of a project made without it, and what
# removing it by hand looks like for the components no answer turns off.
ADD_CASES = {
    "docker": ("docker=no", ()),
    "monitoring": ("monitoring_schedule=none", ()),
    "sync": ("template_sync=false", ()),
    "ci": (None, (".github/workflows/ci.yml", ".github/dependabot.yml")),
    "tests": (None, ("tests",)),
}


@pytest.mark.parametrize(
    "component",
    [
        pytest.param(name, marks=[] if name == "docker" else [pytest.mark.slow])
        for name in ADD_CASES
    ],
)
def test_add_gives_what_new_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, component: str
) -> None:
    isolate(monkeypatch, tmp_path)
    answer, removed = ADD_CASES[component]
    project = new_project(tmp_path / "added", *([answer] if answer else []))
    for path in removed:
        target = project / path
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    if removed:
        commit_project(project, f"remove {component}")
    expected = new_project(tmp_path / "new")

    result = run_cli("add", component, str(project))

    assert result.exit_code == 0, result.output
    assert files(project) == files(expected)


def test_answers_file_of_another_project_does_not_bring_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate(monkeypatch, tmp_path)
    first = new_project(tmp_path, "framework=none", "docker=no", name="alpha")
    second = tmp_path / "beta"

    result = run_cli("new", str(second), "--answers-file", str(first / ANSWERS))

    assert result.exit_code == 0, result.output
    recorded = (second / ANSWERS).read_text()
    assert "project_name: beta\n" in recorded
    assert "framework: none\n" in recorded
    assert "docker: false\n" in recorded
    assert (second / "src" / "beta").is_dir()
    assert not [path for path, data in files(second).items() if b"alpha" in data or "alpha" in path]
