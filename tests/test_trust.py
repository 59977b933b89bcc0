"""Hostile templates: an untrusted template runs nothing, reads nothing outside, writes no .git.

Every code-execution test asserts that a marker file the template's code would
create is absent, beside a control case (``--trust``, or plain copier and git)
in which the same template does create it.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from mlrig.config import Config
from mlrig.template_info import TemplateInfo, inspect_template
from mlrig.templates import TemplateSpec
from tests.configenv import isolate, write_user_config
from tests.conftest import run_cli, tree
from tests.templaterepo import TemplateRepo, commit_project, git, status

QUESTION = "x:\n  type: int\n  default: 1\n"
FILES = {"x.txt.jinja": "x is {{ x }}\n"}
SECRET = "SECRET-7f3a-do-not-leak"


@pytest.fixture(autouse=True)
def config_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path / "env")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    """Where the hostile templates' code leaves its mark (outside every project)."""
    return tmp_path / "MARKER"


def amend(template: TemplateRepo, tag: str, change: Callable[[Path], None]) -> None:
    """Change the checkout of ``template`` (``change(project_dir)``) and re-tag ``tag`` there.

    For what :meth:`TemplateRepo.release` cannot write: symlinks, executable files.
    """
    change(template.path / "project")
    git(template.path, "add", "--all")
    git(template.path, "commit", "--quiet", "--amend", "--no-edit")
    git(template.path, "tag", "--force", tag)


def make_repo(path: Path) -> Path:
    """A committed git repository with one file, ready for ``mlrig adopt``."""
    path.mkdir(parents=True)
    (path / "README.md").write_text("# demo\n")
    git(path, "init", "--quiet", "--initial-branch=main")
    commit_project(path, "init")
    return path


def file_texts(root: Path) -> str:
    """Every regular file under ``root`` (``.git`` included), as one text, links not followed."""
    texts = []
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath, name)
            if not path.is_symlink():
                texts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(texts)


# --- 1. trusted_prefixes cannot be bypassed --------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/acme/../evil/x.git",
        "https://github.com/acme/%2e%2e/evil/x.git",
        "https://github.com/acme/%2E%2E/evil/x.git",
        "HTTPS://github.com/acme/%2e%2E/evil/x.git",
        "https://github.com/acme/x/../../evil/x.git",
        "gh:acme/../evil/x",
        "git+file:///srv/trusted/../evil",
        "file:///srv/trusted/%2e%2e/evil",
        "/srv/trusted/../evil",
    ],
)
def test_dot_segments_and_percent_encoding_do_not_escape_a_trusted_prefix(url: str) -> None:
    config = Config(
        trusted_prefixes=("https://github.com/acme/", "file:///srv/trusted/", "/srv/trusted/")
    )
    assert not config.is_trusted(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/acme/x.git",
        "gh:acme/x",
        "https://github.com/acme/sub/../x.git",
        "git+file:///srv/trusted/house",
        "/srv/trusted/house",
    ],
)
def test_a_template_under_a_trusted_prefix_is_still_trusted(url: str) -> None:
    config = Config(
        trusted_prefixes=("https://github.com/acme/", "file:///srv/trusted/", "/srv/trusted/")
    )
    assert config.is_trusted(url)


@pytest.fixture
def escape(tmp_path: Path, config_home: Path, marker: Path) -> str:
    """A template URL under the trusted prefix ``file://…/trusted/`` that git resolves elsewhere."""
    (tmp_path / "trusted").mkdir()
    evil = TemplateRepo(tmp_path / "evil")
    evil.release("v1", f"_tasks:\n  - touch {marker}\n{QUESTION}", FILES)
    write_user_config(config_home, f"trusted_prefixes: ['file://{tmp_path}/trusted/']\n")
    return f"file://{tmp_path}/trusted/../evil"


def test_new_with_an_escaping_template_url_runs_nothing(
    escape: str, work: Path, marker: Path
) -> None:
    result = run_cli("new", str(work / "p"), "--template", escape, "--defaults")
    assert result.exit_code == 2, result.output
    assert "would run code" in result.stderr
    assert not marker.exists()
    assert tree(work) == []

    trusted = run_cli("new", str(work / "p"), "--template", escape, "--defaults", "--trust")
    assert trusted.exit_code == 0, trusted.output
    assert marker.exists()


def test_a_repository_config_naming_an_escaping_url_runs_nothing(
    escape: str, tmp_path: Path, marker: Path
) -> None:
    repo = make_repo(tmp_path / "cloned")
    (repo / ".mlrig.yml").write_text(f"template: {escape}\n")
    commit_project(repo, "house template")

    result = run_cli("new", str(repo / "p"), "--defaults")
    assert result.exit_code == 2, result.output
    assert not marker.exists()

    adopted = run_cli("adopt", str(repo))
    assert adopted.exit_code == 2, adopted.output
    assert not marker.exists()
    assert status(repo) == []

    trusted = run_cli("adopt", str(repo), "--trust")
    assert trusted.exit_code == 0, trusted.output
    assert marker.exists()


def test_adopt_with_an_escaping_template_url_runs_nothing(
    escape: str, tmp_path: Path, marker: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    result = run_cli("adopt", str(repo), "--template", escape)
    assert result.exit_code == 2, result.output
    assert not marker.exists()
    assert status(repo) == []


def test_update_from_an_escaping_recorded_url_runs_nothing(
    tmp_path: Path, config_home: Path, work: Path, marker: Path
) -> None:
    (tmp_path / "trusted").mkdir()
    evil = TemplateRepo(tmp_path / "evil")
    evil.release("v1", QUESTION, FILES)
    evil.release("v2", f"_tasks:\n  - touch {marker}\n{QUESTION}", FILES)
    dest = work / "p"
    url = f"file://{tmp_path}/trusted/../evil@v1"
    created = run_cli("new", str(dest), "--template", url, "--defaults")
    assert created.exit_code == 0, created.output
    assert "trusted/../evil" in (dest / ".copier-answers.yml").read_text()
    write_user_config(config_home, f"trusted_prefixes: ['file://{tmp_path}/trusted/']\n")

    result = run_cli("update", str(dest))
    assert result.exit_code == 2, result.output
    assert not marker.exists()
    assert status(dest) == []

    trusted = run_cli("update", str(dest), "--trust")
    assert trusted.exit_code == 0, trusted.output
    assert marker.exists()


# --- 2. a render never writes into .git -----------------------------------------------


def fsmonitor_config(marker: Path) -> str:
    return f"[core]\n\trepositoryformatversion = 0\n\tfsmonitor = touch {marker}\n"


def hook_files(template: TemplateRepo, marker: Path, tag: str) -> None:
    """Add an executable ``.git/hooks/post-commit`` (by a templated name) to ``tag``."""

    def add_hook(project: Path) -> None:
        hook = project / "{{ '.git' }}" / "hooks" / "post-commit"
        hook.parent.mkdir(parents=True)
        hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
        hook.chmod(hook.stat().st_mode | stat.S_IXUSR)

    amend(template, tag, add_hook)


@pytest.fixture
def dotgit(tmp_path: Path, marker: Path) -> TemplateRepo:
    """A template whose files include .git/config (core.fsmonitor) and a post-commit hook."""
    template = TemplateRepo(tmp_path / "dotgit")
    template.release(
        "v1",
        f"_exclude: []\n{QUESTION}",
        {**FILES, "{{ '.git' }}/config": fsmonitor_config(marker)},
    )
    hook_files(template, marker, "v1")
    return template


def test_the_hostile_git_files_run_code_once_git_sees_them(
    dotgit: TemplateRepo, tmp_path: Path, marker: Path
) -> None:
    # Control: plain copier writes them, and a git command in the result runs them.
    from copier import run_copy

    out = tmp_path / "plain"
    run_copy(str(dotgit.path), out, defaults=True, quiet=True)
    assert (out / ".git" / "config").is_file()
    git(out, "init", "--quiet")
    git(out, "add", "--all")
    assert marker.exists()


@pytest.mark.parametrize("trust", [[], ["--trust"]])
def test_new_never_writes_into_git_even_when_trusted(
    dotgit: TemplateRepo, work: Path, marker: Path, trust: list[str]
) -> None:
    result = run_cli("new", str(work / "p"), "--template", str(dotgit.path), "--defaults", *trust)
    assert result.exit_code == 0, result.output
    assert not marker.exists()
    assert "fsmonitor" not in (work / "p" / ".git" / "config").read_text()
    assert not (work / "p" / ".git" / "hooks" / "post-commit").exists()
    assert (work / "p" / "x.txt").read_text() == "x is 1\n"


def test_adopt_never_writes_into_git(dotgit: TemplateRepo, tmp_path: Path, marker: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    config_before = (repo / ".git" / "config").read_text()
    result = run_cli("adopt", str(repo), "--template", str(dotgit.path), "--trust")
    assert result.exit_code == 0, result.output
    commit_project(repo, "adopt")
    assert not marker.exists()
    assert (repo / ".git" / "config").read_text() == config_before
    assert not (repo / ".git" / "hooks" / "post-commit").exists()


def test_update_never_writes_into_git(tmp_path: Path, work: Path, marker: Path) -> None:
    template = TemplateRepo(tmp_path / "grows-dotgit")
    template.release("v1", QUESTION, FILES)
    template.release(
        "v2",
        f"_exclude: []\n{QUESTION}",
        {"x.txt.jinja": "x is now {{ x }}\n", "{{ '.git' }}/config": fsmonitor_config(marker)},
    )
    hook_files(template, marker, "v2")
    dest = work / "p"
    assert (
        run_cli("new", str(dest), "--template", f"{template.path}@v1", "--defaults").exit_code == 0
    )
    config_before = (dest / ".git" / "config").read_text()

    result = run_cli("update", str(dest), "--trust")
    assert result.exit_code == 0, result.output
    assert (dest / "x.txt").read_text() == "x is now 1\n"
    commit_project(dest, "update")
    assert not marker.exists()
    assert (dest / ".git" / "config").read_text() == config_before


# --- 3. inspect and render the same commit --------------------------------------------


@pytest.fixture
def moving(tmp_path: Path, marker: Path) -> tuple[TemplateRepo, str]:
    """A template tagged v1 (harmless), and the SHA of a later commit that adds a task."""
    template = TemplateRepo(tmp_path / "moving")
    template.release("v1", QUESTION, FILES)
    template.release(
        "evil", f"_tasks:\n  - touch {marker}\n{QUESTION}", {"x.txt.jinja": "evil {{ x }}\n"}
    )
    return template, git(template.path, "rev-parse", "evil")


def retag_before(
    monkeypatch: pytest.MonkeyPatch, module: object, template: TemplateRepo, sha: str
) -> None:
    """Move tag v1 to ``sha`` right after inspection, before ``module`` renders."""
    real = module.render_template  # type: ignore[attr-defined]

    def moved_then_render(*args: object, **kwargs: object) -> None:
        git(template.path, "tag", "--force", "v1", sha)
        real(*args, **kwargs)

    monkeypatch.setattr(module, "render_template", moved_then_render)


def test_adopt_renders_the_commit_it_inspected(
    moving: tuple[TemplateRepo, str],
    tmp_path: Path,
    marker: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlrig.commands import adopt

    template, evil = moving
    repo = make_repo(tmp_path / "repo")
    retag_before(monkeypatch, adopt, template, evil)
    result = run_cli("adopt", str(repo), "--template", f"{template.path}@v1")
    assert result.exit_code == 0, result.output
    assert not marker.exists()
    assert (repo / "x.txt").read_text() == "x is 1\n"


def test_adopt_never_switches_copiers_own_check_off(
    moving: tuple[TemplateRepo, str],
    tmp_path: Path,
    marker: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlrig.commands import adopt

    template, _ = moving
    repo = make_repo(tmp_path / "repo")

    def saw_no_tasks(spec: TemplateSpec) -> TemplateInfo:
        # As if the first fetch had been answered with a harmless template.
        return dataclasses.replace(inspect_template(spec), tasks=())

    monkeypatch.setattr(adopt, "inspect_template", saw_no_tasks)
    result = run_cli("adopt", str(repo), "--template", f"{template.path}@evil")
    assert result.exit_code == 2, result.output
    assert "would run code" in result.stderr
    assert not marker.exists()
    assert status(repo) == []

    # Control: trusted, the task runs.
    trusted = run_cli("adopt", str(repo), "--template", f"{template.path}@evil", "--trust")
    assert trusted.exit_code == 0, trusted.output
    assert marker.exists()


def test_new_renders_the_commit_it_inspected(
    moving: tuple[TemplateRepo, str], work: Path, marker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlrig.commands import new

    template, evil = moving
    retag_before(monkeypatch, new, template, evil)
    result = run_cli("new", str(work / "p"), "--template", f"{template.path}@v1", "--defaults")
    assert result.exit_code == 0, result.output
    assert not marker.exists()
    assert (work / "p" / "x.txt").read_text() == "x is 1\n"
    assert "_commit: v1" not in (work / "p" / ".copier-answers.yml").read_text()


# --- 4. copier.yml beside copier.yaml --------------------------------------------------


def test_copier_yml_beside_copier_yaml_is_refused_in_one_line(
    tmp_path: Path, work: Path, marker: Path
) -> None:
    template = TemplateRepo(tmp_path / "two-configs")
    template.release("v1", QUESTION, FILES)
    (template.path / "copier.yaml").write_text(
        f"_subdirectory: project\n_tasks:\n  - touch {marker}\n{QUESTION}"
    )
    git(template.path, "add", "--all")
    git(template.path, "commit", "--quiet", "-m", "a second config file")
    git(template.path, "tag", "v2")

    for trust in ([], ["--trust"]):
        result = run_cli(
            "new", str(work / "p"), "--template", str(template.path), "--defaults", *trust
        )
        assert result.exit_code == 2, result.output
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1, result.stderr
        assert "copier.yml" in result.stderr
        assert "copier.yaml" in result.stderr
        assert not marker.exists()
    assert tree(work) == []

    # Control: the task in copier.yaml alone runs when trusted.
    (template.path / "copier.yml").unlink()
    git(template.path, "commit", "--quiet", "-am", "one config file")
    git(template.path, "tag", "v3")
    trusted = run_cli(
        "new", str(work / "p"), "--template", str(template.path), "--defaults", "--trust"
    )
    assert trusted.exit_code == 0, trusted.output
    assert marker.exists()


# --- 5. nothing read from outside, no symlink out ---------------------------------------


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "private" / "secret.yml"
    path.parent.mkdir()
    path.write_text(f"token: {SECRET}\n")
    return path


def external_data_paths(secret: Path) -> list[str]:
    return [
        str(secret),
        "../" * 40 + str(secret).lstrip("/"),
        "{{ '/' }}" + str(secret).lstrip("/"),
    ]


@pytest.mark.parametrize("which", [0, 1, 2], ids=["absolute", "dotdot", "templated"])
def test_adopt_reads_no_external_data_from_outside(
    which: int, secret: Path, tmp_path: Path
) -> None:
    path = external_data_paths(secret)[which]
    template = TemplateRepo(tmp_path / "reader")
    template.release(
        "v1",
        f'_external_data:\n  loot: "{path}"\n{QUESTION}',
        {**FILES, "loot.txt.jinja": "{{ _external_data.loot.token }}\n"},
    )
    repo = make_repo(tmp_path / "repo")
    result = run_cli("adopt", str(repo), "--template", str(template.path))
    assert result.exit_code == 2, result.output
    assert "(_external_data), outside the project" in result.stderr
    assert SECRET not in file_texts(repo)
    assert SECRET not in result.output
    assert status(repo) == []

    trusted = run_cli("adopt", str(repo), "--template", str(template.path), "--trust")
    assert trusted.exit_code == 0, trusted.output
    assert (repo / "loot.txt").read_text() == f"{SECRET}\n"


def test_new_reads_no_external_data_from_outside(secret: Path, tmp_path: Path, work: Path) -> None:
    template = TemplateRepo(tmp_path / "reader")
    template.release(
        "v1",
        f'_external_data:\n  loot: "{secret}"\n{QUESTION}',
        {**FILES, "loot.txt.jinja": "{{ _external_data.loot.token }}\n"},
    )
    result = run_cli("new", str(work / "p"), "--template", str(template.path), "--defaults")
    assert result.exit_code == 2, result.output
    assert "(_external_data), outside the project" in result.stderr
    assert str(secret) in result.stderr
    assert tree(work) == []


def symlinks_out(secret: Path) -> Callable[[Path], None]:
    def add(project: Path) -> None:
        (project / "abs-link").symlink_to(secret)
        (project / "rel-link").symlink_to("../" * 40 + str(secret).lstrip("/"))

    return add


@pytest.fixture
def linker(tmp_path: Path, secret: Path) -> TemplateRepo:
    template = TemplateRepo(tmp_path / "linker")
    template.release("v1", f"_preserve_symlinks: true\n{QUESTION}", FILES)
    amend(template, "v1", symlinks_out(secret))
    return template


def test_new_writes_no_symlink_out_of_the_project(
    linker: TemplateRepo, secret: Path, work: Path
) -> None:
    result = run_cli("new", str(work / "p"), "--template", str(linker.path), "--defaults")
    assert result.exit_code == 2, result.output
    assert "symlink" in result.stderr
    assert "_preserve_symlinks" in result.stderr
    assert tree(work) == []

    trusted = run_cli(
        "new", str(work / "p"), "--template", str(linker.path), "--defaults", "--trust"
    )
    assert trusted.exit_code == 0, trusted.output
    committed = git(work / "p", "ls-files", "--stage", "abs-link")
    assert committed.startswith("120000")


def test_adopt_writes_no_symlink_out_and_copies_nothing_through_one(
    linker: TemplateRepo, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    result = run_cli("adopt", str(repo), "--template", str(linker.path))
    assert result.exit_code == 2, result.output
    assert "_preserve_symlinks" in result.stderr
    assert SECRET not in file_texts(repo)
    assert status(repo) == []


# --- 6. a .mlrig.yml that is a symlink out of the repository ------------------------------


def test_a_repository_config_symlinked_outside_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "private" / "notes.yml"
    outside.parent.mkdir()
    outside.write_text(f"{SECRET}: 1\n")
    repo = make_repo(tmp_path / "repo")
    (repo / ".mlrig.yml").symlink_to(outside)
    monkeypatch.chdir(repo)

    for args in (["config", "show"], ["new", "p", "--defaults"]):
        result = run_cli(*args)
        assert result.exit_code == 2, result.output
        assert SECRET not in result.stdout + result.stderr
        assert ".mlrig.yml is a symlink" in result.stderr
        assert "outside the repository" in result.stderr
    assert not (repo / "p").exists()


def test_a_repository_config_symlinked_inside_the_repository_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "config").mkdir()
    (repo / "config" / "mlrig.yml").write_text("answers:\n  framework: pytorch\n")
    (repo / ".mlrig.yml").symlink_to("config/mlrig.yml")
    monkeypatch.chdir(repo)
    result = run_cli("config", "show")
    assert result.exit_code == 0, result.output
    assert "pytorch" in result.stdout


def test_update_writes_no_symlink_out_of_the_project(
    tmp_path: Path, secret: Path, work: Path
) -> None:
    template = TemplateRepo(tmp_path / "grows-links")
    template.release("v1", f"_preserve_symlinks: true\n{QUESTION}", FILES)
    template.release("v2", f"_preserve_symlinks: true\n{QUESTION}", FILES)
    amend(template, "v2", symlinks_out(secret))
    dest = work / "p"
    made = run_cli("new", str(dest), "--template", f"{template.path}@v1", "--defaults")
    assert made.exit_code == 0, made.output

    result = run_cli("update", str(dest))
    assert result.exit_code == 2, result.output
    assert "_preserve_symlinks" in result.stderr
    assert not (dest / "abs-link").is_symlink()
    assert status(dest) == []

    trusted = run_cli("update", str(dest), "--trust")
    assert trusted.exit_code == 0, trusted.output
    assert (dest / "abs-link").is_symlink()
