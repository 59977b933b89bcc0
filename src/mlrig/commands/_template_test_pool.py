"""``mlrig template test``'s processes: plan, render and validate combinations at once.

:func:`pool` gives ``jobs`` processes (one thread here, for a trusted template, whose
tasks may share state). :func:`plan_all` answers the enumerated combinations with
copier's questionnaire in those processes, a chunk at a time;
:func:`render_and_validate` renders each chosen combination with copier's
``run_copy`` into a temporary directory there, and checks the rendered trees in
batches with :func:`mlrig.validate.validate_trees` (each tool starts once per batch,
identical files are checked once) while the next ones render.
"""

from __future__ import annotations

import itertools
import multiprocessing
import multiprocessing.util
import shutil
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from mlrig import _copier, _copier_render
from mlrig._copier_questions import Questionnaire, question_errors, questionnaire
from mlrig.commands._template_test_plan import plan
from mlrig.commands._template_test_result import (
    PROJECT_DIR,
    Combination,
    OnResult,
    Planned,
    Status,
)
from mlrig.errors import MlrigError
from mlrig.validate import Finding, validate_trees

__all__ = ["Submit", "plan_all", "pool", "render_and_validate"]

#: Runs a function with its arguments in the pool; its future holds the result.
Submit = Callable[..., "Future[Any]"]
# Rendered trees validated together: each validator starts once per batch, and a
# batch that waits for more trees delays their results.
_BATCH = (8, 48)
# Combinations a pool process answers per task: few enough to share out evenly,
# enough that a task costs more than sending it.
_PLAN_CHUNK = 48
# This process's questionnaire of the template under test, by (source, ref, folder).
_questionnaires: dict[tuple[str, str | None, Path], Questionnaire] = {}


@contextmanager
def pool(jobs: int, trust: bool) -> Iterator[Submit]:
    """A ``submit`` that runs in a pool of ``jobs`` processes, or here for ``trust``."""
    if trust:
        with ThreadPoolExecutor(max_workers=1) as here:
            yield here.submit
        return
    # Not forked: the caller may run threads, and a forked child inherits their locks.
    context = multiprocessing.get_context("spawn")
    processes = ProcessPoolExecutor(jobs, mp_context=context, initializer=_pool_process)
    try:
        yield processes.submit
    finally:
        processes.shutdown(wait=True, cancel_futures=True)


def _pool_process() -> None:
    """Set up a pool process: Ctrl-C is the parent's to handle; renders are prepared."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _copier_render.prepare_render_process()


def plan_all(
    run: Submit,
    worker: Questionnaire,
    combos: Iterable[dict[str, Any]],
    *,
    trust: bool,
    label: str,
) -> list[Planned]:
    """:func:`plan` for each of ``combos``, in order: in the pool, a chunk at a time.

    Each pool process opens its own questionnaire of ``worker``'s checkout, at its
    commit, the version every combination renders from, as if rendered into
    ``worker``'s folder; a chunk goes to the pool as soon as ``combos`` (a walk of
    ``worker``'s questions) has yielded it. A trusted template is answered here, by
    ``worker`` (its extensions are loaded once), after the walk: ``worker`` answers
    one thing at a time. Errors are :func:`question_errors`'.
    """
    with question_errors(label):
        if trust:
            return [plan(worker, varied) for varied in list(combos)]
        chunks = [
            run(_plan_chunk, worker.source, worker.commit, worker.dst, label, chunk)
            for chunk in _chunked(combos, _PLAN_CHUNK)
        ]
        return [planned for future in chunks for planned in future.result()]


def _chunked(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """``items`` in lists of ``size`` (the last may be shorter), as they come."""
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _plan_chunk(
    source: str, ref: str | None, dst: Path, label: str, combos: Sequence[dict[str, Any]]
) -> list[Planned]:
    """:func:`plan` for ``combos`` with this process's questionnaire of ``source``."""
    key = (source, ref, dst)
    with question_errors(label):
        if key not in _questionnaires:
            stack = ExitStack()
            _questionnaires[key] = stack.enter_context(
                questionnaire(source, ref, dst, unsafe=False, label=label)
            )
            # Removes the questionnaire's checkout as the pool process exits.
            multiprocessing.util.Finalize(None, stack.close, exitpriority=10)
        return [plan(_questionnaires[key], varied) for varied in combos]


def render_and_validate(
    run: Submit,
    chosen: list[tuple[int, Planned]],
    src: str,
    ref: str | None,
    tmp: Path,
    *,
    trust: bool,
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

    renders: dict[Future[Any], int] = {}
    waiting: list[int] = []
    validating: dict[Future[list[Combination]], list[int]] = {}
    known: dict[object, list[str]] = {}  # used by one validation at a time
    with ThreadPoolExecutor(max_workers=1) as validator:
        for index, plan in chosen:
            out = tmp / f"combo-{index}" / PROJECT_DIR
            renders[run(_render, plan, src, ref, out, trust)] = index
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


def _render(
    planned: Planned, src: str, ref: str | None, out: Path, trust: bool
) -> Combination | None:
    """Render one combination into ``out``; a failed render is the combination's failure."""
    try:
        _copier.copy(src, out, data=planned.varied, ref=ref, template="under test", unsafe=trust)
    except (MlrigError, OSError) as exc:
        message = " ".join(str(exc).split())
        return planned.outcome("fail", (Finding("copier", message),))
    return None


def _validate(
    trees: list[tuple[Planned, Path]], known: dict[object, list[str]]
) -> list[Combination]:
    """Validate rendered trees (``(plan, folder)`` pairs) together, then remove them."""
    roots = [folder / PROJECT_DIR for _, folder in trees]
    texts = [planned.user_text for planned, _ in trees]
    found = validate_trees(roots, answers=texts, known=known)
    combos = []
    for (planned, folder), findings in zip(trees, found, strict=True):
        shutil.rmtree(folder, ignore_errors=True)
        status: Status = "fail" if findings else "pass"
        combos.append(planned.outcome(status, tuple(findings)))
    return combos
