"""Custom template sources for `mlrig new`: specs, versions, questions, trust, bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlrig.errors import InvalidInputError
from mlrig.template_info import check_trust, inspect_template
from mlrig.templates import TemplateSpec, git_url, parse_template_spec
from tests.configenv import isolate, write_user_config
from tests.conftest import run_cli, tree
from tests.templaterepo import TemplateRepo, commit_project, git, status

QUESTIONS = """\
name:
  type: str
  help: Your name
  default: bob
  validator: "{% if name|length < 2 %}at least 2 characters{% endif %}"
color:
  type: str
  help: Favourite colour
  choices: [red, blue]
  default: red
shout:
  type: str
  help: Greeting
  default: "hello {{ name }}"
"""
FILES_V1 = {"hello.txt.jinja": "v1 {{ name }} {{ color }} {{ shout }}\n", "keep.txt": "keep\n"}
FILES_V2 = {"hello.txt.jinja": "v2 {{ name }} {{ color }} {{ shout }}\n", "keep.txt": "keep\n"}


@pytest.fixture(autouse=True)
def config_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path / "env")


@pytest.fixture
def repo(tmp_path: Path) -> TemplateRepo:
    """A template with versions v1 and v2 (v2 changes hello.txt)."""
    template = TemplateRepo(tmp_path / "house-template")
    template.release("v1", QUESTIONS, FILES_V1)
    template.release("v2", QUESTIONS, FILES_V2)
    return template


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """An empty directory the projects are created in; nothing else is written there."""
    path = tmp_path / "work"
    path.mkdir()
    return path


# --- SRC[@REF] parsing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "url", "ref"),
    [
        ("gh:acme/tpl", "gh:acme/tpl", None),
        ("gh:acme/tpl@v1.2.0", "gh:acme/tpl", "v1.2.0"),
        ("gl:group/sub/tpl@main", "gl:group/sub/tpl", "main"),
        ("https://github.com/acme/tpl.git@v1", "https://github.com/acme/tpl.git", "v1"),
        ("https://git.example.com/acme/tpl@v1", "git+https://git.example.com/acme/tpl", "v1"),
        (
            "ssh://git@host.example/acme/tpl.git@abc1234",
            "ssh://git@host.example/acme/tpl.git",
            "abc1234",
        ),
        ("ssh://git@host.example/acme/tpl.git", "ssh://git@host.example/acme/tpl.git", None),
        ("git@github.com:acme/tpl.git", "git@github.com:acme/tpl.git", None),
        ("git@github.com:acme/tpl.git@v2", "git@github.com:acme/tpl.git", "v2"),
        ("deploy@git.example.com:acme/tpl@v2", "git+deploy@git.example.com:acme/tpl", "v2"),
        ("file:///srv/templates/tpl@v3", "git+file:///srv/templates/tpl", "v3"),
    ],
)
def test_urls_and_shorthands_split_into_source_and_ref(
    spec: str, url: str, ref: str | None
) -> None:
    assert parse_template_spec(spec) == TemplateSpec(url, ref)


def test_shorthands_expand_exactly_as_copier_expands_them() -> None:
    from copier._vcs import get_repo

    for shorthand in ("gh:acme/tpl", "gl:group/tpl.git", "gh:/acme/tpl"):
        assert git_url(parse_template_spec(shorthand).url) == get_repo(shorthand)


def test_every_git_url_form_is_one_copier_opens_as_git() -> None:
    from copier._vcs import get_repo

    for spec in ("file:///srv/tpl", "https://git.example.com/a/tpl", "ssh://h/a/tpl", "u@h:a/t"):
        url = parse_template_spec(spec).url
        assert get_repo(url) == git_url(url) == spec


def test_local_paths_become_absolute_and_may_carry_a_ref(
    repo: TemplateRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo.path.parent)
    assert parse_template_spec("house-template") == TemplateSpec(str(repo.path), None)
    assert parse_template_spec("house-template@v1") == TemplateSpec(str(repo.path), "v1")
    assert parse_template_spec("./house-template", ref="v2").ref == "v2"
    assert parse_template_spec("house-template@v2", ref="v2").ref == "v2"


def test_a_path_whose_name_holds_an_at_sign_is_not_split(tmp_path: Path) -> None:
    odd = tmp_path / "tpl@v9"
    odd.mkdir()
    assert parse_template_spec(str(odd)) == TemplateSpec(str(odd), None)


@pytest.mark.parametrize(
    ("spec", "ref", "message"),
    [
        ("gh:acme/tpl@v1", "v2", "asks for version v1 but --ref asks for v2"),
        ("gh:acme", None, "is not gh:OWNER/REPO"),
        ("gh:acme/tpl@", None, "is not a git ref"),
        ("gh:acme/tpl", "bad ref", "is not a git ref"),
        ("gh:acme/tpl", "--upload-pack=x", "is not a git ref"),
        ("https://example.com/", None, "names no repository"),
        ("  ", None, "the template is empty"),
        ("no/such/dir", None, "does not exist"),
    ],
)
def test_bad_specs_are_refused(spec: str, ref: str | None, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_template_spec(spec, ref=ref)


def test_a_file_that_is_not_a_bundle_is_refused(tmp_path: Path) -> None:
    (tmp_path / "copier.yml").write_text("a: 1\n")
    with pytest.raises(InvalidInputError, match=r"neither a directory nor a git \.bundle"):
        parse_template_spec(str(tmp_path / "copier.yml"))


# --- mlrig new --template, then update -----------------------------------------------


def test_new_from_a_file_url_pinned_to_v1_then_mlrig_update_brings_v2(
    repo: TemplateRepo, work: Path
) -> None:
    dest = work / "proj"
    result = run_cli("new", str(dest), "--template", f"file://{repo.path}@v1", "--defaults")
    assert result.exit_code == 0, result.output
    assert (dest / "hello.txt").read_text() == "v1 bob red hello bob\n"
    recorded = (dest / ".copier-answers.yml").read_text()
    assert f"_src_path: git+file://{repo.path}\n" in recorded
    assert "_commit: v1\n" in recorded
    assert git(dest, "log", "--format=%s") == "Initial commit from mlrig " + _version()

    checked = run_cli("check", str(dest))
    assert checked.exit_code == 1
    assert "behind its template: v1 -> v2" in checked.stdout

    updated = run_cli("update", str(dest))
    assert updated.exit_code == 0, updated.output
    assert "template v1 -> v2" in updated.output
    assert (dest / "hello.txt").read_text() == "v2 bob red hello bob\n"
    assert "_commit: v2\n" in (dest / ".copier-answers.yml").read_text()


@pytest.mark.slow
def test_a_project_from_a_local_template_updates_with_plain_copier(
    repo: TemplateRepo, work: Path
) -> None:
    dest = work / "proj"
    result = run_cli(
        "new",
        str(dest),
        "--template",
        str(repo.path),
        "--ref",
        "v1",
        "-d",
        "name=ann",
        "--defaults",
    )
    assert result.exit_code == 0, result.output
    assert f"_src_path: {repo.path}\n" in (dest / ".copier-answers.yml").read_text()
    (dest / "keep.txt").write_text("keep, with my edit\n")
    commit_project(dest, "my edit")

    proc = subprocess.run(
        [sys.executable, "-m", "copier", "update", "--defaults"],
        cwd=dest,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (dest / "hello.txt").read_text() == "v2 ann red hello ann\n"
    assert (dest / "keep.txt").read_text() == "keep, with my edit\n"
    assert "_commit: v2\n" in (dest / ".copier-answers.yml").read_text()


def test_without_a_ref_the_newest_version_tag_is_used(repo: TemplateRepo, work: Path) -> None:
    result = run_cli("new", str(work / "p"), "--template", str(repo.path), "--defaults")
    assert result.exit_code == 0, result.output
    assert (work / "p" / "hello.txt").read_text().startswith("v2 ")
    assert result.stderr == ""


def test_answers_for_a_custom_template_come_from_d_and_the_answers_file(
    repo: TemplateRepo, work: Path, tmp_path: Path
) -> None:
    answers = tmp_path / "answers.yml"
    answers.write_text("name: zoe\ncolor: blue\nshout: hi\n")
    result = run_cli(
        "new",
        str(work / "p"),
        "--template",
        str(repo.path),
        "--answers-file",
        str(answers),
        "-d",
        "shout=yo",
    )
    assert result.exit_code == 0, result.output
    assert (work / "p" / "hello.txt").read_text() == "v2 zoe blue yo\n"


def test_dry_run_with_a_custom_template_lists_files_and_writes_nothing(
    repo: TemplateRepo, work: Path
) -> None:
    result = run_cli(
        "new", str(work / "p"), "--template", str(repo.path), "--defaults", "--dry-run"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == ["  .copier-answers.yml", "  hello.txt", "  keep.txt"]
    assert tree(work) == []


def test_unanswered_questions_are_listed_without_a_terminal(repo: TemplateRepo, work: Path) -> None:
    result = run_cli("new", str(work / "p"), "--template", str(repo.path), "-d", "name=ann")
    assert result.exit_code == 2
    assert "no answer for color, shout and no terminal to ask in" in result.stderr
    assert tree(work) == []


def test_in_a_terminal_the_template_questions_are_asked_with_rendered_defaults(
    repo: TemplateRepo, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mlrig.cli._common.stdin_is_terminal", lambda: True)
    result = run_cli("new", str(work / "p"), "--template", str(repo.path), input="max\nblue\n\n")
    assert result.exit_code == 0, result.output
    assert "Your name [bob]" in result.output
    assert "Favourite colour (red, blue) [red]" in result.output
    assert "Greeting [hello max]" in result.output
    assert (work / "p" / "hello.txt").read_text() == "v2 max blue hello max\n"


def test_a_template_in_the_user_config_is_the_default(
    repo: TemplateRepo, work: Path, config_home: Path
) -> None:
    write_user_config(
        config_home, f"template: {repo.path}@v1\nanswers:\n  name: cfg\n  color: blue\n"
    )
    result = run_cli("new", str(work / "p"), "--defaults", "-d", "color=red")
    assert result.exit_code == 0, result.output
    assert (work / "p" / "hello.txt").read_text() == "v1 cfg red hello cfg\n"
    # --ref overrides the version the config pins.
    again = run_cli("new", str(work / "q"), "--defaults", "--ref", "v2")
    assert again.exit_code == 0, again.output
    assert (work / "q" / "hello.txt").read_text() == "v2 cfg blue hello cfg\n"


def test_a_template_that_is_not_a_git_repository_renders_but_warns(
    tmp_path: Path, work: Path
) -> None:
    plain = tmp_path / "plain"
    (plain / "project").mkdir(parents=True)
    (plain / "copier.yml").write_text("_subdirectory: project\nx:\n  default: 1\n")
    (plain / "project" / "x.txt.jinja").write_text("{{ x }}\n")
    result = run_cli("new", str(work / "p"), "--template", str(plain), "--defaults")
    assert result.exit_code == 0, result.output
    assert "records no version and `mlrig update` cannot update it" in result.stderr
    refused = run_cli("new", str(work / "q"), "--template", f"{plain}@v1", "--defaults")
    assert refused.exit_code == 2
    assert "is not a git repository, so it has no version v1" in refused.stderr


def test_a_template_without_version_tags_renders_head_but_warns(tmp_path: Path, work: Path) -> None:
    untagged = TemplateRepo(tmp_path / "untagged")
    untagged.release("v1", "x:\n  default: 1\n", {"x.txt.jinja": "{{ x }}\n"})
    git(untagged.path, "tag", "-d", "v1")
    result = run_cli("new", str(work / "p"), "--template", str(untagged.path), "--defaults")
    assert result.exit_code == 0, result.output
    assert "has no version tags, so `mlrig update` cannot update" in result.stderr
    assert "No git tags found" not in result.output


# --- bad input: one line, documented exit code, nothing written ----------------------


def _refused(work: Path, *args: str, code: int, message: str) -> None:
    result = run_cli("new", str(work / "p"), *args)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert tree(work) == []


def test_an_unreachable_template_exits_3(work: Path) -> None:
    _refused(
        work,
        "--template",
        "file:///nonexistent/mlrig-template.git",
        "--defaults",
        code=3,
        message="cannot reach template file:///nonexistent/mlrig-template.git",
    )


def test_a_ref_that_does_not_exist_exits_2(repo: TemplateRepo, work: Path) -> None:
    _refused(
        work,
        "--template",
        str(repo.path),
        "--ref",
        "v9",
        "--defaults",
        code=2,
        message="has no version v9; its version tags: v1, v2",
    )


def test_a_commit_that_does_not_exist_exits_2(repo: TemplateRepo, work: Path) -> None:
    _refused(
        work,
        "--template",
        f"{repo.path}@deadbeef",
        "--defaults",
        code=2,
        message="has no version deadbeef",
    )


def test_a_commit_that_exists_can_be_pinned(repo: TemplateRepo, work: Path) -> None:
    v1 = git(repo.path, "rev-parse", "v1")
    result = run_cli("new", str(work / "p"), "--template", f"{repo.path}@{v1[:10]}", "--defaults")
    assert result.exit_code == 0, result.output
    assert (work / "p" / "hello.txt").read_text().startswith("v1 ")
    assert result.stderr == ""  # a tagged template: the project can follow it


def test_a_template_without_copier_yml_exits_2(tmp_path: Path, work: Path) -> None:
    bare = tmp_path / "not-a-template"
    bare.mkdir()
    git(bare, "init", "--quiet")
    (bare / "README.md").write_text("hello\n")
    git(bare, "add", "-A")
    git(bare, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "x")
    git(bare, "tag", "v1")
    _refused(work, "--template", str(bare), "--defaults", code=2, message="has no copier.yml")


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("name=x", "Validation error for question 'name': at least 2 characters"),
        ("color=green", "Invalid choice for 'color'"),
    ],
)
def test_answers_the_template_rejects_exit_2(
    repo: TemplateRepo, work: Path, answer: str, message: str
) -> None:
    _refused(
        work, "--template", str(repo.path), "--defaults", "-d", answer, code=2, message=message
    )


def test_an_unknown_question_exits_2(repo: TemplateRepo, work: Path) -> None:
    _refused(
        work,
        "--template",
        str(repo.path),
        "--defaults",
        "-d",
        "colour=red",
        code=2,
        message="unknown question 'colour'",
    )


# --- trust -------------------------------------------------------------------------------


@pytest.fixture
def risky(tmp_path: Path) -> TemplateRepo:
    """A template that runs a task and loads a Jinja extension."""
    template = TemplateRepo(tmp_path / "risky")
    template.release(
        "v1",
        "_tasks:\n  - touch made-by-task\n_jinja_extensions:\n  - jinja2.ext.loopcontrols\n"
        "x:\n  default: 1\n",
        {"x.txt.jinja": "{{ x }}\n"},
    )
    return template


def test_a_template_that_runs_code_is_refused_naming_what_it_runs(
    risky: TemplateRepo, work: Path
) -> None:
    result = run_cli("new", str(work / "p"), "--template", str(risky.path), "--defaults")
    assert result.exit_code == 2
    assert "task `touch made-by-task`" in result.stderr
    assert "Jinja extension jinja2.ext.loopcontrols" in result.stderr
    assert "pass --trust" in result.stderr
    assert "trusted_prefixes" in result.stderr
    assert tree(work) == []


def test_trust_runs_the_template_tasks(risky: TemplateRepo, work: Path) -> None:
    result = run_cli("new", str(work / "p"), "--template", str(risky.path), "--defaults", "--trust")
    assert result.exit_code == 0, result.output
    assert (work / "p" / "made-by-task").exists()


def test_a_trusted_prefix_in_the_user_config_counts_as_trust(
    risky: TemplateRepo, work: Path, config_home: Path
) -> None:
    write_user_config(config_home, f"trusted_prefixes: ['{risky.path.parent}/']\n")
    result = run_cli("new", str(work / "p"), "--template", str(risky.path), "--defaults")
    assert result.exit_code == 0, result.output
    assert (work / "p" / "made-by-task").exists()


def test_a_prefix_without_a_trailing_slash_trusts_only_that_exact_template(
    risky: TemplateRepo, work: Path, config_home: Path
) -> None:
    write_user_config(config_home, f"trusted_prefixes: ['{risky.path.parent}']\n")
    result = run_cli("new", str(work / "p"), "--template", str(risky.path), "--defaults")
    assert result.exit_code == 2


def test_migrations_need_trust_too(tmp_path: Path) -> None:
    template = TemplateRepo(tmp_path / "migrating")
    template.release(
        "v1",
        "_migrations:\n  - command: rm -rf build\n    version: v2\nx:\n  default: 1\n",
        {"x.txt.jinja": "{{ x }}\n"},
    )
    spec = parse_template_spec(str(template.path))
    assert inspect_template(spec).migrations == ("rm -rf build",)
    with pytest.raises(InvalidInputError, match="migration `rm -rf build`"):
        check_trust(spec, trusted=False)
    check_trust(spec, trusted=True)


def test_update_runs_a_new_task_only_with_trust(tmp_path: Path, work: Path) -> None:
    template = TemplateRepo(tmp_path / "grows-a-task")
    template.release("v1", "x:\n  default: 1\n", {"x.txt.jinja": "{{ x }}\n"})
    template.release(
        "v2", "_tasks:\n  - touch made-by-task\nx:\n  default: 1\n", {"x.txt.jinja": "{{ x }}!\n"}
    )
    dest = work / "p"
    assert (
        run_cli("new", str(dest), "--template", f"{template.path}@v1", "--defaults").exit_code == 0
    )

    refused = run_cli("update", str(dest))
    assert refused.exit_code == 2
    assert "would run code on update (Template uses potentially unsafe feature: tasks)" in (
        refused.stderr
    )
    assert "--trust" in refused.stderr
    assert status(dest) == []

    trusted = run_cli("update", str(dest), "--trust")
    assert trusted.exit_code == 0, trusted.output
    assert (dest / "x.txt").read_text() == "1!\n"


def test_update_trusts_a_template_under_a_trusted_prefix(
    tmp_path: Path, work: Path, config_home: Path
) -> None:
    template = TemplateRepo(tmp_path / "grows-a-task")
    template.release("v1", "x:\n  default: 1\n", {"x.txt.jinja": "{{ x }}\n"})
    template.release(
        "v2", "_tasks:\n  - touch made-by-task\nx:\n  default: 1\n", {"x.txt.jinja": "{{ x }}!\n"}
    )
    dest = work / "p"
    assert (
        run_cli("new", str(dest), "--template", f"{template.path}@v1", "--defaults").exit_code == 0
    )
    write_user_config(config_home, f"trusted_prefixes: ['{template.path}']\n")
    result = run_cli("update", str(dest))
    assert result.exit_code == 0, result.output
    assert (dest / "x.txt").read_text() == "1!\n"


# --- help and start-up -------------------------------------------------------------------


def test_new_help_explains_template_ref_trust_and_config_files() -> None:
    result = run_cli("new", "--help")
    text = " ".join(result.output.split())
    for words in (
        "--template SRC[@REF]",
        "gh:OWNER/REPO",
        "--ref REF",
        "--trust",
        "$MLRIG_CONFIG",
        "~/.config/mlrig/config.yml",
        ".mlrig.yml",
        "trusted_prefixes",
    ):
        assert words in text


def test_importing_the_cli_does_not_import_copier_or_ruamel() -> None:
    code = (
        "import sys, mlrig.cli; print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('copier', 'ruamel', 'jinja2')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def _version() -> str:
    from mlrig import __version__

    return __version__
