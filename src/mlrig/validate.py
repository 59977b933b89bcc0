"""Run the validators over a rendered project tree and return their findings.

The validators are external programs (installed with ``pip install 'mlrig[validate]'``):
check-jsonschema with the official GitHub workflow, dependabot and GitLab CI schemas,
actionlint (with shellcheck on ``run:`` blocks), zizmor in its pedantic persona,
hadolint, yamllint, shellcheck and ruff. They run in parallel, one process per check.

:func:`validate_trees` checks many trees with one process per check for all of them
(tools start once, identical files are checked once) and gives each tree exactly the
findings :func:`validate_tree` would give it alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlrig._record import ANSWERS_FILE
from mlrig._validate_batch import Batch, strip_prefix
from mlrig._validators import (
    GITLAB,
    WORKFLOW,
    YAMLLINT_CONFIG,
    Check,
    hadolint_argv,
    specs,
    zizmor_argv,
)
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
    "validate_trees",
    "zizmor_argv",
]

# A Jinja tag or expression that survived rendering; GitHub's ${{ }} is not one.
_LEFTOVER_JINJA = re.compile(r"\{%-?\s|\s-?%\}|(?<![$\w{])\{\{-?\s*[A-Za-z_]")
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


def validate_tree(root: Path, *, answers: Iterable[str] = ()) -> list[Finding]:
    """Validate every pipeline, Dockerfile, YAML, shell and Python file under ``root``.

    ``answers`` are the free-text answers the tree was rendered with: they are the
    user's data, so Jinja-like text inside them is not reported as left-over Jinja
    (nor is anything in the answers file). Returns the findings, empty when the
    tree is clean. Raises :class:`EnvironmentProblem` when a validator that is
    needed is not installed.
    """
    return validate_trees([root], answers=[answers])[0]


def validate_trees(
    roots: Sequence[Path],
    *,
    answers: Sequence[Iterable[str]] | None = None,
    known: dict[object, list[str]] | None = None,
) -> list[list[Finding]]:
    """:func:`validate_tree` for each of ``roots`` (with its ``answers``), run as one batch.

    Each validator runs once over the files of every tree (a file whose result
    depends only on its path and content is checked once for all the trees that
    have it), and its report is mapped back to the trees by path. ``known``, a
    dict the caller keeps between calls, carries those files' results to later
    calls, which then do not check them again. Returns one list of findings per
    root, in order, each the list :func:`validate_tree` returns for that root
    alone. Raises :class:`EnvironmentProblem` like it.
    """
    given = list(answers) if answers is not None else [()] * len(roots)
    files = [sorted(_files(root)) for root in roots]
    findings = [
        [Finding("jinja", m) for m in _leftover_jinja(root, names, _user_text(texts))]
        for root, names, texts in zip(roots, files, given, strict=True)
    ]
    if not roots:
        return findings
    cwd = Path(os.path.commonpath([root.absolute() for root in roots]))
    prefixes = [_prefix(root.absolute(), cwd) for root in roots]
    if len(roots) > 1 and "" in prefixes:
        # One tree holds the others: its own checks would cover their files too.
        return [
            validate_tree(root, answers=texts) for root, texts in zip(roots, given, strict=True)
        ]
    batches: dict[tuple[str, str], Batch] = {}
    tools: list[list[str]] = []
    for index, (root, names, prefix) in enumerate(zip(roots, files, prefixes, strict=True)):
        tree_specs = specs(root, names, prefix)
        tools.append([spec.tool for spec in tree_specs])
        for spec in tree_specs:
            batch = batches.setdefault((spec.tool, spec.group), Batch(spec, known))
            batch.add(index, root, prefix, spec)
    to_run = [batch for batch in batches.values() if batch.paths]
    running = dict(
        zip(
            map(id, to_run),
            start_checks(cwd, [batch.check() for batch in to_run], require=True),
            strict=True,
        )
    )
    reported: list[dict[str, list[str]]] = [{} for _ in roots]
    reruns: list[tuple[int, Batch]] = []
    for batch in batches.values():
        started = running.get(id(batch))
        messages = [f.message for f in collect_checks([started])] if started else []
        for index, tree_messages in batch.split(messages, prefixes).items():
            if tree_messages is None:
                reruns.append((index, batch))
            else:
                reported[index][batch.spec.tool] = tree_messages
    # A tree's result that the batch cannot tell is taken from a run of its own.
    alone = [batch.specs[index].check(prefixes[index]) for index, batch in reruns]
    again = start_checks(cwd, alone, require=True)
    for (index, batch), started in zip(reruns, again, strict=True):
        messages = [strip_prefix(f.message, prefixes[index]) for f in collect_checks([started])]
        reported[index][batch.spec.tool] = batch.spec.own(messages)
    for index, tree_tools in enumerate(tools):
        findings[index].extend(
            Finding(tool, m) for tool in tree_tools for m in reported[index].get(tool, [])
        )
    return findings


def _user_text(answers: Iterable[str]) -> list[str]:
    return [part for text in answers for part in text.splitlines() if part.strip()]


def _prefix(root: Path, cwd: Path) -> str:
    relative = root.relative_to(cwd).as_posix()
    return "" if relative == "." else relative + "/"


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
    candidates = [*root.glob(".github/workflows/*"), root / GITLAB]
    wanted = None if only is None else set(only)
    pipelines = sorted(
        name
        for name in (p.relative_to(root).as_posix() for p in candidates if p.is_file())
        if (WORKFLOW.fullmatch(name) or name == GITLAB) and (wanted is None or name in wanted)
    )
    # actionlint runs in its own process while the YAML and schemas are checked here.
    workflows = [name for name in pipelines if name != GITLAB]
    actionlint = [s.check("") for s in specs(root, workflows, "") if s.tool == "actionlint"]
    running = start_checks(root, actionlint, require=False)
    findings: list[Finding] = []
    for name in pipelines:
        try:
            data = _load_yaml(root, name)
        except InvalidInputError as exc:
            findings.append(Finding("yaml", str(exc)))
            continue
        schema = "gitlab-ci" if name == GITLAB else "github-workflows"
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


def _files(root: Path) -> list[str]:
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS]
        rel = Path(dirpath).relative_to(root)
        found.extend((rel / name).as_posix() for name in filenames)
    return found


def _leftover_jinja(root: Path, files: Sequence[str], user_text: Sequence[str]) -> list[str]:
    messages = [
        f"{name}: template suffix left in a rendered file name"
        for name in files
        if name.endswith(".jinja")
    ]
    for name in files:
        if name == ANSWERS_FILE:
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
