"""``mlrig template test``: render every answer combination of a template and validate each.

The combinations are enumerated with copier's own question handling
(:class:`mlrig._copier_questions.Questionnaire`): choice and
yes/no questions are multiplied, a question whose ``when`` is false for a
combination is not asked there and so not multiplied, free-form questions take
their defaults. A combination that the template's validators reject (or that picks
a disabled choice) is skipped, not failed. Each other combination is rendered
with copier's ``run_copy`` into a temporary directory, in ``jobs`` processes at once,
and the rendered trees are checked in batches with :func:`mlrig.validate.validate_trees`,
the validators mlrig runs on its own template (each tool starts once per batch).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mlrig import _copier
from mlrig._copier_questions import (
    MISSING,
    Questionnaire,
    QuestionView,
    question_errors,
    questionnaire,
)
from mlrig._git import git
from mlrig.errors import EnvironmentProblem, InvalidInputError, MlrigError
from mlrig.template_info import check_trust, inspect_template
from mlrig.templates import TemplateSpec, git_url, parse_template_spec
from mlrig.validate import Finding, validate_trees

__all__ = ["REPORT_SCHEMA", "Combination", "OnResult", "TemplateTestResult", "template_test"]

#: Version of the JSON report's schema (see :meth:`TemplateTestResult.as_dict`).
REPORT_SCHEMA = 1
Status = Literal["pass", "fail", "skipped"]
# The rendered project's folder: a template's default may derive the project name from it.
_PROJECT_DIR = "project"
# Rendered trees validated together: each validator starts once per batch, and a
# batch that waits for more trees delays their results.
_BATCH = (8, 48)


@dataclass(frozen=True)
class Combination:
    """One answer combination and what became of it."""

    #: Readable id: the multiplied values in question order, e.g. ``github-uv-sklearn-docker``.
    id: str
    #: The multiplied answers, as given to copier.
    varied: Mapping[str, object]
    #: Every answer the project was rendered with (defaults included; secrets left out).
    answers: Mapping[str, object]
    status: Status
    #: The validators' findings; for a render error, one finding from ``copier``.
    findings: tuple[Finding, ...] = ()
    #: Why a skipped combination was skipped (the validator's message).
    reason: str = ""

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form of this combination (part of the stable report schema)."""
        return {
            "id": self.id,
            "status": self.status,
            "varied": dict(self.varied),
            "answers": dict(self.answers),
            "findings": [f.as_dict() for f in self.findings],
            "reason": self.reason or None,
        }


@dataclass(frozen=True)
class TemplateTestResult:
    """The outcome of testing a template: one entry per combination, in enumeration order.

    With a sample, the rendered combinations are the sample and the skipped ones
    are all those the validators rejected (skipping costs no render).
    """

    template: str
    ref: str | None
    #: Combinations the enumeration produced, skipped ones included, before sampling.
    enumerated: int
    #: Sample size asked for, or ``None`` when every valid combination was rendered.
    sample: int | None
    #: Seed of the sample (reported so that a run can be repeated exactly).
    seed: int
    combinations: tuple[Combination, ...]
    seconds: float

    def count(self, status: Status) -> int:
        """How many combinations ended with ``status``."""
        return sum(1 for combo in self.combinations if combo.status == status)

    @property
    def ok(self) -> bool:
        """Whether no rendered combination failed."""
        return self.count("fail") == 0

    def as_dict(self) -> dict[str, object]:
        """The JSON report; ``schema`` is bumped on any incompatible change."""
        return {
            "schema": REPORT_SCHEMA,
            "template": self.template,
            "ref": self.ref,
            "enumerated": self.enumerated,
            "sample": None if self.sample is None else {"size": self.sample, "seed": self.seed},
            "summary": {status: self.count(status) for status in ("pass", "fail", "skipped")},
            "seconds": round(self.seconds, 3),
            "combinations": [combo.as_dict() for combo in self.combinations],
        }


#: Called as each rendered combination finishes: the combination, how many have
#: finished, and how many are rendered in all.
OnResult = Callable[[Combination, int, int], None]


@dataclass(frozen=True)
class _Planned:
    id: str
    varied: dict[str, Any]
    answers: dict[str, Any]
    user_text: tuple[str, ...]
    reason: str


def template_test(
    src: str | Path,
    *,
    ref: str | None = None,
    matrix: Path | None = None,
    sample: int | None = None,
    seed: int = 0,
    trust: bool = False,
    jobs: int | None = None,
    on_result: OnResult | None = None,
) -> TemplateTestResult:
    """Render each answer combination of the copier template ``src`` and validate it.

    ``src`` is a template directory, git repository, bundle or git URL; ``ref`` a
    version of a git template (by default copier's: the newest version tag).
    ``matrix`` is a YAML file mapping question names to the list of values to
    multiply, replacing the enumeration for those questions (free-form ones
    included). ``sample`` renders a deterministic sample, drawn with ``seed``, of
    that many valid combinations. ``trust`` lets a template run its tasks and
    Jinja extensions. ``jobs`` combinations render at once (default: the number
    of CPUs), each in its own process; a trusted template renders one
    combination at a time, in this process, since its tasks may share state.
    ``on_result`` hears of each rendered combination as it finishes.

    Raises :class:`EnvironmentProblem` (the template cannot be reached, a
    validator is missing) and :class:`InvalidInputError` (no ``copier.yml``, a bad
    matrix file, a bad sample size, a template that needs ``trust``, no valid
    combination at all). Nothing is written outside temporary directories.
    """
    started = time.perf_counter()
    if sample is not None and sample < 1:
        raise InvalidInputError(f"--sample must be at least 1, not {sample}")
    jobs = jobs or os.cpu_count() or 1
    if jobs < 1:
        raise InvalidInputError(f"--jobs must be at least 1, not {jobs}")
    spec = parse_template_spec(str(src), ref=ref)
    wanted = _load_matrix(matrix) if matrix is not None else {}
    with (
        tempfile.TemporaryDirectory(prefix="mlrig-template-test-") as tmp,
        _worker(spec, Path(tmp) / "enumerate" / _PROJECT_DIR, trust) as worker,
    ):
        unknown = sorted(set(wanted) - set(worker.names))
        if unknown:
            raise InvalidInputError(
                f"matrix file {matrix} names unknown questions: {', '.join(unknown)}; "
                f"the template asks: {', '.join(worker.names) or 'nothing'}"
            )
        with question_errors(str(spec)):
            plan = [_check(worker, varied) for varied in _enumerate(worker, wanted, matrix)]
        if all(planned.reason for planned in plan):
            raise InvalidInputError(
                f"the template's validators reject all {len(plan)} answer combinations; "
                "fix the template or the --matrix values"
            )
        valid = [index for index, planned in enumerate(plan) if not planned.reason]
        chosen = valid
        if sample is not None and sample < len(valid):
            chosen = sorted(random.Random(seed).sample(valid, sample))
        # Render from the worker's checkout, pinned to its commit, so that a git
        # template is fetched once and every combination sees the same version.
        render_src = worker.source
        render_ref = worker.commit
        results = _render_and_validate(
            [(index, plan[index]) for index in chosen],
            render_src,
            render_ref,
            Path(tmp),
            trust=trust,
            jobs=jobs,
            on_result=on_result,
        )
    combinations = tuple(
        results.get(index)
        or Combination(
            planned.id, planned.varied, planned.answers, "skipped", reason=planned.reason
        )
        for index, planned in enumerate(plan)
        if index in results or planned.reason
    )
    return TemplateTestResult(
        template=spec.url,
        ref=spec.ref,
        enumerated=len(plan),
        sample=sample,
        seed=seed,
        combinations=combinations,
        seconds=time.perf_counter() - started,
    )


@contextmanager
def _worker(spec: TemplateSpec, dst: Path, trust: bool) -> Iterator[Questionnaire]:
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


def _load_matrix(path: Path) -> dict[str, list[Any]]:
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


def _enumerate(
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
                # default: _check reports the combination as skipped, with the reason.
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


def _check(worker: Questionnaire, varied: dict[str, Any]) -> _Planned:
    """Run copier's own questionnaire (defaults mode) on one combination, without rendering."""
    answers, reason = worker.answer(varied)
    questions = worker.questions
    user_text = tuple(
        value
        for name, value in answers.items()
        if isinstance(value, str) and not questions[name].get("choices")
    )
    return _Planned(_combination_id(varied), dict(varied), answers, user_text, reason)


def _combination_id(varied: Mapping[str, Any]) -> str:
    parts = []
    for name, value in varied.items():
        if isinstance(value, bool):
            parts.append(name if value else f"no{name}")
        else:
            parts.append(re.sub(r"[^\w.+@-]+", "_", str(value)).strip("_") or "empty")
    return "-".join(parts) or "defaults"


def _render(
    planned: _Planned, src: str, ref: str | None, out: Path, trust: bool
) -> Combination | None:
    """Render one combination into ``out``; a failed render is the combination's failure."""
    try:
        _copier.copy(src, out, data=planned.varied, ref=ref, template="under test", unsafe=trust)
    except (MlrigError, OSError) as exc:
        message = " ".join(str(exc).split())
        return Combination(
            planned.id, planned.varied, planned.answers, "fail", (Finding("copier", message),)
        )
    return None


def _render_and_validate(
    chosen: list[tuple[int, _Planned]],
    src: str,
    ref: str | None,
    tmp: Path,
    *,
    trust: bool,
    jobs: int,
    on_result: OnResult | None,
) -> dict[int, Combination]:
    """Render the ``chosen`` combinations into ``tmp`` and validate them, batch by batch.

    A batch of rendered trees is validated (in a thread: the validators are
    processes) while the next combinations render; a batch starts when the
    previous one is done and enough trees wait, or nothing is left to render.
    """
    results: dict[int, Combination] = {}
    planned = dict(chosen)

    def finish(combo: Combination, index: int) -> None:
        results[index] = combo
        if on_result is not None:
            on_result(combo, len(results), len(chosen))

    renders: dict[Future[Combination | None], int] = {}
    waiting: list[int] = []
    validating: dict[Future[list[Combination]], list[int]] = {}
    known: dict[object, list[str]] = {}  # used by one validation at a time
    with _renderer(jobs, trust) as render, ThreadPoolExecutor(max_workers=1) as validator:
        for index, plan in chosen:
            out = tmp / f"combo-{index}" / _PROJECT_DIR
            renders[render(_render, plan, src, ref, out, trust)] = index
        while renders or waiting or validating:
            running: list[Future[Any]] = [*renders, *validating]
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for rendered in [future for future in renders if future in done]:
                index = renders.pop(rendered)
                error = rendered.result()
                if error is None:
                    waiting.append(index)
                else:
                    finish(error, index)
            for validated in [future for future in validating if future in done]:
                for index, combo in zip(validating.pop(validated), validated.result(), strict=True):
                    finish(combo, index)
            if waiting and not validating and (len(waiting) >= _BATCH[0] or not renders):
                batch, waiting = waiting[: _BATCH[1]], waiting[_BATCH[1] :]
                trees = [(planned[index], tmp / f"combo-{index}") for index in batch]
                validating[validator.submit(_validate, trees, known)] = batch
    return results


@contextmanager
def _renderer(jobs: int, trust: bool) -> Iterator[Callable[..., Future[Combination | None]]]:
    """A ``submit`` that renders in a pool of ``jobs`` processes, or here for ``trust``."""
    if trust:
        with ThreadPoolExecutor(max_workers=1) as here:
            yield here.submit
        return
    # Not forked: the caller may run threads, and a forked child inherits their locks.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_render_worker)
    try:
        yield pool.submit
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _render_worker() -> None:
    """Set up a render process: Ctrl-C is the parent's to handle; Jinja compiles once.

    Copier builds a new Jinja environment for each render and compiles every
    template file and path again, which is most of a render's time. Every
    environment of this process is built from the same template, at the same
    commit, with the same settings, so a text compiles to the same code each
    time: compiled code is kept, keyed by what ``compile`` is given.
    """
    import jinja2

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    original: Any = jinja2.Environment.compile
    compiled: dict[tuple[str, str | None, str | None, bool, bool], Any] = {}

    def compile_once(
        self: jinja2.Environment,
        source: Any,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        if not isinstance(source, str):  # a parsed template: compiled as given
            return original(self, source, name, filename, raw, defer_init)
        key = (source, name, filename, raw, defer_init)
        if key not in compiled:
            compiled[key] = original(self, source, name, filename, raw, defer_init)
        return compiled[key]

    jinja2.Environment.compile = compile_once  # type: ignore[method-assign]


def _validate(
    trees: list[tuple[_Planned, Path]], known: dict[object, list[str]]
) -> list[Combination]:
    """Validate rendered trees (``(plan, folder)`` pairs) together, then remove them."""
    roots = [folder / _PROJECT_DIR for _, folder in trees]
    texts = [planned.user_text for planned, _ in trees]
    found = validate_trees(roots, answers=texts, known=known)
    combos = []
    for (planned, folder), findings in zip(trees, found, strict=True):
        shutil.rmtree(folder, ignore_errors=True)
        status: Status = "fail" if findings else "pass"
        combos.append(
            Combination(planned.id, planned.varied, planned.answers, status, tuple(findings))
        )
    return combos
