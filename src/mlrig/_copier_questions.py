"""copier's questionnaire: a template's questions as copier itself decides them.

A question's ``when``, default, choices and validator are evaluated by copier's own
questionnaire (``Worker``, ``Question``; private: copier has no public API for
questions), so that ``mlrig new --template`` and ``mlrig template test`` see the same
questions as ``copier copy`` does, filters (``regex_search``...) included.

With :mod:`mlrig._copier` (rendering, updating, trust, reading a template), this is
the only module that imports copier; as there, copier is imported inside the
functions, so that ``mlrig --help`` and ``mlrig check`` never pay for it.
"""

from __future__ import annotations

import contextlib
import enum
import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrig._copier import _fetch_problem, _one_line
from mlrig.errors import MlrigError

if TYPE_CHECKING:
    from copier._main import Worker

__all__ = [
    "MISSING",
    "QuestionView",
    "Questionnaire",
    "question_errors",
    "questionnaire",
]


class _Missing(enum.Enum):
    MISSING = enum.auto()


#: A question without a default (copier's own ``MISSING``, without importing copier).
MISSING = _Missing.MISSING


class QuestionView:
    """One question of a template, rendered by copier against the answers so far."""

    def __init__(self, question: Any) -> None:
        self._question = question

    @property
    def name(self) -> str:
        return str(self._question.var_name)

    @property
    def type_name(self) -> str:
        """copier's type: str, int, float, bool, json or yaml."""
        return str(self._question.get_type_name())

    def applies(self) -> bool:
        """Whether copier asks it: its ``when``, rendered by copier."""
        return bool(self._question.get_when())

    def default(self) -> object:
        """Its default, rendered and cast by copier; :data:`MISSING` when it has none.

        Raises :class:`ValueError` when the template's validator rejects the default.
        """
        from copier._types import MISSING as COPIER_MISSING

        value = self._question.get_default()
        return MISSING if value is COPIER_MISSING else value

    def choices(self) -> list[object]:
        """The allowed values (cast), in order; empty when any value is allowed."""
        if self._question.multiselect:
            return []
        return [self.cast(choice.value) for choice in self._question._formatted_choices]

    def cast(self, value: object) -> object:
        """``value`` as copier casts an answer to this question (may raise anything)."""
        return self._question.cast_answer(value)


class Questionnaire:
    """copier's questionnaire of one template checkout, run without rendering anything."""

    def __init__(self, worker: Worker) -> None:
        self._worker = worker

    @property
    def questions(self) -> Mapping[str, Mapping[str, Any]]:
        """The template's questions as its ``copier.yml`` writes them, in copier's order."""
        return self._worker.template.questions_data

    @property
    def names(self) -> tuple[str, ...]:
        """The template's questions, in the order copier asks them."""
        return tuple(self.questions)

    @property
    def source(self) -> str:
        """The local checkout copier reads the template from."""
        return str(self._worker.template.local_abspath)

    @property
    def commit(self) -> str | None:
        """The commit of the checkout; ``None`` for a plain directory."""
        return self._worker.template.commit_hash

    @property
    def dst(self) -> Path:
        """The folder it answers as if rendering into (a default may derive from it)."""
        return Path(self._worker.dst_path)

    def question(self, name: str, answers: Mapping[str, object]) -> QuestionView:
        """Question ``name`` in the context of ``answers`` (the earlier ones)."""
        from copier._user_data import AnswersMap, Question

        worker = self._worker
        worker.answers = AnswersMap(init=dict(answers), metadata=worker.template.metadata)
        return QuestionView(
            Question(
                answers=worker.answers,
                context=worker._render_context(),
                jinja_env=worker.jinja_env,
                settings=worker.settings,
                var_name=name,
                **worker.template.questions_data[name],
            )
        )

    def answer(self, given: Mapping[str, object]) -> tuple[dict[str, object], str]:
        """copier's answers for ``given`` (defaults for the rest), and why the template's
        validators or choices reject them ("" when they do not)."""
        worker = self._worker
        worker.data = dict(given)
        reason = ""
        try:
            worker._ask()
        except ValueError as exc:
            reason = _one_line(exc)
        remembered = worker._answers_to_remember()
        return {name: remembered[name] for name in self.names if name in remembered}, reason


@contextlib.contextmanager
def questionnaire(
    url: str, ref: str | None, dst: Path, *, unsafe: bool, label: str
) -> Iterator[Questionnaire]:
    """copier's questionnaire of template ``url`` at ``ref``, fetched once.

    ``dst`` is where copier would render (a template's defaults may read its name);
    nothing is written there. The template's Jinja extensions are loaded: trust it
    first. Raises :class:`EnvironmentProblem` when it cannot be fetched.
    """
    from copier._main import Worker
    from plumbum import ProcessExecutionError

    with Worker(
        src_path=url, dst_path=dst, vcs_ref=ref, defaults=True, quiet=True, unsafe=unsafe
    ) as worker:
        try:
            worker.template.local_abspath  # noqa: B018 -- fetch now, to report a failure here
        except ProcessExecutionError as exc:
            raise _fetch_problem(label, exc) from None
        # A questionnaire may run once per answer combination, and copier compiles
        # each `when`, default and validator afresh every time: compile each text once.
        env = worker.jinja_env
        env.from_string = functools.lru_cache(maxsize=None)(env.from_string)  # type: ignore[method-assign,assignment]
        yield Questionnaire(worker)


@contextlib.contextmanager
def question_errors(label: str) -> Iterator[None]:
    """A template's questions that fail to render (copier's or Jinja's error), as MlrigError."""
    from copier.errors import CopierError
    from jinja2 import TemplateError

    try:
        yield
    except (CopierError, TemplateError) as exc:
        raise MlrigError(
            f"template {label}: its questions fail to render: {_one_line(exc)}"
        ) from None
