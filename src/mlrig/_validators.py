"""The validators mlrig runs over a rendered tree: their command lines and their reports.

Each :class:`Spec` is one tool's run over one tree; :mod:`mlrig.validate` runs them
(one tree at a time, or batched over many) and turns their reports into findings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

#: GitHub's ``on:`` key is a YAML 1.1 boolean, so truthy keys are allowed.
YAMLLINT_CONFIG = (
    "{extends: default, rules: {truthy: {check-keys: false}, line-length: {max: 160}, "
    "document-start: disable, comments: {min-spaces-from-content: 1}}}"
)
_ZIZMOR_LINE = re.compile(
    r"::\w+ file=(?P<file>[^,]*),line=(?P<line>\d+),title=(?P<title>[^:]*)::(?P<msg>.*)"
)
# zizmor repeats "name.yml:LINE: " at the start of each message.
_ZIZMOR_PREFIX = re.compile(r"^\S+:\d+: ")
#: A GitHub workflow's path in a tree; GitLab CI's file.
WORKFLOW = re.compile(r"\.github/workflows/[^/]+\.ya?ml")
GITLAB = ".gitlab-ci.yml"
_YAMLLINT_ERROR = re.compile(r":\d+:\d+: \[error\] ")


@dataclass(frozen=True)
class Check:
    """One validator run: the tool's name, its argv, and a parser of (output, returncode)."""

    tool: str
    argv: list[str]
    parse: Callable[[str, int], list[str]]


def _any(messages: Sequence[str]) -> bool:
    return bool(messages)


def _yamllint_fails(messages: Sequence[str]) -> bool:
    # yamllint exits 1 for an error, not for warnings (it runs without --strict).
    return any(_YAMLLINT_ERROR.search(m) for m in messages)


@dataclass(frozen=True)
class Spec:
    """One validator's run over one tree, before it is batched with other trees' runs."""

    tool: str
    #: The argv before the files; paths in it are written for the tree's prefix.
    head: tuple[str, ...]
    #: The files to check, relative to the tree.
    targets: tuple[str, ...]
    parse: Callable[[str, int], list[str]]
    #: Trees run together only when their groups match (the tool's config they hold).
    group: str = ""
    #: The tool reads nothing but the file (and the group's config) to check a file.
    dedupe: bool = False
    #: Whether a tree with these messages fails its own run (which exits non-zero
    #: when it has findings); ``None`` when only its own run can tell.
    fails: Callable[[Sequence[str]], bool] | None = _any

    def check(self, prefix: str) -> Check:
        return Check(self.tool, [*self.head, *(prefix + t for t in self.targets)], self.parse)

    def own(self, messages: list[str]) -> list[str]:
        """The findings of a tree whose messages, from this tool, are ``messages``."""
        return messages if self.fails is None or self.fails(messages) else []


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


def specs(root: Path, files: Sequence[str], prefix: str) -> list[Spec]:
    """The validators to run over the tree at ``root`` (files ``files``), in report order.

    ``prefix`` is the tree's path from where the validators run, for paths in argv.
    """
    workflows = tuple(f for f in files if WORKFLOW.fullmatch(f))
    dependabot = tuple(f for f in files if re.fullmatch(r"\.github/dependabot\.ya?ml", f))
    gitlab = tuple(f for f in files if f == GITLAB)
    dockerfiles = tuple(f for f in files if re.fullmatch(r"(.*/)?Dockerfile(\.[^/]+)?", f))
    yaml_files = tuple(f for f in files if f.endswith((".yml", ".yaml")))
    python = tuple(f for f in files if f.endswith(".py"))
    shell = tuple(f for f in files if f.endswith(".sh"))
    specs: list[Spec] = []

    def config(pattern: str, *flag: str) -> tuple[tuple[str, ...], str]:
        """The argv naming the tree's config file for a tool, and that config's text."""
        found = [f for f in files if re.fullmatch(pattern, f)]
        if not found:
            return (), ""
        return (*flag, prefix + found[0]), (root / found[0]).read_text(errors="replace")

    def schema(name: str, targets: tuple[str, ...], *extra: str) -> None:
        if targets:
            head = ("check-jsonschema", "--builtin-schema", name, *extra, "-o", "json")
            specs.append(Spec(f"schema:{name}", head, targets, _parse_jsonschema, dedupe=True))

    schema("vendor.github-workflows", workflows)
    schema("custom.github-workflows-require-timeout", workflows)
    schema("vendor.dependabot", dependabot)
    schema("vendor.gitlab-ci", gitlab, "--data-transform", "gitlab-ci")
    if workflows:
        # actionlint finds its config only inside a git work tree, so name it; in
        # one, it also reads the local actions a workflow uses.
        args, text = config(r"\.github/actionlint\.ya?ml", "-config-file")
        head = ("actionlint", "-no-color", "-oneline", *args)
        dedupe = not (root / ".git").exists()
        specs.append(Spec("actionlint", head, workflows, _lines, group=text, dedupe=dedupe))
        actions = tuple(f for f in files if re.fullmatch(r"(.*/)?action\.ya?ml", f))
        zizmor = tuple(zizmor_argv([], "--format=github"))
        # The files zizmor collects from a folder, named so that it reports their paths.
        specs.append(Spec("zizmor", zizmor, workflows + actions + dependabot, _parse_zizmor))
    if dockerfiles:
        # hadolint reads .hadolint.yaml from where it runs, so name it; the rules it
        # sets (ignored codes, failure threshold) decide the exit code.
        args, text = config(r"\.hadolint\.ya?ml", "--config")
        head = tuple(hadolint_argv([], *args))
        specs.append(Spec("hadolint", head, dockerfiles, _lines, text, dedupe=True, fails=None))
    if yaml_files:
        head = ("yamllint", "-f", "parsable", "-d", YAMLLINT_CONFIG)
        yamllint = Spec(
            "yamllint", head, yaml_files, _every_line, dedupe=True, fails=_yamllint_fails
        )
        specs.append(yamllint)
    if shell:
        # shellcheck reads the .shellcheckrc files above a script.
        dedupe = not any(f.rpartition("/")[2] == ".shellcheckrc" for f in files)
        head = ("shellcheck", "-f", "gcc")
        specs.append(Spec("shellcheck", head, shell, _lines, dedupe=dedupe))
    if python:
        ruff = ("ruff", "check", "--no-cache", "--quiet", "--output-format", "concise")
        specs.append(Spec("ruff", ruff, python, _lines))
        fmt = ("ruff", "format", "--check", "--no-cache", "--output-format", "concise")
        specs.append(Spec("ruff-format", fmt, python, _parse_ruff_format))
    return specs


def _lines(output: str, returncode: int) -> list[str]:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if returncode == 0:
        return []
    return lines or [f"failed with exit code {returncode} and no output"]


def _every_line(output: str, returncode: int) -> list[str]:
    # Warnings too, when the run passes: whether they count is the spec's `fails`.
    return _lines(output, 1 if output.strip() else returncode)


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
