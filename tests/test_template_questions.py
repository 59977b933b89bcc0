"""`mlrig new --template` decides a question's `when` and default as copier does.

A house template's `when` and defaults may use copier's Jinja filters
(`regex_search`, `regex_replace`...) and its context (`_copier_conf`): mlrig asks
exactly the questions copier would ask, with the defaults copier would take.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrig.commands.new import resolve_template_answers
from mlrig.errors import InvalidInputError
from mlrig.template_info import TemplateQuestion, inspect_template
from mlrig.templates import parse_template_spec
from tests.configenv import isolate
from tests.conftest import run_cli
from tests.templaterepo import TemplateRepo

QUESTIONS = """\
project:
  type: str
  help: Project
  default: "{{ _copier_conf.dst_path | basename }}"
license:
  type: str
  help: Licence
  choices: [MIT, Apache-2.0, proprietary]
  default: MIT
holder:
  type: str
  help: Copyright holder
  when: "{{ license | regex_search('^(MIT|Apache)') }}"
  default: "{{ project | regex_replace('-', ' ') | title }}"
"""
FILES = {"LICENSE.jinja": "{{ license }}{% if holder is defined %} {{ holder }}{% endif %}\n"}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TemplateRepo:
    isolate(monkeypatch, tmp_path)
    template = TemplateRepo(tmp_path / "house")
    template.release("v1.0.0", QUESTIONS, FILES)
    return template


def _asked(repo: TemplateRepo, given: dict[str, object], dest: Path) -> dict[str, object]:
    """The questions asked for ``given`` answers, each with the default offered."""
    info = inspect_template(parse_template_spec(str(repo.path)))
    asked: dict[str, object] = {}

    def ask(question: TemplateQuestion, default: object) -> object:
        asked[question.name] = default
        return default

    resolve_template_answers(info, given, use_defaults=False, ask=ask, dest=dest)
    return asked


def test_a_question_whose_when_uses_regex_search_is_asked(
    repo: TemplateRepo, tmp_path: Path
) -> None:
    asked = _asked(repo, {"license": "Apache-2.0"}, tmp_path / "acme-model")
    # The defaults are copier's: the destination's folder name, then a filter of it.
    assert asked == {"project": "acme-model", "holder": "Acme Model"}


def test_a_question_whose_when_is_false_is_not_asked(repo: TemplateRepo, tmp_path: Path) -> None:
    asked = _asked(repo, {"license": "proprietary"}, tmp_path / "acme-model")
    assert asked == {"project": "acme-model"}


def test_without_a_terminal_the_regex_gated_question_is_listed(
    repo: TemplateRepo, tmp_path: Path
) -> None:
    info = inspect_template(parse_template_spec(str(repo.path)))
    with pytest.raises(InvalidInputError, match="no answer for holder and no terminal"):
        resolve_template_answers(
            info, {"project": "p", "license": "MIT"}, use_defaults=False, ask=None
        )
    result = run_cli("new", str(tmp_path / "p"), "--template", str(repo.path), "-d", "project=p")
    assert result.exit_code == 2
    assert "no answer for license, holder and no terminal to ask in" in result.stderr


def test_in_a_terminal_the_regex_gated_question_is_answered(
    repo: TemplateRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("mlrig.cli._common.stdin_is_terminal", lambda: True)
    dest = tmp_path / "acme-model"
    result = run_cli("new", str(dest), "--template", str(repo.path), input="\nMIT\nACME Corp\n")
    assert result.exit_code == 0, result.output
    assert "Copyright holder [Acme Model]" in result.output
    assert (dest / "LICENSE").read_text() == "MIT ACME Corp\n"
