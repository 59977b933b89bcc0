"""``mlrig template test``'s enumeration: the answer combinations of a template, planned.

The combinations are enumerated with copier's own question handling
(:class:`mlrig._copier_questions.Questionnaire`): choice and yes/no questions are
multiplied, a question whose ``when`` is false for a combination is not asked there
and so not multiplied, free-form questions take their defaults. Each combination is
then answered by copier's questionnaire (:func:`plan`), which says whether the
template's validators accept it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlrig._copier_questions import MISSING, Questionnaire, QuestionView, questionnaire
from mlrig._git import git
from mlrig.commands._template_test_result import Planned
from mlrig.errors import EnvironmentProblem, InvalidInputError
from mlrig.template_info import check_trust, inspect_template
from mlrig.templates import TemplateSpec, git_url

__all__ = ["enumerate_answers", "load_matrix", "open_questionnaire", "plan"]


@contextmanager
def open_questionnaire(spec: TemplateSpec, dst: Path, trust: bool) -> Iterator[Questionnaire]:
    """copier's questionnaire of the template, fetched once; errors become mlrig's."""
    # Copier takes the ref HEAD to mean the working copy, uncommitted changes
    # included; inspect_template knows only named refs, so it reads HEAD's commit.
    head = spec.ref == "HEAD"
    info = inspect_template(TemplateSpec(spec.url, _head_commit(spec.url)) if head else spec)
    check_trust(spec, trusted=trust, info=info)
    with questionnaire(
        spec.url, "HEAD" if head else info.render_ref, dst, unsafe=trust, label=str(spec)
    ) as worker:
        yield worker


def _head_commit(url: str) -> str:
    """The commit HEAD of the git template ``url`` points at."""
    proc = git(None, "ls-remote", "--", git_url(url), "HEAD")
    commit = proc.text.split("\t", 1)[0].strip()
    if not proc.ok or not commit:
        detail = proc.last_error or "it has no HEAD commit"
        raise EnvironmentProblem(f"cannot reach template {url} at HEAD: {detail}")
    return commit


def load_matrix(path: Path) -> dict[str, list[Any]]:
    """Read a matrix file: a mapping of question name to a non-empty list of values."""
    from mlrig._files import read_text
    from mlrig._yaml import load

    what = f"matrix file {path}"
    data = load(read_text(path, what=what), what=what)
    if not isinstance(data, dict) or not data:
        raise InvalidInputError(
            f"matrix file {path} must map question names to lists of values, "
            "e.g. `framework: [sklearn, none]`"
        )
    matrix: dict[str, list[Any]] = {}
    for name, values in data.items():
        if not isinstance(values, list) or not values:
            raise InvalidInputError(
                f"matrix file {path}: {name} must be a non-empty list of values, "
                f"e.g. `{name}: [a, b]`"
            )
        matrix[str(name)] = values
    return matrix


def enumerate_answers(
    worker: Questionnaire, matrix: Mapping[str, list[Any]], matrix_file: Path | None
) -> Iterator[dict[str, Any]]:
    """Yield each combination of multiplied answers, walking the questions in order."""
    names = worker.names

    def walk(
        index: int, answers: dict[str, Any], varied: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        if index == len(names):
            yield varied
            return
        name = names[index]
        question = worker.question(name, answers)
        values = _values(question, matrix.get(name), matrix_file) if question.applies() else None
        if values is None:
            # Not multiplied: its default still feeds later questions' `when` and choices.
            try:
                default = question.default()
            except ValueError:
                # The combination so far makes the template's validator reject this
                # default: plan() reports the combination as skipped, with the reason.
                yield from walk(index + 1, answers, varied)
                return
            if default is MISSING and question.applies():
                raise InvalidInputError(
                    f"question {name} has no default; give its values in a --matrix file"
                )
            following = {**answers, name: default} if default is not MISSING else answers
            yield from walk(index + 1, following, varied)
            return
        for value in values:
            yield from walk(index + 1, {**answers, name: value}, {**varied, name: value})

    yield from walk(0, {}, {})


def _values(
    question: QuestionView, given: list[Any] | None, matrix_file: Path | None
) -> list[Any] | None:
    """The values to multiply for an asked question, or ``None`` to take its default."""
    allowed = question.choices()
    if given is not None:
        values = []
        for value in given:
            try:
                cast, castable = question.cast(value), True
            except Exception:  # copier raises several types for an uncastable answer
                cast, castable = None, False
            # Copier reads any text as a yes/no answer; a matrix must say true or false.
            if question.type_name == "bool" and not isinstance(value, bool):
                castable = False
            if not castable or (allowed and cast not in allowed):
                expected = f"one of {allowed}" if allowed else f"a {question.type_name}"
                raise InvalidInputError(
                    f"matrix file {matrix_file}: {value!r} is not a valid value for "
                    f"{question.name} ({expected})"
                )
            values.append(cast)
        return values
    if allowed:
        return allowed
    if question.type_name == "bool":
        return [True, False]
    return None


def plan(worker: Questionnaire, varied: dict[str, Any]) -> Planned:
    """Run copier's own questionnaire (defaults mode) on one combination, without rendering."""
    answers, reason = worker.answer(varied)
    questions = worker.questions
    user_text = tuple(
        value
        for name, value in answers.items()
        if isinstance(value, str) and not questions[name].get("choices")
    )
    return Planned(_combination_id(varied), dict(varied), answers, user_text, reason)


def _combination_id(varied: Mapping[str, Any]) -> str:
    parts = []
    for name, value in varied.items():
        if isinstance(value, bool):
            parts.append(name if value else f"no{name}")
        else:
            parts.append(re.sub(r"[^\w.+@-]+", "_", str(value)).strip("_") or "empty")
    return "-".join(parts) or "defaults"
