"""The answers model of the built-in template: typed, validated once, with derived values.

The questions are ``templates/ml/copier.yml``'s (read from the module generated from
it, :mod:`mlrig._builtin_questions`); the :class:`Answers` fields and the README's
table are checked against them by tests/test_questions_source.py.
Raw answers come from ``-d KEY=VALUE`` strings, an answers file (YAML scalars) or a
prompt; :func:`resolve_answers` is the single boundary that turns them into an
:class:`Answers` or raises :class:`~mlrig.errors.InvalidInputError`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, cast

from mlrig import _answer_rules as rules
from mlrig import _builtin_questions as _builtin
from mlrig._bash import syntax_errors
from mlrig.errors import EnvironmentProblem, InvalidInputError

__all__ = [
    "ADVANCED",
    "COMMANDS",
    "QUESTIONS",
    "RECORDED",
    "Answers",
    "Question",
    "default_python",
    "load_answers_file",
    "load_shared_answers",
    "monitoring_needs",
    "resolve_answers",
]

CiProvider = Literal["github", "gitlab", "both"]
PackageManager = Literal["uv", "pip"]
Framework = Literal["sklearn", "pytorch", "none"]
GateMetric = Literal["accuracy", "f1"]
DataVersioning = Literal["none", "dvc"]

#: The stage commands, in pipeline order; install and the four stages that must run
#: a command of the repository's own in existing-repository mode come first.
COMMANDS = (
    "install_command",
    "lint_command",
    "test_command",
    "data_command",
    "train_command",
    "evaluate_command",
)


@dataclass(frozen=True, kw_only=True)
class Answers:
    """A complete, valid set of answers for the built-in template."""

    project_name: str
    description: str
    python_version: str
    ci_provider: CiProvider
    package_manager: PackageManager
    framework: Framework
    docker: bool
    gpu_runner: str
    monitoring_schedule: str
    gate_metric: GateMetric
    gate_threshold: float
    #: "dvc": the dataset is tracked by DVC and CI pulls it from a remote (new projects only).
    data_versioning: DataVersioning = "none"
    #: The repository's own commands for each pipeline stage, each valid shell (``bash
    #: -n``), multi-line allowed. "" runs the starter project's command (new projects
    #: only); "none" leaves the stage out (not install, for a new project).
    #: ``mlrig adopt`` sets them from what a repository already uses; ``mlrig new``
    #: never asks them.
    install_command: str = ""
    lint_command: str = ""
    test_command: str = ""
    data_command: str = ""
    train_command: str = ""
    evaluate_command: str = ""
    #: True for a repository mlrig did not create (adopt, add): the template renders
    #: only the pipelines and mlrig's own tools under ``.mlrig/``, never a project.
    existing_repo: bool = False
    #: The JSON file the train (or evaluate) command writes; "" = no metric gate.
    #: Existing-repository mode only: a new project gates with its own evaluate module.
    metrics_file: str = ""
    #: Whether the template-sync pipeline (GitLab job, GitHub workflow) is rendered.
    template_sync: bool = True
    #: Files of the template that stay the repository's own: never rendered, so
    #: ``mlrig update`` never touches them (set by adopt for the files it left alone).
    own_files: tuple[str, ...] = ()
    #: Jobs of mlrig's pipelines that are not rendered: the repository has its own
    #: job of that name, or did not take it (``mlrig add`` of another component).
    own_jobs: tuple[str, ...] = ()

    @property
    def package_name(self) -> str:
        """Import name of the generated package: the project name, lower case, '-' as '_'."""
        return rules.package_name(self.project_name)

    @property
    def image_name(self) -> str:
        """Docker image name: the project name in lower case."""
        return self.project_name.lower()

    def to_data(self) -> dict[str, object]:
        """The answers as copier data (derived values are left to the template)."""
        data = asdict(self)
        # Lists, as YAML and copier's answers file hold them.
        data["own_files"] = list(self.own_files)
        data["own_jobs"] = list(self.own_jobs)
        return data


@dataclass(frozen=True)
class Question:
    """One question of the template: its help text, default, choices and parser.

    An ``advanced`` question is never asked: it takes its default unless given.
    """

    name: str
    help: str
    default: str | bool | float
    parse: Callable[[object], str | bool | float]
    choices: tuple[str, ...] = ()
    advanced: bool = False


#: The Python versions offered, oldest first (copier.yml's choices).
_PYTHON_VERSIONS = next(
    data.choices for data in _builtin.QUESTIONS if data.name == "python_version"
)
#: The frameworks whose starter has a GPU path (device code and GPU tests): the only
#: ones that take a ``gpu_runner`` and get the GPU job.
_GPU_FRAMEWORKS = ("pytorch",)


def default_python(running: tuple[int, int] | None = None) -> str:
    """The default ``python_version``: the running interpreter's, capped to the offered range.

    That is the newest version every framework supports when ``running`` (default: this
    interpreter's major and minor) is newer, the running one when it is older, so that a
    new project's tests run on the Python its author has; never below the oldest offered.
    """
    major, minor = running or sys.version_info[:2]
    offered = [tuple(map(int, version.split("."))) for version in _PYTHON_VERSIONS]
    fitting = [version for version in offered if version <= (major, minor)] or offered[:1]
    return "{}.{}".format(*fitting[-1])


# The parsers of the free-form questions; a question with choices, or a yes/no one,
# gets its parser from its copier.yml type and choices.
_PARSERS: dict[str, Callable[[object], str | bool | float]] = {
    "project_name": rules.project_name,
    "description": rules.description,
    "gpu_runner": rules.runner_label,
    "monitoring_schedule": rules.schedule,
    "gate_threshold": rules.threshold,
    "metrics_file": rules.rel_path,
    **dict.fromkeys(COMMANDS, rules.command),
}
# Where mlrig's default differs from copier.yml's, which plain copier takes: copier
# cannot see the machine (python_version), and the project name's default is the
# destination's folder name, given to resolve_answers (this one is a placeholder).
_MLRIG_DEFAULTS: dict[str, str | bool | float] = {
    "project_name": "my-model",
    "python_version": default_python(),
}
#: Questions ``mlrig new`` never asks (they take their default unless given): the
#: stage commands and existing-repository mode, which ``mlrig adopt`` sets.
ADVANCED = frozenset({*COMMANDS, "existing_repo", "metrics_file", "template_sync"})
#: The template's list answers (copier type ``yaml``): what ``mlrig adopt`` left to
#: the repository. Never asked and not inferred; default: empty.
RECORDED: dict[str, Callable[[object], tuple[str, ...]]] = {
    "own_files": rules.name_list(rules.REL_PATH, "relative path inside the repository"),
    "own_jobs": rules.name_list(rules.JOB_NAME, "job name"),
}


def _question(data: _builtin.QuestionData) -> Question:
    parse = _PARSERS.get(data.name)
    if parse is None:
        parse = rules.yes_no if data.type == "bool" else rules.choice(*data.choices)
    default = _MLRIG_DEFAULTS.get(data.name, data.default)
    assert not isinstance(default, tuple), data.name  # only RECORDED answers are lists
    return Question(
        data.name, data.help, default, parse, data.choices, advanced=data.name in ADVANCED
    )


#: The questions in the order they are asked, as ``templates/ml/copier.yml`` states
#: them (through the generated :mod:`mlrig._builtin_questions`).
QUESTIONS: tuple[Question, ...] = tuple(
    _question(data) for data in _builtin.QUESTIONS if data.name not in RECORDED
)
_BY_NAME = {question.name: question for question in QUESTIONS}
# The answers that name one project: the project name and the values derived from it.
_PROJECT_BOUND = frozenset({"project_name", "package_name", "image_name"})

Ask = Callable[[Question, object], object]


def resolve_answers(
    given: Mapping[str, object],
    *,
    project_default: str,
    use_defaults: bool,
    ask: Ask | None = None,
) -> Answers:
    """Validate ``given`` answers and complete the missing ones.

    A missing answer takes its default when ``use_defaults`` is true, is asked
    through ``ask(question, default)`` when a callback is given, and is an error
    otherwise; a question that does not apply to the answers before it (``gpu_runner``
    for a framework with no GPU path) is never asked and takes its default.
    ``project_default`` is the default project name (the destination's folder name).
    Raises :class:`InvalidInputError` naming every unknown key, invalid value or missing
    answer.
    """
    unknown = sorted(set(given) - set(_BY_NAME) - set(RECORDED))
    if unknown:
        raise InvalidInputError(
            f"unknown question {', '.join(map(repr, unknown))}; "
            f"the questions are: {', '.join(_BY_NAME)}"
        )
    values: dict[str, object] = {}
    problems: list[str] = []
    missing: list[str] = []
    for question in QUESTIONS:
        default = project_default if question.name == "project_name" else question.default
        if question.name in given:
            raw = given[question.name]
        elif use_defaults or question.advanced or not _applies(question.name, values):
            raw = default
        elif ask is not None:
            raw = ask(question, default)
        else:
            missing.append(question.name)
            continue
        try:
            values[question.name] = question.parse(raw)
        except ValueError as exc:
            problems.append(f"{question.name}: {exc}")
    for name, parse in RECORDED.items():
        try:
            values[name] = parse(given.get(name, ()))
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
    problems += _stage_problems(values) + _gpu_problems(values)
    if not problems:
        problems += _shell_problems({name: str(values[name]) for name in COMMANDS})
    if problems:
        raise InvalidInputError(f"invalid answer: {'; '.join(problems)}")
    if missing:
        raise InvalidInputError(
            f"no answer for {', '.join(missing)} and no terminal to ask in; "
            "pass --defaults to take the defaults, or give them with -d KEY=VALUE"
        )
    # Each value is parsed to its field's type above.
    return Answers(**cast(dict[str, Any], values))


def _stage_problems(values: Mapping[str, object]) -> list[str]:
    """What is wrong with the stage commands taken together, for the template's mode."""
    problems = []
    existing = values.get("existing_repo") is True
    stages = ("lint_command", "test_command", "data_command", "train_command")
    if all(values.get(stage) == "none" for stage in stages):
        problems.append(
            f"{', '.join(stages)}: no lint, test, data or train command of the repository's "
            "own was found; give at least one, e.g. -d test_command='pytest -q'"
            if existing
            else f"{', '.join(stages)}: at least one stage must run (not all 'none')"
        )
    if existing and values.get("data_versioning") == "dvc":
        problems.append(
            "data_versioning: 'dvc' is for new projects; in an existing repository, give a "
            "data_command that pulls the data (e.g. 'dvc pull && python scripts/check_data.py')"
        )
    if existing:
        starter = [name for name in COMMANDS[:-1] if values.get(name) == ""]
        if starter:
            problems.append(
                f"{', '.join(starter)}: '' runs the starter project's command, which a "
                "repository mlrig did not create lacks; give its own command or 'none'"
            )
        missing = monitoring_needs(values)
        if values.get("monitoring_schedule", "none") != "none" and missing:
            problems.append(
                "monitoring_schedule: monitoring a repository mlrig did not create runs its "
                "evaluate command and gates the metrics file it writes; set "
                f"{' and '.join(missing)} too, or 'none'"
            )
    elif values.get("install_command") == "none":
        problems.append(
            "install_command: dependencies must be installed: give a command, or '' for the "
            "starter's"
        )
    return problems


def _applies(name: str, values: Mapping[str, object]) -> bool:
    """Whether question ``name`` means anything given the answers so far (else not asked)."""
    return name != "gpu_runner" or values.get("framework") in _GPU_FRAMEWORKS


def _gpu_problems(values: Mapping[str, object]) -> list[str]:
    """Why a ``gpu_runner`` other than 'none' cannot be taken, if it cannot."""
    if values.get("gpu_runner", "none") == "none":
        return []
    fix = "set gpu_runner to 'none' (-d gpu_runner=none)"
    if values.get("framework") not in _GPU_FRAMEWORKS:
        return [
            f"gpu_runner: the GPU job trains the PyTorch starter on the GPU; framework "
            f"{values.get('framework')} has no GPU path, so there is no GPU job for it: "
            f"{fix}, or choose framework=pytorch"
        ]
    if values.get("existing_repo") is True:
        return [
            "gpu_runner: the GPU job runs the starter project's GPU tests and training, "
            f"which a repository mlrig did not create lacks: {fix} and keep your own GPU job"
        ]
    return []


def monitoring_needs(values: Mapping[str, object]) -> list[str]:
    """The answers an existing repository's monitoring job lacks (evaluate command, metrics)."""
    missing = []
    if values.get("evaluate_command", "") in ("", "none"):
        missing.append("evaluate_command")
    if not values.get("metrics_file"):
        missing.append("metrics_file")
    return missing


def _shell_problems(commands: Mapping[str, str]) -> list[str]:
    """``bash -n`` of every command that is not '' or 'none', in one bash call.

    Raises :class:`EnvironmentProblem` when a command must be checked and bash is missing.
    """
    given = {name: text for name, text in commands.items() if text not in ("", "none")}
    if not given:
        return []
    errors = syntax_errors(given.values())
    if errors is None:
        raise EnvironmentProblem(
            "bash is not installed (or could not run); mlrig checks the stage commands with "
            "`bash -n` before writing them: install bash, then retry"
        )
    return [
        f"{name}: not valid shell (bash -n: {errors[text] or 'syntax error'})"
        for name, text in given.items()
        if errors[text] is not None
    ]


def load_shared_answers(path: Path, *, project_name: str) -> dict[str, object]:
    """The answers in ``path`` as they carry over to the project ``project_name``.

    As :func:`load_answers_file` (for ``--answers-file``, e.g. another project's
    answers file), except for the answers that name the project the file came from:
    its ``project_name`` becomes ``project_name`` (the new project's folder name),
    and the values derived from it (``package_name``, ``image_name``) are dropped.
    """
    answers = load_answers_file(path)
    shared = {key: value for key, value in answers.items() if key not in _PROJECT_BOUND}
    if "project_name" in answers:
        shared["project_name"] = project_name
    return shared


def load_answers_file(path: Path) -> dict[str, object]:
    """Read answers from a YAML mapping, such as another project's ``.copier-answers.yml``.

    Keys starting with ``_`` (copier's own bookkeeping) are ignored. Raises
    :class:`InvalidInputError` when the file is missing, unreadable, not a regular
    file, too large or too deeply nested (see :mod:`mlrig._files`), not YAML, holds
    duplicate keys or is not a mapping.
    """
    from mlrig._files import read_text
    from mlrig._yaml import load as load_yaml

    what = f"answers file {path}"
    data = load_yaml(read_text(path, what=what), what=what)
    if not isinstance(data, dict):
        raise InvalidInputError(
            f"answers file {path} must be a YAML mapping of question: answer, "
            f"not {type(data).__name__}"
        )
    return {str(key): value for key, value in data.items() if not str(key).startswith("_")}
