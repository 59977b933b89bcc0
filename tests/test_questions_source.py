"""Each built-in question is written once, in templates/ml/copier.yml; the rest agrees.

mlrig's questions (names, help, defaults, choices) come from the module generated
from copier.yml; the typed Answers model and the README's questions table are
checked against them here. Adding a question: write it in copier.yml, run
``python scripts/gen_questions.py``, add its Answers field (and, for a free-form
question, its parser in answers.py), and its README row.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from mlrig.answers import ADVANCED, QUESTIONS, RECORDED, Answers, resolve_answers

ROOT = Path(__file__).resolve().parent.parent
_ROW = re.compile(r"^\| `(\w+)` \| (.*) \| (.*) \|$")


def test_the_generated_questions_match_copier_yml() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_questions.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_the_answers_model_has_a_field_of_the_right_type_for_each_question() -> None:
    fields = [field.name for field in dataclasses.fields(Answers)]
    assert fields == [question.name for question in QUESTIONS] + list(RECORDED)
    hints = typing.get_type_hints(Answers)
    for question in QUESTIONS:
        hint = hints[question.name]
        if typing.get_origin(hint) is typing.Literal:
            # A Literal field lists exactly copier.yml's choices (a plain str field is
            # for choices that change every year, such as python_version's).
            assert typing.get_args(hint) == question.choices, question.name
        else:
            assert hint is type(question.default), question.name
    for name in RECORDED:
        assert hints[name] == tuple[str, ...], name


def test_every_question_takes_its_default_and_refuses_what_copier_yml_refuses() -> None:
    answers = resolve_answers({}, project_default="demo", use_defaults=True)
    for question in QUESTIONS:
        if question.name != "project_name":
            assert getattr(answers, question.name) == question.default, question.name
        if question.choices:
            with pytest.raises(ValueError, match="is not one of"):
                question.parse("not-a-choice")


def _readme_rows() -> list[tuple[str, str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("| question | choices | default |\n|---|---|---|\n", 1)[1]
    rows = []
    for line in table.splitlines():
        if not line.startswith("|"):
            break
        match = _ROW.match(line)
        assert match, f"README questions table: unreadable row {line!r}"
        rows.append((match[1], match[2], match[3]))
    return rows


def test_the_readme_questions_table_lists_each_asked_question_as_copier_yml_does() -> None:
    rows = _readme_rows()
    asked = [question for question in QUESTIONS if question.name not in ADVANCED]
    assert [name for name, _, _ in rows] == [question.name for question in asked]
    for question, (name, choices, default) in zip(asked, rows, strict=True):
        if question.choices:
            assert choices == ", ".join(question.choices), name
        if isinstance(question.default, bool):
            assert (choices, default) == ("yes, no", "yes" if question.default else "no"), name
        elif name == "python_version":
            # mlrig's default is the running Python's; plain copier's is copier.yml's.
            assert f"plain copier: {QUESTIONS[2].choices[-1]}" in default, name
        elif name != "project_name":
            assert default.strip("`") == str(question.default), name
