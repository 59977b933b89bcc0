"""Every valid answer combination renders to files that pass every validator.

The choice and yes/no questions are multiplied (readable ids such as
``both-uv-pytorch-docker-f1``); the free-form ones (Python version, GPU runner,
monitoring schedule) and data versioning rotate across the combinations so each
value is covered without multiplying the matrix. Every combination of the choices
is valid for a new project. The existing-repository mode (``existing_repo``, what adopt renders)
has its own matrix, filtered by the answers model: a combination it refuses (a
monitoring schedule without an evaluate command and metrics file) is not rendered.

Every combination runs in the full suite; the quick loop (``-m "not slow"``) runs a
covering subset: every pair of values of the multiplied questions (and of data
versioning), and every value of each rotating one, in at least one combination. The
subset is rendered and validated as one batch (each validator starts once for all its
trees, as ``mlrig template test`` runs them), each combination a subtest of its own; the
rest are slow tests of one combination each. A test below checks that the subset covers
every pair.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import pytest

from mlrig.answers import resolve_answers
from mlrig.errors import InvalidInputError
from mlrig.validate import validate_tree, validate_trees

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

CHOICES: dict[str, list[object]] = {
    "ci_provider": ["github", "gitlab", "both"],
    "package_manager": ["uv", "pip"],
    "framework": ["sklearn", "pytorch", "none"],
    "docker": [True, False],
    "gate_metric": ["accuracy", "f1"],
}
ROTATING: dict[str, list[object]] = {
    "python_version": ["3.10", "3.11", "3.12", "3.13", "3.14"],
    # Only pytorch has a GPU path; the other frameworks take 'none' (see _combinations).
    "gpu_runner": ["gpu-a100", "none", "gpu.large_1"],
    "monitoring_schedule": ["0 6 * * 1", "none", "*/30 2 1-7 JAN,JUL MON-FRI"],
    # Period 4 (coprime with 3 and 5): half the combinations, and every value of every
    # other question appears both with and without DVC (pairwise), at no extra render.
    "data_versioning": ["none", "dvc", "dvc", "none"],
}


#: The quick subset has every pair of values of these questions, and every value of
#: the rotating ones.
PAIRED = [*CHOICES, "data_versioning"]


def _covered(
    combo: dict[str, object], paired: Sequence[str], single: Iterable[str]
) -> set[tuple[tuple[str, object], ...]]:
    """The value pairs of the ``paired`` questions and the single values of ``single``."""
    pairs = {((a, combo[a]), (b, combo[b])) for a, b in itertools.combinations(paired, 2)}
    return pairs | {((key, combo[key]),) for key in single}


def _covering(
    combos: list[dict[str, object]], paired: Sequence[str], single: Iterable[str]
) -> set[int]:
    """Indexes of a subset of ``combos`` that covers all they cover between them (greedy,
    deterministic: each step takes the first combination that covers most of the rest)."""
    single = list(single)
    covers = [_covered(combo, paired, single) for combo in combos]
    left = set().union(*covers)
    chosen: set[int] = set()
    while left:
        best = max(range(len(combos)), key=lambda i: (len(covers[i] & left), -i))
        chosen.add(best)
        left -= covers[best]
    return chosen


def _params(
    combos: list[dict[str, object]], quick: set[int], name: Callable[[dict[str, object]], str]
) -> list[object]:
    """The combinations outside the quick subset, each a slow test of its own."""
    return [
        pytest.param(combo, id=name(combo), marks=pytest.mark.slow)
        for i, combo in enumerate(combos)
        if i not in quick
    ]


def _each_in_one_batch(
    render: Callable[..., Path],
    subtests: pytest.Subtests,
    combos: list[dict[str, object]],
    name: Callable[[dict[str, object]], str],
    expect: Callable[[Path, dict[str, object]], None],
) -> None:
    """Render ``combos``, validate them together, and check each as a subtest of its own."""
    projects = [render(**combo) for combo in combos]
    for combo, project, findings in zip(combos, projects, validate_trees(projects), strict=True):
        with subtests.test(name(combo)):
            assert not findings, "\n".join(map(str, findings))
            expect(project, combo)


def _combinations() -> list[dict[str, object]]:
    combos = []
    for index, values in enumerate(itertools.product(*CHOICES.values())):
        combo = dict(zip(CHOICES, values, strict=True))
        for key, options in ROTATING.items():
            combo[key] = options[index % len(options)]
        if combo["framework"] != "pytorch":
            combo["gpu_runner"] = "none"
        else:
            # Only pytorch takes a runner: rotate over the pytorch combinations alone, so
            # each label still meets both data_versioning values.
            runners = ROTATING["gpu_runner"]
            combo["gpu_runner"] = runners[(index // len(CHOICES["framework"])) % len(runners)]
        combos.append(combo)
    return combos


def _id(combo: dict[str, object]) -> str:
    docker = "docker" if combo["docker"] else "nodocker"
    gpu = "-gpu" if combo["gpu_runner"] != "none" else ""
    monitor = "-monitor" if combo["monitoring_schedule"] != "none" else ""
    dvc = "-dvc" if combo["data_versioning"] == "dvc" else ""
    return (
        f"{combo['ci_provider']}-{combo['package_manager']}-{combo['framework']}-{docker}-"
        f"{combo['gate_metric']}-py{combo['python_version']}{gpu}{monitor}{dvc}"
    )


COMBINATIONS = _combinations()
QUICK = _covering(COMBINATIONS, PAIRED, ROTATING)


def test_the_quick_combinations_render_clean(
    render: Callable[..., Path], subtests: pytest.Subtests
) -> None:
    quick = [COMBINATIONS[i] for i in sorted(QUICK)]
    _each_in_one_batch(render, subtests, quick, _id, _expect_new)


@pytest.mark.parametrize("answers", _params(COMBINATIONS, QUICK, _id))
def test_combination_renders_clean(render: Callable[..., Path], answers: dict[str, object]) -> None:
    project = render(**answers)
    findings = validate_tree(project)
    assert not findings, "\n".join(map(str, findings))
    _expect_new(project, answers)


def _expect_new(project: Path, answers: dict[str, object]) -> None:
    """The files a new project from ``answers`` has, and the answers they carry."""
    github = answers["ci_provider"] in ("github", "both")
    gitlab = answers["ci_provider"] in ("gitlab", "both")
    monitor = answers["monitoring_schedule"] != "none"
    expected = {
        ".github/workflows/ci.yml": github,
        ".github/workflows/monitor.yml": github and monitor,
        ".github/workflows/template-sync.yml": github,
        ".github/dependabot.yml": github,
        ".github/actionlint.yaml": github and answers["gpu_runner"] != "none",
        ".gitlab-ci.yml": gitlab,
        "Dockerfile": answers["docker"],
        ".dockerignore": answers["docker"],
        "pyproject.toml": True,
        "README.md": True,
        ".pre-commit-config.yaml": True,
        ".copier-answers.yml": True,
        "src/demo_model/train.py": True,
        "src/demo_model/evaluate.py": True,
        "src/demo_model/data.py": True,
        "tests/test_train.py": True,
        "data/train.csv.dvc": answers["data_versioning"] == "dvc",
        ".dvc/config": answers["data_versioning"] == "dvc",
    }
    present = {name: (project / name).is_file() for name in expected}
    assert present == expected

    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == f">={answers['python_version']}"
    config = (project / "src" / "demo_model" / "config.py").read_text()
    assert repr(answers["gate_metric"]).replace("'", '"') in config
    if gitlab and monitor:
        assert str(answers["monitoring_schedule"]) in (project / "README.md").read_text()


# The repository's own commands, as adopt infers them: whole sequences, continuations.
INSTALL = {
    "uv": "uv sync --group dev",
    "pip": "python -m pip install --upgrade pip\n"
    "pip install \\\n  -r requirements.txt\n"
    'pip install -e ".[test]"',
}
EXISTING_CHOICES: dict[str, list[object]] = {
    "ci_provider": ["github", "gitlab", "both"],
    "package_manager": ["uv", "pip"],
    "docker": [True, False],
    "metrics_file": ["reports/metrics.json", ""],
    "monitoring_schedule": ["0 6 * * 1", "none"],
}
EXISTING_ROTATING: dict[str, list[object]] = {
    "python_version": ["3.14", "3.10", "3.12"],
    "lint_command": ["ruff check .", "none", "make lint"],
    "evaluate_command": ["python -m churn.evaluate --out reports/metrics.json", "none"],
    "template_sync": [True, True, False],
}
EXISTING_PAIRED = list(EXISTING_CHOICES)


def _existing_combinations() -> list[dict[str, object]]:
    combos = []
    for index, values in enumerate(itertools.product(*EXISTING_CHOICES.values())):
        combo: dict[str, object] = dict(zip(EXISTING_CHOICES, values, strict=True))
        for key, options in EXISTING_ROTATING.items():
            combo[key] = options[index % len(options)]
        combo.update(
            existing_repo=True,
            install_command=INSTALL[str(combo["package_manager"])],
            test_command="pytest -q tests",
            data_command="none" if index % 2 else "dvc status\npython scripts/check_data.py",
            train_command='python train.py \\\n  --epochs 1 \\\n  --out "reports"',
        )
        try:
            resolve_answers(combo, project_default="demo-model", use_defaults=True)
        except InvalidInputError:
            continue  # the answers model refuses it: adopt never renders it
        combos.append(combo)
    return combos


def _existing_id(combo: dict[str, object]) -> str:
    docker = "docker" if combo["docker"] else "nodocker"
    gate = "gate" if combo["metrics_file"] else "nogate"
    monitor = "-monitor" if combo["monitoring_schedule"] != "none" else ""
    sync = "" if combo["template_sync"] else "-nosync"
    return (
        f"existing-{combo['ci_provider']}-{combo['package_manager']}-{docker}-{gate}"
        f"-py{combo['python_version']}{monitor}{sync}"
    )


EXISTING = _existing_combinations()
# data_command alternates with the index, as the rotating questions do.
EXISTING_QUICK = _covering(EXISTING, EXISTING_PAIRED, [*EXISTING_ROTATING, "data_command"])


def test_the_quick_existing_repo_combinations_render_only_pipelines_and_validate(
    render: Callable[..., Path], subtests: pytest.Subtests
) -> None:
    quick = [EXISTING[i] for i in sorted(EXISTING_QUICK)]
    _each_in_one_batch(render, subtests, quick, _existing_id, _expect_existing)


@pytest.mark.parametrize("answers", _params(EXISTING, EXISTING_QUICK, _existing_id))
def test_existing_repo_combination_renders_only_pipelines_and_validates(
    render: Callable[..., Path], answers: dict[str, object]
) -> None:
    project = render(**answers)
    findings = validate_tree(project)
    assert not findings, "\n".join(map(str, findings))
    _expect_existing(project, answers)


def _expect_existing(project: Path, answers: dict[str, object]) -> None:
    """An existing repository gets only pipelines, running its own commands."""
    github = answers["ci_provider"] in ("github", "both")
    gitlab = answers["ci_provider"] in ("gitlab", "both")
    gate = bool(answers["metrics_file"])
    monitor = answers["monitoring_schedule"] != "none"
    files = sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file())
    expected = [
        ".copier-answers.yml",
        *([".github/dependabot.yml", ".github/workflows/ci.yml"] if github else []),
        *([".github/workflows/monitor.yml"] if github and monitor else []),
        *([".github/workflows/template-sync.yml"] if github and answers["template_sync"] else []),
        *([".gitlab-ci.yml"] if gitlab else []),
        *([".mlrig/gate.py"] if gate else []),
        *(
            [".mlrig/sync-requirements.txt", ".mlrig/template-sync.sh"]
            if answers["template_sync"]
            else []
        ),
    ]
    assert files == sorted(expected)
    pipelines = "".join(
        (project / name).read_text()
        for name in (".github/workflows/ci.yml", ".gitlab-ci.yml")
        if (project / name).is_file()
    )
    # The repository's own commands, whole; mlrig's gate only with a metrics file.
    assert "pip install \\\n" in pipelines or answers["package_manager"] == "uv"
    assert "--epochs 1 \\\n" in pipelines
    assert (".mlrig/gate.py" in pipelines) is gate
    assert ("--extra dev" in pipelines) is False
    if github:
        dependabot = (project / ".github/dependabot.yml").read_text()
        # The actions mlrig pins, and the template-sync job's mlrig.
        assert dependabot.count("package-ecosystem") == 1 + bool(answers["template_sync"])
    # The repository's commands find the tools its install put in place: uv's .venv is
    # active; pip installs into the runner's Python.
    uv = answers["package_manager"] == "uv"
    if github:
        ci = (project / ".github/workflows/ci.yml").read_text()
        assert ("activate-environment: true" in ci) is uv
    if gitlab:
        assert ("- . .venv/bin/activate" in (project / ".gitlab-ci.yml").read_text()) is uv


def _uncovered(
    quick: list[dict[str, object]], values: dict[str, list[object]], paired: Sequence[str]
) -> list[str]:
    """The pairs of ``values`` (each question's possible values) no quick combination has."""
    missing = []
    for a, b in itertools.combinations(paired, 2):
        for pair in itertools.product(dict.fromkeys(values[a]), dict.fromkeys(values[b])):
            if not any((c[a], c[b]) == pair for c in quick):
                missing.append(f"{a}={pair[0]} with {b}={pair[1]}")
    return missing


def test_the_quick_subset_covers_every_pair_and_the_suite_every_combination() -> None:
    assert len(COMBINATIONS) == len(list(itertools.product(*CHOICES.values())))
    quick = [COMBINATIONS[i] for i in sorted(QUICK)]
    values = {**CHOICES, **ROTATING}
    assert _uncovered(quick, values, PAIRED) == []
    for key, options in ROTATING.items():
        assert {c[key] for c in quick} == set(options), key
    # Existing-repository mode: the pairs a combination the answers model accepts can have.
    existing = [EXISTING[i] for i in sorted(EXISTING_QUICK)]
    accepted = {
        (a, b): {(c[a], c[b]) for c in EXISTING}
        for a, b in itertools.combinations(EXISTING_PAIRED, 2)
    }
    for (a, b), pairs in accepted.items():
        assert {(c[a], c[b]) for c in existing} == pairs, (a, b)
    for key, options in EXISTING_ROTATING.items():
        assert {c[key] for c in existing} == set(options), key
    # The quick loop stays a small part of the matrix it stands for.
    assert len(quick) <= 12
    assert len(existing) <= 10
