"""The answers of ``mlrig new``: config presets, and a custom template's questions.

The built-in template's answers are the model in :mod:`mlrig.answers`; a custom
template's questions are decided by copier's own questionnaire
(:mod:`mlrig._copier_questions`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

from mlrig._copier_questions import MISSING, question_errors, questionnaire
from mlrig.answers import QUESTIONS
from mlrig.config import Config
from mlrig.errors import InvalidInputError
from mlrig.template_info import TemplateInfo, TemplateQuestion, check_trust

__all__ = ["AskTemplate", "builtin_presets", "resolve_template_answers", "template_presets"]

#: Prompt for one question of a custom template: ``ask(question, default)``.
AskTemplate = Callable[[TemplateQuestion, object], object]


def builtin_presets(config: Config, *, overridden: Collection[str] = ()) -> dict[str, object]:
    """The config's preset answers for the built-in template, each checked.

    Presets in ``overridden`` (given with ``-d`` or ``--answers-file``) are
    skipped. Raises :class:`InvalidInputError` naming the config file of an
    unknown question or an invalid value.
    """
    by_name = {question.name: question for question in QUESTIONS}
    presets: dict[str, object] = {}
    for name, value in config.answers.items():
        if name in overridden:
            continue
        question = by_name.get(name)
        if question is None:
            raise InvalidInputError(
                f"config file {config.origin(f'answers.{name}')}: answers.{name} is not a "
                f"question of the built-in template; the questions are: {', '.join(by_name)}"
            )
        try:
            question.parse(value)
        except ValueError as exc:
            raise InvalidInputError(
                f"config file {config.origin(f'answers.{name}')}: answers.{name}: {exc}"
            ) from None
        presets[name] = value
    return presets


def template_presets(
    info: TemplateInfo, config: Config, *, overridden: Collection[str] = ()
) -> dict[str, object]:
    """The config's preset answers for a custom template, checked against its questions.

    Raises :class:`InvalidInputError` naming the config file of an unknown
    question or a value outside a question's choices; copier runs the
    template's own validators when rendering.
    """
    by_name = {question.name: question for question in info.questions}
    presets: dict[str, object] = {}
    for name, value in config.answers.items():
        if name in overridden:
            continue
        origin = config.origin(f"answers.{name}")
        question = by_name.get(name)
        if question is None:
            raise InvalidInputError(
                f"config file {origin}: answers.{name} is not a question of template "
                f"{info.spec}; its questions are: {', '.join(by_name) or 'none'}"
            )
        if question.choices and str(value) not in {str(c) for c in question.choices}:
            raise InvalidInputError(
                f"config file {origin}: answers.{name} is {value!r}, not one of: "
                f"{', '.join(map(str, question.choices))}"
            )
        presets[name] = value
    return presets


def resolve_template_answers(
    info: TemplateInfo,
    given: Mapping[str, object],
    *,
    use_defaults: bool,
    ask: AskTemplate | None = None,
    dest: Path | None = None,
    trust: bool = False,
) -> dict[str, object]:
    """Complete the answers for a custom template, as copier will receive them.

    Each question's ``when`` and default are decided by copier itself (its
    questionnaire and Jinja filters, at the inspected commit), against the answers
    so far: questions copier computes (``when: false``) or that do not apply are
    skipped. Another unanswered question is left to the template's default when
    ``use_defaults``, asked through ``ask(question, default)`` when given (the
    default as copier renders it, ``None`` when there is none), and is an error
    otherwise. ``dest`` is the project's destination, whose folder name a default
    may use. The template's Jinja extensions load only with ``trust``. Raises
    :class:`InvalidInputError` naming unknown or unanswered questions or an
    untrusted template, and :class:`EnvironmentProblem` when it cannot be fetched.
    """
    names = [question.name for question in info.questions]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise InvalidInputError(
            f"unknown question {', '.join(map(repr, unknown))} for template {info.spec}; "
            f"its questions are: {', '.join(names) or 'none'}"
        )
    answers = dict(given)
    if use_defaults:
        return answers
    check_trust(info.spec, trusted=trust, info=info)
    missing: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="mlrig-questions-") as tmp,
        questionnaire(
            info.spec.url,
            info.render_ref,
            Path(tmp) / (dest.name if dest is not None else "project"),
            unsafe=trust,
            label=str(info.spec),
        ) as questions,
        question_errors(str(info.spec)),
    ):
        # What later questions' `when` and defaults see: the answers, and for an
        # unanswered one (no terminal) its default, as copier would take it.
        context = dict(answers)
        for question in info.questions:
            if question.name in context:
                continue
            asked = questions.question(question.name, context)
            if not asked.applies():
                continue
            try:
                default = asked.default()
            except ValueError:
                default = MISSING  # the template's validator rejects its own default
            if ask is None:
                missing.append(question.name)
                if default is not MISSING:
                    context[question.name] = default
                continue
            answers[question.name] = ask(question, None if default is MISSING else default)
            context[question.name] = answers[question.name]
    if missing:
        raise InvalidInputError(
            f"no answer for {', '.join(missing)} and no terminal to ask in; pass --defaults "
            "to take the template's defaults, or give them with -d KEY=VALUE"
        )
    return answers
