"""``bash -n`` in one place: the answers model and the repository model both ask it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlrig._bash import syntax_errors
from mlrig._repo import bash_valid
from mlrig.answers import resolve_answers
from mlrig.errors import EnvironmentProblem


def test_each_text_gets_bash_s_first_error_line_or_none(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    texts = [
        "pytest -q",
        "if [ -f x ]; then\n  pytest",
        f"touch {marker}",
        f"touch {marker} && (",
    ]

    errors = syntax_errors(texts)

    assert errors == {
        "pytest -q": None,
        "if [ -f x ]; then\n  pytest": "line 3: syntax error: unexpected end of file",
        f"touch {marker}": None,
        f"touch {marker} && (": "line 2: syntax error: unexpected end of file",
    }
    assert not marker.exists(), "bash -n must parse the text, never run it"


def test_without_bash_there_is_no_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: None)

    assert syntax_errors(["pytest -q"]) is None
    # The repository model keeps its candidates; the answers model refuses to guess.
    assert bash_valid(["pytest -q", "make ("]) == {"pytest -q": True, "make (": True}
    with pytest.raises(EnvironmentProblem, match="bash is not installed"):
        resolve_answers({"test_command": "pytest -q"}, project_default="demo", use_defaults=True)


def test_the_repository_model_drops_what_does_not_parse() -> None:
    assert bash_valid(["pytest -q", "make (", "echo ok"]) == {
        "pytest -q": True,
        "make (": False,
        "echo ok": True,
    }
