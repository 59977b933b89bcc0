"""Run the validators over a rendered project tree and return their findings.

The validators are external programs (installed with ``pip install 'mlrig[validate]'``):
check-jsonschema with the official GitHub workflow, dependabot and GitLab CI schemas,
actionlint (with shellcheck on ``run:`` blocks), zizmor in its pedantic persona,
hadolint, yamllint, shellcheck and ruff. They run in parallel, one process per check.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlrig.errors import EnvironmentProblem, InvalidInputError

__all__ = [
    "YAMLLINT_CONFIG",
    "Check",
    "Finding",
    "collect_checks",
    "collect_outputs",
    "hadolint_argv",
    "new_findings",
    "start_checks",
    "validate_pipelines",
    "validate_tree",
    "zizmor_argv",
]

#: GitHub's ``on:`` key is a YAML 1.1 boolean, so truthy keys are allowed.
YAMLLINT_CONFIG = (
    "{extends: default, rules: {truthy: {check-keys: false}, line-length: {max: 160}, "
    "document-start: disable, comments: {min-spaces-from-content: 1}}}"
)
# A Jinja tag or expression that survived rendering; GitHub's ${{ }} is not one.
_LEFTOVER_JINJA = re.compile(r"\{%-?\s|\s-?%\}|(?<![$\w{])\{\{-?\s*[A-Za-z_]")
_ZIZMOR_LINE = re.compile(
    r"::\w+ file=(?P<file>[^,]*),line=(?P<line>\d+),title=(?P<title>[^:]*)::(?P<msg>.*)"
)
# zizmor repeats "name.yml:LINE: " at the start of each message.
_ZIZMOR_PREFIX = re.compile(r"^\S+:\d+: ")
_ANSWERS_FILE = ".copier-answers.yml"
_WORKFLOW = re.compile(r"\.github/workflows/[^/]+\.ya?ml")
_GITLAB = ".gitlab-ci.yml"
_POSITION = re.compile(r":\d+(?::\d+)?:")
_SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__"}


@dataclass(frozen=True)
class Finding:
    """One problem a validator reported, with the tool's name."""

    tool: str
    message: str

    def __str__(self) -> str:
        return f"[{self.tool}] {self.message}"

    def as_dict(self) -> dict[str, str]:
        """The JSON form every report uses for a finding."""
        return {"tool": self.tool, "message": self.message}


@dataclass(frozen=True)
class Check:
    """One validator run: the tool's name, its argv, and a parser of (output, returncode)."""

    tool: str
    argv: list[str]
    parse: Callable[[str, int], list[str]]


def validate_tree(root: Path, *, answers: Iterable[str] = ()) -> list[Finding]:
    """Validate every pipeline, Dockerfile, YAML, shell and Python file under ``root``.

    ``answers`` are the free-text answers the tree was rendered with: they are the
    user's data, so Jinja-like text inside them is not reported as left-over Jinja
    (nor is anything in the answers file). Returns the findings, empty when the
    tree is clean. Raises :class:`EnvironmentProblem` when a validator that is
    needed is not installed.
    """
    files = sorted(_files(root))
    user_text = [part for text in answers for part in text.splitlines() if part.strip()]
    findings = [Finding("jinja", m) for m in _leftover_jinja(root, files, user_text)]
    findings.extend(_run(root, _checks(files), require=True))
    return findings


def new_findings(before: Iterable[Finding], after: Iterable[Finding]) -> tuple[Finding, ...]:
    """Findings in ``after`` that ``before`` lacks, ignoring line and column numbers.

    For a file that was there before a change (a merge, an update): the findings it
    already had are its own; inserted lines shift them, so positions are ignored.
    """
    old = Counter(_finding_key(f) for f in before)
    new: list[Finding] = []
    for finding in after:
        if old[_finding_key(finding)] > 0:
            old[_finding_key(finding)] -= 1
        else:
            new.append(finding)
    return tuple(new)


def _finding_key(finding: Finding) -> tuple[str, str]:
    return finding.tool, _POSITION.sub(":", finding.message)


def validate_pipelines(root: Path, *, only: Iterable[str] | None = None) -> list[Finding]:
    """Check the CI pipeline files under ``root`` after a merge, quickly.

    ``only`` restricts the check to these relative paths (the files a merge
    touched). Always: each file parses as YAML without duplicate keys. When it
    parses and ``mlrig[validate]`` is installed: the official schema (checked
    in-process with the schemas check-jsonschema ships) and, for GitHub
    workflows, actionlint.
    """
    candidates = [*root.glob(".github/workflows/*"), root / _GITLAB]
    wanted = None if only is None else set(only)
    pipelines = sorted(
        name
        for name in (p.relative_to(root).as_posix() for p in candidates if p.is_file())
        if (_WORKFLOW.fullmatch(name) or name == _GITLAB) and (wanted is None or name in wanted)
    )
    # actionlint runs in its own process while the YAML and schemas are checked here.
    workflows = [name for name in pipelines if name != _GITLAB]
    running = start_checks(
        root, [c for c in _checks(workflows) if c.tool == "actionlint"], require=False
    )
    findings: list[Finding] = []
    for name in pipelines:
        try:
            data = _load_yaml(root, name)
        except InvalidInputError as exc:
            findings.append(Finding("yaml", str(exc)))
            continue
        schema = "gitlab-ci" if name == _GITLAB else "github-workflows"
        findings.extend(
            Finding(f"schema:vendor.{schema}", m) for m in _schema_errors(name, data, schema)
        )
    return findings + collect_checks(running)


def _load_yaml(root: Path, name: str) -> object:
    """Parse one YAML file (GitLab's ``!reference`` tag included); InvalidInputError if not."""
    from mlrig._yaml import MAX_ALIASED_IN_REPO, load

    try:
        text = (root / name).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{name} is not valid YAML: {exc}") from None
    return load(text, what=name, max_aliased=MAX_ALIASED_IN_REPO, gitlab_references=True)


def _schema_errors(name: str, data: object, schema_name: str) -> list[str]:
    from importlib.util import find_spec

    # find_spec locates check-jsonschema's vendored schemas without importing it.
    spec = find_spec("check_jsonschema")
    if spec is None or not spec.submodule_search_locations or find_spec("jsonschema") is None:
        return []
    vendored = Path(spec.submodule_search_locations[0], "builtin_schemas", "vendor")
    schema = json.loads((vendored / f"{schema_name}.json").read_text(encoding="utf-8"))
    import jsonschema

    validator = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    return [] if error is None else [f"{name}: {error.json_path}: {error.message}"]


def _run(root: Path, checks: list[Check], *, require: bool) -> list[Finding]:
    """Run ``checks`` in parallel in ``root``; a missing tool raises, or is skipped."""
    return collect_checks(start_checks(root, checks, require=require))


def start_checks(
    root: Path, checks: list[Check], *, require: bool
) -> list[tuple[Check, subprocess.Popen[str]]]:
    """Start every check in ``root`` at once; wait for them with :func:`collect_checks`.

    A tool missing from PATH raises :class:`EnvironmentProblem` when ``require``,
    and is otherwise skipped.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["NO_COLOR"] = "1"
    missing = {c.argv[0] for c in checks if shutil.which(c.argv[0], path=env["PATH"]) is None}
    if missing and require:
        raise EnvironmentProblem(
            f"validator not found: {', '.join(sorted(missing))}; install them with "
            "pip install 'mlrig[validate]'"
        )
    running = [
        (
            check,
            subprocess.Popen(
                check.argv,
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            ),
        )
        for check in checks
        if check.argv[0] not in missing
    ]
    return running


def collect_checks(running: list[tuple[Check, subprocess.Popen[str]]]) -> list[Finding]:
    """Wait for the started checks; return their findings, in the order they were started."""
    return [
        Finding(check.tool, message)
        for check, output, returncode in collect_outputs(running)
        for message in check.parse(output, returncode)
    ]


def collect_outputs(
    running: list[tuple[Check, subprocess.Popen[str]]],
) -> list[tuple[Check, str, int]]:
    """Wait for the started checks; return each one's output and exit code, in start order.

    For a caller that reads a tool's report itself (doctor keeps zizmor's rule
    and severity) instead of taking the check's findings as lines.
    """
    results: list[tuple[Check, str, int]] = []
    for check, proc in running:
        output, _ = proc.communicate()
        results.append((check, output, proc.returncode))
    return results


def zizmor_argv(targets: Sequence[str], *options: str) -> list[str]:
    """zizmor as mlrig runs it, on ``targets`` with ``options`` (the output format, ...)."""
    return [
        "zizmor",
        "--offline",
        "--no-progress",
        "--persona=pedantic",
        # Without it zizmor skips a workflow it cannot parse and still exits 0.
        "--strict-collection",
        *options,
        *targets,
    ]


def hadolint_argv(dockerfiles: Sequence[str], *options: str) -> list[str]:
    """hadolint as mlrig runs it, on ``dockerfiles`` with ``options`` (the output format, ...)."""
    return ["hadolint", "--no-color", *options, *dockerfiles]


def _files(root: Path) -> list[str]:
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS]
        rel = Path(dirpath).relative_to(root)
        found.extend((rel / name).as_posix() for name in filenames)
    return found


def _checks(files: Sequence[str]) -> list[Check]:
    workflows = [f for f in files if _WORKFLOW.fullmatch(f)]
    dependabot = [f for f in files if re.fullmatch(r"\.github/dependabot\.ya?ml", f)]
    gitlab = [f for f in files if f == _GITLAB]
    dockerfiles = [f for f in files if re.fullmatch(r"(.*/)?Dockerfile(\.[^/]+)?", f)]
    yaml_files = [f for f in files if f.endswith((".yml", ".yaml"))]
    python = [f for f in files if f.endswith(".py")]
    shell = [f for f in files if f.endswith(".sh")]
    checks: list[Check] = []

    def schema(name: str, targets: list[str], *extra: str) -> None:
        if targets:
            argv = ["check-jsonschema", "--builtin-schema", name, *extra, "-o", "json", *targets]
            checks.append(Check(f"schema:{name}", argv, _parse_jsonschema))

    schema("vendor.github-workflows", workflows)
    schema("custom.github-workflows-require-timeout", workflows)
    schema("vendor.dependabot", dependabot)
    schema("vendor.gitlab-ci", gitlab, "--data-transform", "gitlab-ci")
    if workflows:
        # actionlint finds its config only inside a git work tree, so name it.
        config = [f for f in files if re.fullmatch(r"\.github/actionlint\.ya?ml", f)]
        config_args = ["-config-file", config[0]] if config else []
        actionlint = ["actionlint", "-no-color", "-oneline", *config_args, *workflows]
        checks.append(Check("actionlint", actionlint, _lines))
        checks.append(Check("zizmor", zizmor_argv(["."], "--format=github"), _parse_zizmor))
    if dockerfiles:
        checks.append(Check("hadolint", hadolint_argv(dockerfiles), _lines))
    if yaml_files:
        argv = ["yamllint", "-f", "parsable", "-d", YAMLLINT_CONFIG, *yaml_files]
        checks.append(Check("yamllint", argv, _lines))
    if shell:
        checks.append(Check("shellcheck", ["shellcheck", "-f", "gcc", *shell], _lines))
    if python:
        ruff = ["ruff", "check", "--no-cache", "--quiet", "--output-format", "concise", *python]
        checks.append(Check("ruff", ruff, _lines))
        fmt = ["ruff", "format", "--check", "--no-cache", "--output-format", "concise", *python]
        checks.append(Check("ruff-format", fmt, _parse_ruff_format))
    return checks


def _lines(output: str, returncode: int) -> list[str]:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if returncode == 0:
        return []
    return lines or [f"failed with exit code {returncode} and no output"]


def _parse_ruff_format(output: str, returncode: int) -> list[str]:
    return [line for line in _lines(output, returncode) if "would be reformatted" not in line[:30]]


def _parse_jsonschema(output: str, returncode: int) -> list[str]:
    if returncode == 0:
        return []
    try:
        report = json.loads(output)
    except json.JSONDecodeError:
        return _lines(output, returncode)
    messages = [
        f"{error['filename']}: {error['path']}: {error.get('best_match', error)['message']}"
        for error in report.get("errors", [])
    ]
    messages += [
        f"{error['filename']}: {error['message']}" for error in report.get("parse_errors", [])
    ]
    return messages or _lines(output, returncode)


def _parse_zizmor(output: str, returncode: int) -> list[str]:
    if returncode == 0:
        return []
    messages = [
        f"{m['file']}:{m['line']}: {m['title']}: {_ZIZMOR_PREFIX.sub('', m['msg'])}"
        for m in map(_ZIZMOR_LINE.match, output.splitlines())
        if m
    ]
    return messages or _lines(output, returncode)


def _leftover_jinja(root: Path, files: Sequence[str], user_text: Sequence[str]) -> list[str]:
    messages = [
        f"{name}: template suffix left in a rendered file name"
        for name in files
        if name.endswith(".jinja")
    ]
    for name in files:
        if name == _ANSWERS_FILE:
            continue
        try:
            text = (root / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for part in user_text:
                line = line.replace(part, "")
            if _LEFTOVER_JINJA.search(line):
                messages.append(f"{name}:{number}: Jinja left over: {line.strip()}")
    return messages
