"""What a shell segment runs, by stage (``pytest`` tests, ``ruff`` lints, ``dvc repro``
trains ...), following task-runner calls into their recipes; never by job names."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from mlrig._repo._listing import _Reader
from mlrig._repo._records import Task
from mlrig._repo._shell import _logical_lines, _program, _segments, _words

_LINT = frozenset(
    {"ruff", "flake8", "pylint", "mypy", "pyright", "basedpyright", "black", "isort", "pre-commit"}
    | {"prek", "codespell", "pydocstyle", "pycodestyle", "pyflakes", "bandit", "yamllint"}
    | {"interrogate", "vulture", "darglint", "pyupgrade", "autoflake", "ty", "blackdoc"}
)
_TEST = frozenset({"pytest", "py.test", "unittest", "tox", "nox", "ward", "behave", "hypothesis"})
_INSTALL_VERBS = {
    "pip": {"install"},
    "pip3": {"install"},
    "uv": {"sync", "pip"},
    "poetry": {"install", "lock"},
    "pdm": {"install", "sync"},
    "pipenv": {"install", "sync"},
    "conda": {"install", "env", "create"},
    "mamba": {"install", "env", "create"},
    "micromamba": {"install", "env", "create"},
    "pixi": {"install"},
    "pipx": {"install"},
    "pip-sync": set(),
    "hatch": {"env"},
}
_DEPLOY_PROGRAMS = frozenset(
    {"ssh", "scp", "sftp", "ssh-add", "ssh-agent", "ssh-keyscan", "kubectl", "helm", "terraform"}
    | {"ansible", "ansible-playbook", "twine", "heroku", "flyctl", "fly", "vercel", "netlify"}
    | {"firebase", "gsutil", "gcloud", "az", "aws", "skopeo", "crane", "rsync", "sshpass"}
    | {"ghp-import", "mike", "cf", "serverless", "sls", "eb", "kamal", "docker-compose-deploy"}
)
_DEPLOY_VERBS = {
    "docker": {"push", "login", "logout", "tag", "manifest"},
    "podman": {"push", "login"},
    "git": {"push", "tag", "commit", "remote"},
    "gh": {"release", "pr", "workflow", "api"},
    "glab": {"release", "mr"},
    "poetry": {"publish"},
    "uv": {"publish"},
    "hatch": {"publish"},
    "flit": {"publish"},
    "pdm": {"publish"},
    "npm": {"publish"},
    "dvc": {"push"},
    "mlflow": {"deployments", "models"},
}
_DEPLOY_NAME = re.compile(
    r"(?:^|[-_.])(?:deploy|release|publish|upload|rollout|promote)(?:$|[-_.])"
)
_TRAIN_NAME = re.compile(
    r"^(?:train(?:ing)?|fit|finetune|fine[-_]tune)(?:[-_].*)?$|[-_]train(?:ing)?$"
)
_EVAL_NAME = re.compile(
    r"^(?:evaluate|evaluation|eval|metrics|gate|score|scoring|benchmark)(?:[-_].*)?$"
    r"|[-_](?:evaluate|evaluation|eval|gate|metrics)$"
)
_DATA_NAME = re.compile(
    r"^(?:data|validate|validation|expectations|schema)$|validat|data[-_]?(?:check|quality|test)"
    r"|check[-_]?data"
)
_MONITOR_NAME = re.compile(r"^(?:monitor(?:ing)?|drift)(?:[-_].*)?$|[-_](?:monitor|drift)$")
_PY_STEM = re.compile(r"[\w.-]+")
#: The stage a command that runs several counts as, the most telling first.
_RANK = ("deploy", "test", "lint", "train", "evaluate", "data", "image", "monitor", "install")


def _stem(target: str) -> str:
    """``pkg.sub.train`` -> ``train``; ``scripts/train_model.py`` -> ``train_model``."""
    if target.endswith(".py") or "/" in target:
        return target.rsplit("/", 1)[-1].removesuffix(".py").lower()
    return target.rsplit(".", 1)[-1].lower()


def _by_name(stem: str) -> str | None:
    """The stage a script or task name says it is; deploy names first."""
    stem = stem.lower()
    if _DEPLOY_NAME.search(stem):
        return "deploy"
    for stage, pattern in (
        ("monitor", _MONITOR_NAME),
        ("evaluate", _EVAL_NAME),
        ("train", _TRAIN_NAME),
        ("data", _DATA_NAME),
    ):
        if pattern.search(stem):
            return stage
    return None


def _name_stage(name: str) -> str | None:
    """The stage a task's name says it is, for a task whose recipe says nothing."""
    name = name.lower().rsplit(":", 1)[-1]
    if name in {"test", "tests", "unit", "pytest", "check-tests", "unit-tests"}:
        return "test"
    if name in {"lint", "style", "format-check", "typecheck", "check-format"}:
        return "lint"
    if name in {"install", "setup", "deps", "requirements", "bootstrap"}:
        return "install"
    return _by_name(name)


class _Classifier:
    """Classifies shell segments by what they run, following task-runner calls."""

    def __init__(self, tasks: Sequence[Task], scripts: Mapping[str, str], reader: _Reader) -> None:
        self.tasks = {(t.runner, t.name): t for t in tasks}
        self.scripts = scripts
        self.reader = reader
        self._seen: dict[tuple[str, int], str | None] = {}

    def task_call(self, program: str, args: list[str]) -> tuple[str, list[str]] | None:
        """(runner, task names) when the segment calls a task runner."""
        runner = {
            "make": "make",
            "gmake": "make",
            "just": "just",
            "mise": "mise",
            "poe": "poe",
            "invoke": "invoke",
            "inv": "invoke",
            "tox": "tox",
            "nox": "nox",
            "pdm run": "pdm",
            "hatch run": "hatch",
            "pixi run": "pixi",
            "-m tox": "tox",
            "-m nox": "nox",
            "-m poethepoet": "poe",
        }.get(program)
        if runner is None:
            return None
        names: list[str] = []
        rest = list(args)
        if runner == "mise":
            if rest[:1] not in (["run"], ["r"]) and not (
                rest and rest[0] in {t[1] for t in self.tasks if t[0] == "mise"}
            ):
                return None
            rest = rest[1:] if rest[:1] in (["run"], ["r"]) else rest
        if runner in {"tox", "nox"}:
            flag = "-e" if runner == "tox" else "-s"
            for i, word in enumerate(rest):
                if word in (flag, "--session", "--sessions", "-k") and i + 1 < len(rest):
                    names.extend(rest[i + 1].split(","))
                elif word.startswith(flag) and len(word) > 2:
                    names.extend(word[2:].split(","))
            return runner, names
        while rest:
            word = rest.pop(0)
            if word in {"-f", "-C", "--file", "--directory", "-j"} and rest:
                rest.pop(0)
            elif word.startswith("-") or "=" in word:
                continue
            else:
                names.append(word)
                if runner not in {"make", "invoke"}:
                    break
        return runner, names

    def classify(self, segment: str, depth: int = 0) -> str | None:
        """The stage of one segment (or ``cleanup``), None for anything else."""
        key = (segment, depth)
        if key not in self._seen:
            self._seen[key] = self._classify(segment, depth)
        return self._seen[key]

    def _classify(self, segment: str, depth: int) -> str | None:
        words = _words(segment)
        if not words:
            return None
        if words[0] == "eval" and "ssh-agent" in segment:
            return "deploy"
        program, args = _program(words)
        verb = args[0] if args else ""
        if program in _DEPLOY_PROGRAMS:
            if program == "rsync" and not any(":" in a and not a.startswith("-") for a in args):
                return None
            if program == "aws" and verb not in {
                "s3",
                "ecr",
                "ecs",
                "lambda",
                "deploy",
                "cloudformation",
                "sagemaker",
            }:
                return None
            return "deploy"
        if verb in _DEPLOY_VERBS.get(program, set()):
            return "deploy"
        if program in {"curl", "wget"} and re.search(
            r"\s(?:-X\s*(?:POST|PUT|PATCH|DELETE)|-T|--upload-file|--data\S*|-d|-F|--form)\b",
            f" {segment}",
        ):
            return "deploy"
        if program == "rm" and any(a.startswith("-") and ("r" in a or "f" in a) for a in args):
            return "cleanup"
        if program in {"docker", "podman", "buildah", "nerdctl"} and (
            verb in {"build", "bud"}
            or args[:2] in (["buildx", "build"], ["compose", "build"], ["image", "build"])
        ):
            return "image"
        if program in {"executor", "/kaniko/executor", "kaniko"} or segment.lstrip().startswith(
            "/kaniko/executor"
        ):
            return "image"
        if program == "-m pip" or program in _INSTALL_VERBS:
            verbs = _INSTALL_VERBS.get("pip" if program == "-m pip" else program, set())
            if not verbs or verb in verbs:
                if program == "uv" and verb == "pip" and args[1:2] not in (["install"], ["sync"]):
                    return None
                return "install"
        call = self.task_call(program, args)
        if call is not None:
            return self._task_stage(call[0], call[1], depth)
        if program in _LINT or (program.startswith("-m ") and program[3:] in _LINT):
            return "lint"
        if program in _TEST or (program.startswith("-m ") and program[3:] in _TEST):
            return "test"
        if program == "hatch" and verb == "test":
            return "test"
        if program == "dvc":
            if verb == "repro" or args[:2] == ["exp", "run"]:
                return "train"
            if args[:2] in (["metrics", "diff"], ["metrics", "show"]):
                return "evaluate"
            return None
        if program in {"great_expectations", "gx", "soda", "pandera", "deepchecks"}:
            return "data"
        if program in {"evidently"}:
            return "monitor"
        if program in {"accelerate", "torchrun", "deepspeed", "lightning", "mlflow"}:
            script = next((a for a in args if a.endswith(".py")), "")
            return _by_name(_stem(script)) or (
                "train" if program != "mlflow" or verb == "run" else None
            )
        if program.startswith("-m "):
            return _by_name(_stem(program[3:]))
        if program.startswith("py "):
            return _by_name(_stem(program[3:])) or self._script_stage(program[3:], depth)
        if program in self.scripts:
            target = self.scripts[program]
            return _by_name(program) or _by_name(target.rpartition(":")[2])
        if program in {"bash", "sh", "zsh"} and args and not args[0].startswith("-"):
            program, args = args[0], args[1:]
        if program.endswith(".sh") or program.startswith(("./", "scripts/", "bin/")):
            path = program.removeprefix("./")
            return _by_name(_stem(path.removesuffix(".sh"))) or self._script_stage(path, depth)
        return None

    def all_stages(self, segment: str, depth: int = 0) -> set[str]:
        """Every stage a segment runs: a task call runs all its recipe does (``make check``
        may test and check data); any other segment its one stage."""
        program, args = _program(_words(segment))
        call = self.task_call(program, args)
        if call is None or depth >= 4:
            stage = self.classify(segment, depth)
            return {stage} if stage else set()
        found: set[str] = set()
        for name in call[1]:
            task = self.tasks.get((call[0], name))
            if task is None:
                continue
            for line in task.lines:
                for _, text in _logical_lines(line):
                    for part, _ in _segments(text):
                        found |= self.all_stages(part, depth + 1)
            for dependency in task.depends:
                found |= self.all_stages(f"{program} {dependency}", depth + 1)
        stage = self.classify(segment, depth)
        return (found | {stage}) if stage else found

    def _task_stage(self, runner: str, names: list[str], depth: int) -> str | None:
        if not names:
            names = {"tox": ["py"], "nox": ["*nox-default*"]}.get(runner, [])
            if runner == "make":
                first = next((t for (r, _), t in self.tasks.items() if r == "make"), None)
                names = [first.name] if first else []
            if runner == "tox":
                return "test"
            if runner == "nox":
                return "test"
        stages: list[str] = []
        for name in names:
            task = self.tasks.get((runner, name))
            # A call of a task that does not exist still says what it means to run.
            stage = self.recipe_stage(task, depth) if task else _name_stage(name)
            if stage:
                stages.append(stage)
        # A task named on the command line that cleans up is what the call is for.
        return _first_ranked(stages, ("deploy", "cleanup", *_RANK[1:]))

    def recipe_stage(self, task: Task, depth: int) -> str | None:
        found: list[str] = []
        if depth < 4:
            for line in task.lines:
                for _, text in _logical_lines(line):
                    for segment, _ in _segments(text):
                        stage = self.classify(segment, depth + 1)
                        if stage:
                            found.append(stage)
            for dependency in task.depends:
                sub = self.tasks.get((task.runner, dependency))
                stage = self.recipe_stage(sub, depth + 1) if sub else None
                if stage:
                    found.append(stage)
        stage = _first_ranked(found, _RANK)
        if stage:
            return stage
        if "cleanup" in found and len(set(found)) == 1:
            return "cleanup"
        # A recipe that runs nothing we know: its name says what it is.
        return _name_stage(task.name)

    def _script_stage(self, path: str, depth: int) -> str | None:
        """The stage of a shell script of the repository, from the lines it runs."""
        if depth >= 2 or not path.endswith(".sh"):
            return None
        text = self.reader.text(path)
        if not text:
            return None
        task = Task("script", path, (text,), path, path)
        stage = self.recipe_stage(task, depth)
        return None if stage in {"install"} else stage


def _first_ranked(found: Sequence[str], rank: Sequence[str]) -> str | None:
    """The first stage of ``rank`` that is in ``found``."""
    return next((stage for stage in rank if stage in found), None)
