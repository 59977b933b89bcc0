"""``mlrig template test``: render every answer combination of a template and validate each.

The combinations are enumerated with copier's own question handling
(:mod:`mlrig.commands._template_test_plan`): choice and yes/no questions are
multiplied, a question whose ``when`` is false for a combination is not asked there
and so not multiplied, free-form questions take their defaults. A combination that
the template's validators reject (or that picks a disabled choice) is skipped, not
failed. Each other combination is rendered with copier's ``run_copy`` into a
temporary directory, in ``jobs`` processes at once, and the rendered trees are
checked in batches with :func:`mlrig.validate.validate_trees`, the validators mlrig
runs on its own template (:mod:`mlrig.commands._template_test_pool`).
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path

from mlrig.commands._template_test_plan import enumerate_answers, load_matrix, open_questionnaire
from mlrig.commands._template_test_pool import plan_all, pool, render_and_validate
from mlrig.commands._template_test_result import (
    PROJECT_DIR,
    REPORT_SCHEMA,
    Combination,
    OnResult,
    TemplateTestResult,
)
from mlrig.errors import InvalidInputError
from mlrig.templates import parse_template_spec

__all__ = ["REPORT_SCHEMA", "Combination", "OnResult", "TemplateTestResult", "template_test"]


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
    Jinja extensions. ``jobs`` processes answer and render combinations at once
    (default: the number of CPUs); a trusted template is answered and rendered one
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
    wanted = load_matrix(matrix) if matrix is not None else {}
    with (
        tempfile.TemporaryDirectory(prefix="mlrig-template-test-") as tmp,
        open_questionnaire(spec, Path(tmp) / "enumerate" / PROJECT_DIR, trust) as worker,
        pool(jobs, trust) as run,
    ):
        unknown = sorted(set(wanted) - set(worker.names))
        if unknown:
            raise InvalidInputError(
                f"matrix file {matrix} names unknown questions: {', '.join(unknown)}; "
                f"the template asks: {', '.join(worker.names) or 'nothing'}"
            )
        combos = enumerate_answers(worker, wanted, matrix)
        plan = plan_all(run, worker, combos, trust=trust, label=str(spec))
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
        results = render_and_validate(
            run,
            [(index, plan[index]) for index in chosen],
            render_src,
            render_ref,
            Path(tmp),
            trust=trust,
            on_result=on_result,
        )
    combinations = tuple(
        results.get(index) or planned.skipped()
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
