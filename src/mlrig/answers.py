"""The answers model of the built-in template: typed, validated once, with derived values.

The questions here mirror ``templates/ml/copier.yml`` (a test keeps them in step).
Raw answers come from ``-d KEY=VALUE`` strings, an answers file (YAML scalars) or a
prompt; :func:`resolve_answers` is the single boundary that turns them into an
:class:`Answers` or raises :class:`~mlrig.errors.InvalidInputError`.
"""

from __future__ import annotations

import keyword
import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, cast

from mlrig.errors import EnvironmentProblem, InvalidInputError

__all__ = [
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

_PROJECT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_RUNNER_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (lowest, highest, names) of each cron field; GitHub and GitLab accept these.
_CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 6, _WEEKDAYS),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
#: The longest word of a description (the answers file can fold it only at spaces).
_DESCRIPTION_WORD = 64
# A relative path inside the repository: no '..', no leading '-' or '/', plain characters.
_REL_PATH = re.compile(r"(?!-)(?!.*(?:^|/)\.\.(?:/|$))[A-Za-z0-9_.][A-Za-z0-9_./-]{0,254}")
_JOB_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
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
_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}


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
        return _package_name(self.project_name)

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


def _package_name(project_name: str) -> str:
    return project_name.lower().replace("-", "_")


def _text(raw: object) -> str:
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise ValueError("must be text")
    text = str(raw)
    # A lone surrogate (undecodable bytes, or a YAML "\udcff" escape) cannot be
    # written to any file, so no answer may hold one.
    if _SURROGATE.search(text):
        raise ValueError("is not valid UTF-8 text (it holds a lone surrogate); give it in UTF-8")
    return text


def _description(raw: object) -> str:
    """Free text, kept as given, whose words are at most 64 characters.

    The answers file folds a long description at its spaces only; with short words
    every line of it stays within the line length yamllint allows.
    """
    text = _text(raw)
    if _CONTROL.search(text):
        raise ValueError("must not hold control characters other than tab and newline")
    longest = max(text.split(), key=len, default="")
    if len(longest) > _DESCRIPTION_WORD:
        raise ValueError(
            f"the word {longest[:20] + '...'!r} is {len(longest)} characters long; use words "
            f"of at most {_DESCRIPTION_WORD} characters (split it with spaces)"
        )
    return text


def _project_name(raw: object) -> str:
    name = _text(raw)
    if not _PROJECT_NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a valid project name: start with a letter, then use only "
            "letters, digits, '-' or '_', at most 64 characters"
        )
    package = _package_name(name)
    if keyword.iskeyword(package) or package in sys.stdlib_module_names:
        raise ValueError(
            f"{name!r} would make a package named {package!r}, which is a Python keyword or "
            "standard-library module; choose another name"
        )
    return name


def _choice(*choices: str) -> Callable[[object], str]:
    def parse(raw: object) -> str:
        value = _text(raw)
        if value not in choices:
            raise ValueError(f"{value!r} is not one of: {', '.join(choices)}")
        return value

    return parse


def _bool(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    value = _text(raw).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{raw!r} is not yes or no")


def _threshold(raw: object) -> float:
    if isinstance(raw, bool):
        raise ValueError("must be a number between 0 and 1")
    try:
        value = float(_text(raw))
    except ValueError:
        raise ValueError(f"{raw!r} is not a number between 0 and 1") from None
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise ValueError(f"{raw!r} is not a number between 0 and 1")
    return value


def _command(raw: object) -> str:
    """A shell command, one line or several (checked with ``bash -n`` in resolve_answers)."""
    lines = [line.rstrip() for line in _text(raw).replace("\r\n", "\n").split("\n")]
    text = "\n".join(lines).strip("\n").strip()
    if _CONTROL.search(text) or "\r" in text:
        raise ValueError("must not hold control characters other than tab and newline")
    # A GitHub expression in `run:` is expanded before the shell sees it (injection).
    if "${{" in text or "{{" in text or "{%" in text:
        raise ValueError("must not hold '${{', '{{' or '{%'")
    return text


def _path(raw: object) -> str:
    text = _text(raw).strip()
    if text and not _REL_PATH.fullmatch(text):
        raise ValueError(
            f"{text!r} is not a relative path inside the repository (letters, digits, "
            "'_', '.', '-' and '/'; no '..')"
        )
    return text


def _names(pattern: re.Pattern[str], what: str) -> Callable[[object], tuple[str, ...]]:
    def parse(raw: object) -> tuple[str, ...]:
        if raw is None:
            return ()
        items = raw if isinstance(raw, (list, tuple)) else _text(raw).split(",")
        names = tuple(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))
        bad = [name for name in names if not pattern.fullmatch(name)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a {what}")
        return names

    return parse


def _runner_label(raw: object) -> str:
    label = _text(raw).strip()
    if label != "none" and not _RUNNER_LABEL.fullmatch(label):
        raise ValueError(
            f"{label!r} is not a runner label: use 'none' or letters, digits, '.', '-' and '_'"
        )
    return label


def _cron_digits(token: str) -> int | None:
    """``token`` as a number when it is one or two ASCII digits (no cron field needs more)."""
    # isdigit() alone takes Arabic-Indic or fullwidth digits, which cron does not.
    return int(token) if token.isascii() and token.isdigit() and len(token) <= 2 else None


def _cron_number(token: str, field: str, low: int, high: int, names: tuple[str, ...]) -> int:
    """One value of a cron field: ASCII digits in ``low..high``, or one of ``names``."""
    if token.upper() in names:
        return low + names.index(token.upper())
    number = _cron_digits(token)
    if number is not None and low <= number <= high:
        return number
    spelled = f" or {names[0]}-{names[-1]}" if names else ""
    raise ValueError(f"the {field} {token!r} is not a number from {low} to {high}{spelled}")


def _cron_item(item: str, field: str, low: int, high: int, names: tuple[str, ...]) -> None:
    """Check one comma-separated item of a cron field: ``*``, ``N`` or ``N-M``, then ``/STEP``."""
    base, slash, step = item.partition("/")
    if base != "*":
        start, dash, end = base.partition("-")
        first = _cron_number(start, field, low, high, names)
        if dash and first > _cron_number(end, field, low, high, names):
            raise ValueError(f"the {field} range {base!r} runs backwards; write it low-high")
    number = _cron_digits(step)
    if slash and not (number is not None and 1 <= number <= high):
        raise ValueError(f"the {field} step {step!r} is not a number from 1 to {high}")


def _schedule(raw: object) -> str:
    text = " ".join(_text(raw).split())
    if text == "none":
        return text
    fields = text.split(" ")
    if len(fields) != len(_CRON_FIELDS):
        raise ValueError(
            f"{text!r} is not a cron schedule: use 'none' or 5 cron fields (minute hour "
            "day-of-month month day-of-week), e.g. '0 6 * * 1'"
        )
    for token, (field, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for item in token.split(","):
            try:
                _cron_item(item, field, low, high, names)
            except ValueError as exc:
                raise ValueError(f"{text!r}: {exc}") from None
    return text


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


#: The Python versions offered, oldest first. The newest is the newest that
#: scikit-learn, PyTorch and NumPy all publish wheels for (December 2026: torch has
#: none for 3.15 on PyPI yet, so 3.15 is not offered).
_PYTHON_VERSIONS = ("3.10", "3.11", "3.12", "3.13", "3.14")
_CI_PROVIDERS = ("github", "gitlab", "both")
_PACKAGE_MANAGERS = ("uv", "pip")
_FRAMEWORKS = ("sklearn", "pytorch", "none")
_GATE_METRICS = ("accuracy", "f1")
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


#: The questions in the order they are asked. ``project_name`` defaults to the
#: destination folder's name, so its default here is only a placeholder.
QUESTIONS: tuple[Question, ...] = (
    Question("project_name", "Project name", "my-model", _project_name),
    Question(
        "description", "One-line description", "A small machine-learning project", _description
    ),
    Question(
        "python_version",
        "Python version",
        default_python(),
        _choice(*_PYTHON_VERSIONS),
        _PYTHON_VERSIONS,
    ),
    Question("ci_provider", "CI provider", "github", _choice(*_CI_PROVIDERS), _CI_PROVIDERS),
    Question(
        "package_manager", "Package manager", "uv", _choice(*_PACKAGE_MANAGERS), _PACKAGE_MANAGERS
    ),
    Question("framework", "ML framework", "sklearn", _choice(*_FRAMEWORKS), _FRAMEWORKS),
    Question("docker", "Build a Docker image", True, _bool),
    Question("gpu_runner", "Self-hosted GPU runner label, or 'none'", "none", _runner_label),
    Question(
        "monitoring_schedule", "Monitoring cron schedule (UTC), or 'none'", "0 6 * * 1", _schedule
    ),
    Question("gate_metric", "Gate metric", "accuracy", _choice(*_GATE_METRICS), _GATE_METRICS),
    Question("gate_threshold", "Gate threshold (0-1)", 0.8, _threshold),
    Question(
        "install_command",
        "Command that installs the dependencies ('' = the starter's, 'none' = no install "
        "step: existing repositories only)",
        "",
        _command,
        advanced=True,
    ),
    *(
        Question(
            f"{stage}_command",
            f"Command of the {stage} stage ('' = the starter's, 'none' = no {stage} stage)",
            "",
            _command,
            advanced=True,
        )
        for stage in ("lint", "test", "data", "train", "evaluate")
    ),
    Question(
        "existing_repo",
        "A repository mlrig did not create: render only the pipelines and .mlrig/",
        False,
        _bool,
        advanced=True,
    ),
    Question(
        "metrics_file",
        "JSON metrics file the train command writes, gated by .mlrig/gate.py ('' = no gate)",
        "",
        _path,
        advanced=True,
    ),
    Question("template_sync", "Render the template-sync pipeline", True, _bool, advanced=True),
)
#: The template's list answers, after the questions: what ``mlrig adopt`` left to
#: the repository. Never asked and not inferred; default: empty.
RECORDED: dict[str, Callable[[object], tuple[str, ...]]] = {
    "own_files": _names(_REL_PATH, "relative path inside the repository"),
    "own_jobs": _names(_JOB_NAME, "job name"),
}
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
    return Answers(
        existing_repo=cast(bool, values["existing_repo"]),
        metrics_file=cast(str, values["metrics_file"]),
        template_sync=cast(bool, values["template_sync"]),
        own_files=cast(tuple[str, ...], values["own_files"]),
        own_jobs=cast(tuple[str, ...], values["own_jobs"]),
        project_name=cast(str, values["project_name"]),
        description=cast(str, values["description"]),
        python_version=cast(str, values["python_version"]),
        ci_provider=cast(CiProvider, values["ci_provider"]),
        package_manager=cast(PackageManager, values["package_manager"]),
        framework=cast(Framework, values["framework"]),
        docker=cast(bool, values["docker"]),
        gpu_runner=cast(str, values["gpu_runner"]),
        monitoring_schedule=cast(str, values["monitoring_schedule"]),
        gate_metric=cast(GateMetric, values["gate_metric"]),
        gate_threshold=cast(float, values["gate_threshold"]),
        **{name: cast(str, values[name]) for name in COMMANDS},
    )


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
    bash = shutil.which("bash")
    if bash is None:
        raise EnvironmentProblem(
            "bash is not installed; mlrig checks the stage commands with `bash -n` before "
            "writing them: install bash, then retry"
        )
    # One bash reads the commands as arguments and parses each without running it.
    driver = 'for c in "$@"; do bash -n -c "$c" 2>&1 | head -n 1 | tr -d "\\n"; echo; done'
    proc = subprocess.run(
        [bash, "-c", driver, "bash", *given.values()],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C"},
    )
    verdicts = proc.stdout.split("\n")
    problems = []
    for index, name in enumerate(given):
        error = verdicts[index].strip() if index < len(verdicts) else "bash could not check it"
        if error:
            detail = re.sub(r"^bash: -c: ", "", error)
            problems.append(f"{name}: not valid shell (bash -n: {detail})")
    return problems


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
    from mlrig._files import load_yaml, read_text

    what = f"answers file {path}"
    data = load_yaml(read_text(path, what=what), what=what)
    if not isinstance(data, dict):
        raise InvalidInputError(
            f"answers file {path} must be a YAML mapping of question: answer, "
            f"not {type(data).__name__}"
        )
    return {str(key): value for key, value in data.items() if not str(key).startswith("_")}
