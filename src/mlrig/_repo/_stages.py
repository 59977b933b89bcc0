"""Stage commands: a job's script split by stage, task choice, what a command needs to run
in a fresh CI checkout, and the text for a stage left out."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from mlrig._repo._classify import _Classifier, _name_stage
from mlrig._repo._listing import _Reader
from mlrig._repo._records import CiJob, Command, Task
from mlrig._repo._shell import _logical_lines, _program, _segments, _words, bash_valid

_EXCLUDED = frozenset({"deploy", "cleanup"})
# Files pytest collects by default, in a tests folder.
_TEST_FILE = re.compile(r"(?:.*/)?tests?/(?:.*/)?(?:test_[^/]*|[^/]*_test)\.py")
# Task runners, in the order their tasks are offered when CI has no command for a stage.
_RUNNER_ORDER = ("make", "just", "mise", "pixi", "hatch", "poe", "pdm", "tox", "nox", "invoke")
# Runners not on a CI image: their task's recipe is run instead of the runner.
_RECIPE_RUNNERS = frozenset({"mise", "pixi", "just"})
_STAGE_NAMES = {
    "install": ("install", "setup", "deps", "requirements", "dev", "bootstrap"),
    "lint": ("lint", "check", "style", "static", "typecheck", "format-check"),
    "test": ("test", "tests", "pytest", "unit", "unit-tests", "coverage"),
    "data": ("data", "check-data", "validate-data", "data-check", "validate"),
    "train": ("train", "training", "fit"),
    "evaluate": ("evaluate", "eval", "evaluation", "metrics"),
}
_OUT_FLAGS = frozenset(
    {
        "-o",
        "--out",
        "--output",
        "--output-dir",
        "--out-dir",
        "--outdir",
        "--save",
        "--model-out",
        "--junitxml",
        "--summary",
        "--cov-report",
    }
)
_DATA_PATH = re.compile(
    r"[\w./-]+\.(?:csv|tsv|parquet|jsonl?|feather|arrow|npy|npz|pkl|pickle|joblib|h5|txt|yaml|yml|xlsx)"
)


_IMAGE_PUBLISH = re.compile(r"^\S*(?:docker|podman)\s+(?:push|login|logout|tag|manifest)\b")


@dataclass
class _Piece:
    stage: str
    text: str
    source: str
    job: CiJob | None


def _split_command(
    command: Command, classifier: _Classifier
) -> tuple[list[tuple[str, str, int]], bool]:
    """(stage, text, line offset) pieces of one script, and whether it ran a deploy line.

    A script whose lines all belong to one stage is kept whole (as in the source);
    otherwise each stage gets its own lines, with the lines of no stage (``cd``,
    ``export``, ``source``) that come before them.
    """
    lines = _logical_lines(command.text)
    staged: list[tuple[int, str, list[tuple[str | None, str, str]]]] = []
    excluded = False
    for offset, line in lines:
        segments = [
            (classifier.classify(segment), segment, sep) for segment, sep in _segments(line)
        ]
        staged.append((offset, line, segments))
        excluded |= any(stage in _EXCLUDED for stage, _, _ in segments)
    stages = {stage for _, _, segments in staged for stage, _, _ in segments if stage}
    if len(stages) == 1 and not excluded:
        (stage,) = stages
        first = next(o for o, _, segs in staged if any(s for s, _, _ in segs))
        return [(stage, command.text, first)], False
    pieces: dict[str, tuple[int, list[str]]] = {}
    context: list[str] = []
    for offset, line, segments in staged:
        kinds = {stage for stage, _, _ in segments if stage}
        if not kinds:
            context.append(line)
            continue
        if len(kinds) == 1 and not kinds & _EXCLUDED:
            (stage,) = kinds
            pieces.setdefault(stage, (offset, list(context)))[1].append(line)
            continue
        prefix: list[str] = []
        for kind, segment, separator in segments:
            if kind is None:
                if separator in ("&&", ";", ""):
                    prefix.append(segment)
                continue
            if kind in _EXCLUDED:
                continue
            text = " && ".join([*prefix, segment])
            pieces.setdefault(kind, (offset, list(context)))[1].append(text)
    return [(stage, "\n".join(body), offset) for stage, (offset, body) in pieces.items()], excluded


def _offset_source(source: str, offset: int) -> str:
    path, _, line = source.rpartition(":")
    return f"{path}:{int(line) + offset}" if path and line.isdigit() else source


def _job_pieces(job: CiJob, classifier: _Classifier) -> tuple[list[_Piece], set[str], bool]:
    """The stage pieces of a job (merged per stage, in order), what it covers, deploy or not."""
    merged: dict[str, _Piece] = {}
    covers: set[str] = set()
    deploy = job.deploy
    for command in job.commands:
        pieces, excluded = _split_command(command, classifier)
        if excluded:
            kinds = [
                (classifier.classify(segment), segment)
                for _, line in _logical_lines(command.text)
                for segment, _ in _segments(line)
            ]
            if any(kind == "deploy" for kind, _ in kinds):
                covers.add("deploy")
            # Pushing the image it built does not make an image job a deploy job.
            if any(kind == "deploy" and not _IMAGE_PUBLISH.search(seg) for kind, seg in kinds):
                deploy = True
        for _, line in _logical_lines(command.text):
            for segment, _ in _segments(line):
                covers |= classifier.all_stages(segment) - _EXCLUDED
        for stage, text, offset in pieces:
            covers.add(stage)
            source = _offset_source(command.source, offset)
            if stage in merged:
                merged[stage].text += "\n" + text
            else:
                merged[stage] = _Piece(stage, text, source, job)
    for action in job.uses:
        if action in {"docker/build-push-action", "redhat-actions/buildah-build"}:
            covers.add("image")
    if deploy:
        covers = {"deploy"}
    return list(merged.values()), covers, deploy


def _choose_task(tasks: Sequence[Task], stage: str, classifier: _Classifier) -> Task | None:
    fitting = [
        t for t in tasks if t.runner in _RUNNER_ORDER and classifier.recipe_stage(t, 0) == stage
    ]
    if not fitting:
        return None
    fitting.sort(
        key=lambda t: (
            t.name.split(":")[-1] not in _STAGE_NAMES.get(stage, ()),
            _RUNNER_ORDER.index(t.runner),
        )
    )
    return fitting[0]


def _task_command(task: Task) -> str:
    recipe = "\n".join(task.lines)
    # A task that depends only on installing runs as its recipe: the pipeline's install
    # stage has done that part, and the task runner itself need not be on the runner.
    installs_only = all(_name_stage(dep) == "install" for dep in task.depends)
    if task.runner in _RECIPE_RUNNERS and recipe and "{{" not in recipe and installs_only:
        return recipe
    return task.call


# `pipx install TOOL` puts a tool on PATH; a CI image without pipx does the same with pip.


def _check_runnable(
    command: Command,
    classifier: _Classifier,
    packages: Sequence[str],
    repo: _Reader,
    outputs: Sequence[str],
    ignored: Mapping[str, bool],
) -> Command:
    """``command`` with ``runnable``/``why`` set from what it calls and reads."""
    problems: list[str] = []
    for _, line in _logical_lines(command.text):
        for segment, _ in _segments(line):
            words = _words(segment)
            program, args = _program(words)
            call = classifier.task_call(program, args)
            if call:
                runner, names = call
                known = {n for r, n in classifier.tasks if r == runner}
                if runner in {"tox", "nox"} and not known:
                    problems.append(f"{runner} has no configuration in the repository")
                for name in names:
                    if known and name not in known:
                        problems.append(f"{runner} has no task {name!r}")
                    elif not known and runner not in {"tox", "nox"}:
                        problems.append(f"there is no {runner} configuration with task {name!r}")
            if program.startswith("-m "):
                module = program[3:]
                top = module.split(".")[0]
                if top in packages and not _module_exists(module, repo.files):
                    problems.append(f"module {module} is not in the repository")
            if (
                program.startswith("py ")
                and program[3:] not in repo.files
                and not program[3:].startswith(("$", "/"))
            ):
                problems.append(f"{program[3:]} is not in the repository")
            for index, word in enumerate(args):
                previous = args[index - 1] if index else ""
                value = word.split("=", 1)[1] if word.startswith("--") and "=" in word else word
                if (
                    previous in _OUT_FLAGS
                    or word.split("=", 1)[0] in _OUT_FLAGS
                    or value.startswith(("-", "$", "/", "~"))
                ):
                    continue
                if not _DATA_PATH.fullmatch(value) or ("/" not in value and "." not in value):
                    continue
                path = os.path.normpath(value)
                if path in repo.files or any(
                    path == o or path.startswith(o.rstrip("/") + "/") for o in outputs
                ):
                    continue
                if ignored.get(path):
                    problems.append(
                        f"it reads {path}, which git ignores (a CI checkout does not have it)"
                    )
                elif "/" in path and any(
                    f.startswith(path.rsplit("/", 1)[0] + "/") for f in repo.files
                ):
                    problems.append(f"it reads {path}, which is not in the repository")
    if not problems:
        return command
    why = "; ".join(dict.fromkeys(problems))
    return Command(command.text, command.source, False, why)


def _module_exists(module: str, files: frozenset[str]) -> bool:
    path = module.replace(".", "/")
    return any(
        f"{prefix}{path}{suffix}" in files
        for prefix in ("", "src/")
        for suffix in (".py", "/__init__.py", "/__main__.py")
    )


def _input_paths(texts: Iterable[str]) -> list[str]:
    found: list[str] = []
    for text in texts:
        for word in re.findall(r"[\w./-]+", text):
            if _DATA_PATH.fullmatch(word) and not word.startswith(("-", "/")):
                found.append(os.path.normpath(word))
    return found


# An example command per stage: what a user would write to turn a stage on.
_EXAMPLES = {
    "install": "pip install -r requirements.txt",
    "lint": "ruff check .",
    "test": "pytest -q",
    "data": "python scripts/check_data.py",
    "train": "python train.py --smoke",
    "evaluate": "python evaluate.py",
}
_INSTALL_EXAMPLES = {"uv": "uv sync", "poetry": "poetry install", "pdm": "pdm install"}


def _valid_first(candidates: Mapping[str, list[Command]]) -> dict[str, list[Command]]:
    """The candidates of each stage without GitHub expressions (they run only inside
    GitHub), and with every one that fails ``bash -n`` dropped up to the first valid one.
    Only leading candidates are checked (one bash process per round)."""
    usable = {s: [c for c in cs if "${{" not in c.text] for s, cs in candidates.items()}
    checked: dict[str, bool] = {}
    for _ in range(8):
        heads = [cs[0].text for cs in usable.values() if cs and cs[0].text not in checked]
        if not heads:
            break
        checked.update(bash_valid(heads))
        usable = {s: [c for c in cs if checked.get(c.text, True)] for s, cs in usable.items()}
    return usable


def left_out(stage: str, manager: str = "") -> tuple[str, str]:
    """Why a command stage (install ... evaluate) is left out when the repository has no
    command for it, and the ``-d KEY=VALUE`` that turns it on, with an example value (for
    install, the package ``manager``'s own). The one home of this text: the model's
    ``missing``, the inference and adopt's output all use it."""
    example = _INSTALL_EXAMPLES.get(manager, "") if stage == "install" else ""
    return (
        f"no {stage} command found",
        f"-d {stage}_command={shlex.quote(example or _EXAMPLES[stage])}",
    )


def _missing(stage: str, manager: str) -> str:
    reason, flag = left_out(stage, manager)
    return f"{reason}; {flag} turns it on"


def _metrics_file(commands: Sequence[Command], dvc_metrics: Sequence[str]) -> Command | None:
    for command in commands:
        for match in re.finditer(
            r"(?:^|\s)(?:--metrics(?:[-_]\w+)?[=\s]+)?([\w./-]*metrics[\w./-]*\.json)", command.text
        ):
            return Command(match.group(1), command.source)
    if dvc_metrics:
        return Command(dvc_metrics[0], "dvc.yaml")
    return None
