"""Organisation config: user file, $MLRIG_CONFIG, a repository's .mlrig.yml, `config show`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlrig.config import Config, load_config
from mlrig.errors import InvalidInputError
from tests.configenv import isolate, write_user_config
from tests.conftest import run_cli
from tests.templaterepo import git


@pytest.fixture(autouse=True)
def config_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path / "env")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with a subdirectory, outside any config."""
    path = tmp_path / "org-repo"
    (path / "services" / "model").mkdir(parents=True)
    git(path, "init", "--quiet")
    return path


def test_without_files_everything_is_default(repo: Path) -> None:
    config = load_config(repo)
    assert config == Config(template=None, answers={}, trusted_prefixes=(), origins={}, files=())
    assert config.origin("template") == "default"


def test_the_user_file_sets_values_and_is_named_as_their_origin(
    repo: Path, config_home: Path
) -> None:
    user = write_user_config(
        config_home,
        "template: gh:acme/ml-template@v2.0.0\n"
        "answers:\n  ci_provider: gitlab\n  docker: false\n"
        "trusted_prefixes:\n  - https://github.com/acme/\n",
    )
    config = load_config(repo)
    assert config.template == "gh:acme/ml-template@v2.0.0"
    assert dict(config.answers) == {"ci_provider": "gitlab", "docker": False}
    assert config.trusted_prefixes == ("https://github.com/acme/",)
    assert config.origin("template") == str(user)
    assert config.origin("answers.docker") == str(user)
    assert config.files == (user,)


def test_the_default_user_file_is_under_home_without_xdg(
    repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME")
    user = tmp_path / "env" / "home" / ".config" / "mlrig" / "config.yml"
    user.parent.mkdir(parents=True)
    user.write_text("template: gh:acme/t\n")
    assert load_config(repo).origin("template") == str(user)


def test_mlrig_config_replaces_the_user_file(
    repo: Path, config_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write_user_config(config_home, "template: gh:acme/from-xdg\nanswers: {framework: none}\n")
    org = tmp_path / "org.yml"
    org.write_text("template: gh:acme/from-org\n")
    monkeypatch.setenv("MLRIG_CONFIG", str(org))
    config = load_config(repo)
    assert config.template == "gh:acme/from-org"
    assert dict(config.answers) == {}
    assert config.files == (org,)


def test_a_missing_mlrig_config_file_is_an_error(
    repo: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLRIG_CONFIG", str(tmp_path / "nope.yml"))
    with pytest.raises(InvalidInputError, match=r"nope\.yml named by MLRIG_CONFIG does not exist"):
        load_config(repo)


def test_the_repository_file_wins_key_by_key_from_any_subdirectory(
    repo: Path, config_home: Path
) -> None:
    user = write_user_config(
        config_home,
        "template: gh:acme/user-choice\nanswers:\n  ci_provider: gitlab\n  framework: sklearn\n",
    )
    (repo / ".mlrig.yml").write_text("template: gl:acme/repo-choice\nanswers:\n  framework: none\n")
    config = load_config(repo / "services" / "model" / "not-yet-created")
    assert config.template == "gl:acme/repo-choice"
    assert dict(config.answers) == {"ci_provider": "gitlab", "framework": "none"}
    assert config.origin("answers.ci_provider") == str(user)
    assert config.origin("answers.framework") == str(repo / ".mlrig.yml")
    assert config.files == (user, repo / ".mlrig.yml")


def test_outside_a_repository_the_directory_itself_is_searched(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / ".mlrig.yml").write_text("template: gh:acme/t\n")
    assert load_config(plain).template == "gh:acme/t"
    assert load_config(plain / "new-project").template == "gh:acme/t"
    (plain / "sub").mkdir()
    assert load_config(plain / "sub").template is None


def test_a_relative_template_path_is_relative_to_its_config_file(repo: Path) -> None:
    (repo / ".mlrig.yml").write_text("template: ./templates/house@v1\n")
    assert load_config(repo).template == str(repo / "templates" / "house@v1")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("templates: gh:acme/t\n", "unknown key 'templates'; the keys are: template, answers"),
        ("template: [gh:acme/t\n", "is not valid YAML"),
        ("template: gh:a/b\ntemplate: gh:a/c\n", "is not valid YAML: .*duplicate key"),
        ("- template\n", "must be a YAML mapping"),
        ("template: 3\n", "template must be a template SRC"),
        ("answers: [a, b]\n", "answers must be a mapping"),
        ("answers:\n  when: 2024-01-01\n", "answers.when must be text.*not date; quote it"),
        ("answers:\n  name:\n", "answers.name must be text"),
        ("trusted_prefixes: https://github.com/acme/\n", "trusted_prefixes must be a list"),
    ],
)
def test_bad_files_are_refused_naming_file_and_key(
    repo: Path, config_home: Path, text: str, message: str
) -> None:
    user = write_user_config(config_home, text)
    with pytest.raises(InvalidInputError, match=f"config file {user}.*{message}"):
        load_config(repo)


def test_a_repository_cannot_trust_templates_on_the_users_behalf(repo: Path) -> None:
    (repo / ".mlrig.yml").write_text("trusted_prefixes: [https://github.com/evil/]\n")
    with pytest.raises(InvalidInputError, match="trusted_prefixes is allowed only in the user"):
        load_config(repo)


def test_trust_is_by_prefix_ending_in_a_slash_or_by_exact_url() -> None:
    config = Config(trusted_prefixes=("https://github.com/acme/", "gl:solo/one", "/srv/templates/"))
    assert config.is_trusted("https://github.com/acme/tpl.git")
    assert config.is_trusted("gh:acme/tpl")  # expanded as copier does
    assert config.is_trusted("gl:solo/one")
    assert config.is_trusted("/srv/templates/house")
    assert not config.is_trusted("https://github.com/acme-evil/tpl.git")
    assert not config.is_trusted("gl:solo/one-more")
    assert not config.is_trusted("/srv/templates-other/house")
    assert not Config(trusted_prefixes=("https://github.com/acme",)).is_trusted(
        "https://github.com/acme-evil/tpl.git"
    )


# --- mlrig config show -----------------------------------------------------------------


def test_config_show_prints_each_value_and_its_origin(repo: Path, config_home: Path) -> None:
    user = write_user_config(config_home, "answers:\n  ci_provider: gitlab\n")
    (repo / ".mlrig.yml").write_text("template: gh:acme/t@v1\n")
    result = run_cli("config", "show", str(repo))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines == [
        f"template             gh:acme/t@v1  [{repo / '.mlrig.yml'}]",
        f"answers.ci_provider  gitlab  [{user}]",
        "trusted_prefixes     (none)  [default]",
    ]


def test_config_show_json(repo: Path, config_home: Path) -> None:
    user = write_user_config(config_home, "trusted_prefixes: [https://github.com/acme/]\n")
    result = run_cli("config", "show", str(repo), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["settings"] == {
        "template": {"value": None, "origin": "default"},
        "trusted_prefixes": {"value": ["https://github.com/acme/"], "origin": str(user)},
    }
    assert data["read"] == [str(user)]
    assert data["searched"] == [str(user), str(repo / ".mlrig.yml")]


def test_config_show_with_a_bad_file_exits_2_with_one_line(repo: Path) -> None:
    (repo / ".mlrig.yml").write_text("colour: blue\n")
    result = run_cli("config", "show", str(repo))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"mlrig: error: config file {repo / '.mlrig.yml'}: unknown key 'colour'; "
        "the keys are: template, answers, trusted_prefixes"
    ]


# --- presets for the built-in template ---------------------------------------------------


def test_presets_answer_built_in_questions_below_d(repo: Path, config_home: Path) -> None:
    write_user_config(config_home, "answers:\n  ci_provider: gitlab\n  framework: none\n")
    dest = repo / "services" / "model" / "new-model"
    result = run_cli("new", str(dest), "--defaults", "--no-git", "-d", "framework=pytorch")
    assert result.exit_code == 0, result.output
    recorded = (dest / ".copier-answers.yml").read_text()
    assert "ci_provider: gitlab\n" in recorded
    assert "framework: pytorch\n" in recorded
    assert (dest / ".gitlab-ci.yml").is_file()


def test_presets_are_not_asked_in_a_terminal(
    repo: Path, config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_user_config(config_home, "answers:\n  ci_provider: both\n")
    monkeypatch.setattr("mlrig.cli._common.stdin_is_terminal", lambda: True)
    result = run_cli("new", str(repo / "m"), "--no-git", "--dry-run", input="\n" * 30)
    assert result.exit_code == 0, result.output
    assert "Where the pipeline runs" not in result.output  # ci_provider's help
    assert "Machine-learning framework" in result.output


@pytest.mark.parametrize(
    ("preset", "message"),
    [
        ("framework: tensorflow", "answers.framework: 'tensorflow' is not one of"),
        ("colour: blue", "answers.colour is not a question of the built-in template"),
    ],
)
def test_a_bad_preset_exits_2_naming_the_config_file(
    repo: Path, config_home: Path, preset: str, message: str
) -> None:
    user = write_user_config(config_home, f"answers:\n  {preset}\n")
    result = run_cli("new", str(repo / "m"), "--defaults")
    assert result.exit_code == 2
    assert f"config file {user}: {message}" in result.stderr
    assert not (repo / "m").exists()


def test_new_refuses_a_config_file_with_bad_yaml(repo: Path) -> None:
    (repo / ".mlrig.yml").write_text("answers: {framework: none\n")
    result = run_cli("new", str(repo / "m"), "--defaults")
    assert result.exit_code == 2
    assert f"config file {repo / '.mlrig.yml'} is not valid YAML" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (repo / "m").exists()


def test_a_bad_preset_overridden_by_d_is_not_used(repo: Path, config_home: Path) -> None:
    write_user_config(config_home, "answers:\n  framework: tensorflow\n")
    result = run_cli("new", str(repo / "m"), "--defaults", "--dry-run", "-d", "framework=none")
    assert result.exit_code == 0, result.output


def test_ref_without_any_template_exits_2(repo: Path) -> None:
    result = run_cli("new", str(repo / "m"), "--defaults", "--ref", "v1")
    assert result.exit_code == 2
    assert "--ref picks a version of a --template" in result.stderr
    assert not (repo / "m").exists()


def test_a_bad_template_in_the_config_is_named(repo: Path, config_home: Path) -> None:
    user = write_user_config(config_home, "template: /no/such/template\n")
    result = run_cli("new", str(repo / "m"), "--defaults")
    assert result.exit_code == 2
    assert f"config file {user}: template /no/such/template does not exist" in result.stderr
