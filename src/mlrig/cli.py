"""The command line: parse, prompt, print, and map errors to exit codes — nothing else.

Exit codes: 0 success; 1 a finding; 2 usage or invalid input; 3 environment
problem (no git, a missing tool); 130 interrupted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlrig._version import __version__
from mlrig.answers import QUESTIONS, Question
from mlrig.errors import Interrupted, InvalidInputError, MlrigError

if TYPE_CHECKING:
    from click.decorators import FC

    from mlrig._progress import Progress
    from mlrig.commands.adopt import AdoptResult
    from mlrig.templates import TemplateQuestion

EXIT_INTERRUPTED = 130
EXIT_USAGE = 2
# Root context meta key: whether the command line asks for JSON, so that errors are JSON too.
_JSON_META = "mlrig.json"


class _Group(click.Group):
    """The single error handler: a user error becomes one red line, never a traceback.

    Under ``--json`` the error is also printed to stdout as the one JSON object
    ``{"error": {"message", "exit_code", "kind"}}``. Usage errors (an unknown
    option, a missing argument, a bad choice) are one line too, exit 2.
    ``NO_COLOR`` (set and non-empty) turns colour off; click already shows
    colour only on a terminal.
    """

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        if os.environ.get("NO_COLOR"):
            extra["color"] = False
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            if isinstance(exc, click.exceptions.NoArgsIsHelpError):
                raise  # `mlrig` alone prints the help
            _report_usage_error(exc, as_json=_asks_json(args), color=extra.get("color"))
            raise click.exceptions.Exit(EXIT_USAGE) from None

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta[_JSON_META] = _asks_json(args)
        return super().parse_args(ctx, args)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command line with every line it prints credential-masked.

        Everything written to stdout and stderr, click's own usage errors included,
        passes :func:`mlrig._credentials.mask`: no token of a URL is ever shown.
        """
        from mlrig._credentials import MaskingStream

        streams = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = MaskingStream(streams[0]), MaskingStream(streams[1])
        try:
            return super().main(*args, **kwargs)
        finally:
            sys.stdout, sys.stderr = streams

    def invoke(self, ctx: click.Context) -> None:
        as_json = bool(ctx.meta.get(_JSON_META))
        try:
            code = super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise  # `mlrig fleet` alone prints fleet's help
        except click.UsageError as exc:
            _report_usage_error(exc, as_json=as_json)
            ctx.exit(EXIT_USAGE)
        except MlrigError as exc:
            _report_error(str(exc), exc.exit_code, exc.kind, as_json=as_json)
            ctx.exit(exc.exit_code)
        except (KeyboardInterrupt, click.Abort):
            message = "interrupted; nothing was written"
            if as_json:
                _echo_json(_error_object(message, EXIT_INTERRUPTED, Interrupted.kind))
            click.secho(f"mlrig: {message}", fg="red", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        ctx.exit(code or 0)


def _asks_json(args: Sequence[str]) -> bool:
    """Whether ``--json`` is among the options of ``args`` (those before a ``--``)."""
    options = args[: list(args).index("--")] if "--" in args else args
    return "--json" in options


def _json_text(data: object) -> str:
    """The JSON form of every report mlrig prints or writes."""
    import json

    return json.dumps(data, indent=2)


def _echo_json(data: object) -> None:
    """Print ``data`` as the one JSON object of a ``--json`` command's stdout."""
    click.echo(_json_text(data))


_JSON_HELP = (
    "Print one JSON object on stdout instead of text; an error is one too: "
    '{"error": {"message", "exit_code", "kind"}}.'
)


def _error_object(message: str, exit_code: int, kind: str) -> dict[str, object]:
    """What a ``--json`` command prints instead of its result when it fails."""
    return {"error": {"message": message, "exit_code": exit_code, "kind": kind}}


def _report_error(
    message: str, exit_code: int, kind: str, *, as_json: bool, color: bool | None = None
) -> None:
    """Say what went wrong: one red line on stderr, and under --json the error object on stdout."""
    if as_json:
        _echo_json(_error_object(message, exit_code, kind))
    click.secho(f"mlrig: error: {message}", fg="red", err=True, color=color)


def _report_usage_error(exc: click.UsageError, *, as_json: bool, color: bool | None = None) -> None:
    """One line for click's three (Usage, Try, Error), ending with where the help is."""
    message = " ".join(exc.format_message().split()).rstrip(".")
    if message[:2].istitle():  # "No such option" -> "no such option", but "DEST ..." stays
        message = message[0].lower() + message[1:]
    if exc.ctx is not None:
        message += f" (see {exc.ctx.command_path} --help)"
    _report_error(message, EXIT_USAGE, "usage", as_json=as_json, color=color)


@click.group("mlrig", cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlrig")
def main() -> None:
    """mlrig: CI/CD for small machine-learning teams, in one command.

    Exit codes: 0 success, 1 a finding, 2 usage or invalid input,
    3 environment problem (no git, missing tool), 130 interrupted;
    each command's --help says which apply.

    With --json a command prints exactly one JSON object on stdout: its result,
    or for an error {"error": {"message": ..., "exit_code": N, "kind": ...}}
    (kind: usage, invalid_input, environment, interrupted, error). Human lines
    (warnings, the error's one line, progress) go to stderr; progress only when
    stderr is a terminal. Colour only on a terminal, never when NO_COLOR is set.
    """


def _parse_data(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    data: dict[str, str] = {}
    for item in values:
        try:
            item.encode("utf-8")
        except UnicodeEncodeError:
            # Python hands over argv bytes that are not UTF-8 as lone surrogates, which
            # no file can hold: refuse them here, before a template or a YAML dump does.
            shown = item.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise InvalidInputError(
                f"-d {shown} is not valid UTF-8 text; give the answer in UTF-8"
            ) from None
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE")
        data[key.strip()] = value
    return data


def _data_option(help_text: str) -> Callable[[FC], FC]:
    """``-d KEY=VALUE`` (repeatable, parsed by :func:`_parse_data`), with ``help_text``."""
    return click.option(
        "-d",
        "--data",
        "data",
        multiple=True,
        metavar="KEY=VALUE",
        callback=_parse_data,
        help=help_text,
    )


_ref_option = click.option(
    "--ref",
    metavar="REF",
    help="Template version (tag, branch or commit) [default: the newest version tag].",
)
_trust_option = click.option(
    "--trust",
    is_flag=True,
    help="Let the template run its tasks, migrations and Jinja extensions.",
)


def _questions_epilog() -> str:
    lines = ["\b", "Questions (KEY for -d, then its choices and [default]):"]
    advanced = []
    for question in QUESTIONS:
        if question.advanced:
            advanced.append(question.name)
            continue
        default = "DEST's folder name" if question.name == "project_name" else question.default
        if isinstance(default, bool):
            default = "yes" if default else "no"
        choices = " | ".join(question.choices) or question.help
        lines.append(f"  {question.name:<20} {choices} [{default}]")
    lines += [
        "Never asked; a repository's own command per stage ('' = the starter's,",
        "'none' = no such stage), set by mlrig adopt:",
        f"  {', '.join(advanced)}",
    ]
    return "\n".join(lines)


@main.command(short_help="Create a new ML project.", epilog=_questions_epilog())
@click.argument("dest", type=click.Path(path_type=Path))
@_data_option("Answer a question, e.g. -d framework=pytorch. Repeatable; wins over --answers-file.")
@click.option(
    "--answers-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="YAML file of answers, e.g. another project's .copier-answers.yml (its project_name "
    "is not taken: DEST's folder name or -d project_name is).",
)
@click.option("--defaults", is_flag=True, help="Take the default for every unanswered question.")
@click.option(
    "--dry-run", is_flag=True, help="List the files that would be written; write nothing."
)
@click.option("--no-git", is_flag=True, help="Do not make DEST a git repository.")
@click.option(
    "--template",
    metavar="SRC[@REF]",
    help="Copier template to use instead of the built-in one: a directory, a .bundle, a git "
    "URL (file://, https://, ssh://, git@host:owner/repo.git) or gh:OWNER/REPO, gl:OWNER/REPO; "
    "@REF pins a tag or commit.",
)
@_ref_option
@_trust_option
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP + " Never prompts.")
def new(
    dest: Path,
    data: dict[str, str],
    answers_file: Path | None,
    defaults: bool,
    dry_run: bool,
    no_git: bool,
    template: str | None,
    ref: str | None,
    trust: bool,
    as_json: bool,
) -> None:
    """Create a new ML project in DEST (a new or empty directory).

    In a terminal, unanswered questions are asked. Without one, they take their
    defaults under --defaults; otherwise mlrig fails and lists them. DEST becomes
    a git repository with one initial commit unless --no-git is given.

    The python_version default depends on the machine: the Python running mlrig,
    or 3.14 (the newest that scikit-learn, PyTorch and NumPy all support) when it
    is newer. The project's .python-version names it, so local uv matches CI.

    --template renders a house template instead of the built-in one; copier
    records it in .copier-answers.yml, so `mlrig update` (and plain `copier
    update`) follow its new version tags. A template that runs tasks, migrations
    or Jinja extensions is refused unless --trust is given or its URL starts with
    a trusted prefix in the user config.

    Exit codes: 0 created (or listed, with --dry-run); 2 invalid input (an
    answer, a missing answer without a terminal, DEST not empty, a bad or
    untrusted template); 3 environment problem (git missing, the template
    unreachable); 130 interrupted (nothing is left behind).

    --json prints {status ("created" or "dry_run"), dest, files, commit (null
    without git), warnings}, and never prompts.

    Config files (see `mlrig config show`): the user file
    $XDG_CONFIG_HOME/mlrig/config.yml (~/.config/mlrig/config.yml), or the file
    named by $MLRIG_CONFIG instead, then .mlrig.yml at the root of the git
    repository holding DEST, which wins. Keys: template (used when --template is
    not given), answers (presets, below --answers-file and -d) and, in the user
    file only, trusted_prefixes.
    """
    from mlrig.answers import load_shared_answers, resolve_answers
    from mlrig.commands.new import (
        builtin_presets,
        check_destination,
        choose_template,
        resolve_template_answers,
        template_presets,
    )
    from mlrig.commands.new import new as run_new
    from mlrig.config import load_config

    check_destination(dest)
    config = load_config(dest)
    folder = Path(os.path.abspath(dest)).name
    given: dict[str, object] = (
        load_shared_answers(answers_file, project_name=folder) if answers_file else {}
    )
    given.update(data)
    # A prompt would land in the JSON on stdout.
    interactive = not defaults and not as_json and _stdin_is_terminal()
    spec = choose_template(config, template=template, ref=ref)
    if spec is None:
        answers = resolve_answers(
            {**builtin_presets(config, overridden=given), **given},
            project_default=folder,
            use_defaults=defaults,
            ask=_ask if interactive else None,
        )
        result = run_new(
            dest, answers=answers, git=not no_git, dry_run=dry_run, progress=_progress()
        )
    else:
        from mlrig.templates import check_trust, inspect_template

        info = inspect_template(spec)
        trusted = trust or config.is_trusted(spec.url)
        check_trust(spec, trusted=trusted, info=info)
        custom = resolve_template_answers(
            info,
            {**template_presets(info, config, overridden=given), **given},
            use_defaults=defaults,
            ask=_ask_template if interactive else None,
        )
        result = run_new(
            dest,
            answers=custom,
            template=info,
            git=not no_git,
            dry_run=dry_run,
            trust=trusted,
            progress=_progress(),
        )
    for warning in result.warnings:
        click.secho(f"mlrig: warning: {warning}", fg="yellow", err=True)
    if result.lock_problem is not None:
        click.secho(f"mlrig: warning: {result.lock_problem}", fg="yellow", err=True)
    if as_json:
        _echo_json(result.as_dict())
        return
    if result.dry_run:
        click.echo(f"Would create {result.dest} with {len(result.files)} files:")
        for name in result.files:
            click.echo(f"  {name}")
        return
    commit = f", initial commit {result.commit[:12]}" if result.commit else ""
    click.secho(f"Created {result.dest}: {len(result.files)} files{commit}.", fg="green")
    if spec is not None:
        return
    if answers.package_manager == "uv":
        click.echo(
            f"Next (needs uv, https://docs.astral.sh/uv/): cd {result.dest} && "
            "uv sync --extra dev && uv run pytest"
        )
    else:
        # With its lock, the environment is exactly what CI installs.
        install = (
            ".venv/bin/pip install --require-hashes -r requirements-dev.lock && "
            ".venv/bin/pip install --no-deps -e ."
            if "requirements-dev.lock" in result.lock
            else '.venv/bin/pip install -e ".[dev]"'
        )
        click.echo(
            f"Next: cd {result.dest} && python3 -m venv .venv && {install} && .venv/bin/pytest"
        )


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def _progress() -> Progress:
    """Show each phase of a long command on stderr, when stderr is a terminal.

    Never on stdout (which --json keeps for its one object), and not in logs or
    pipes, where the lines would bury the warnings and errors a script looks for.
    """
    from mlrig._progress import silent

    if not _stderr_is_terminal():
        return silent

    def show(phase: str) -> None:
        click.secho(f"mlrig: {phase}...", dim=True, err=True)

    return show


def _ask(question: Question, default: object) -> object:
    """Prompt for one answer, asking again until the answer is valid."""
    if isinstance(default, bool):
        return click.confirm(question.help, default=default)

    def convert(raw: object) -> object:
        try:
            return question.parse(raw)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    text = question.help
    if question.choices:
        text = f"{text} ({'/'.join(question.choices)})"
    return click.prompt(text, default=default, value_proc=convert)


def _ask_template(question: TemplateQuestion, default: object) -> object:
    """Prompt for one question of a custom template; copier validates the answer."""
    if question.type == "bool" or isinstance(default, bool):
        return click.confirm(question.help, default=None if default is None else bool(default))
    if question.choices:
        values = {str(choice): choice for choice in question.choices}
        picked = click.prompt(
            question.help,
            type=click.Choice(list(values)),
            default=None if default is None else str(default),
            hide_input=question.secret,
        )
        return values[picked]
    kinds: dict[str, type] = {"int": int, "float": float}
    return click.prompt(
        question.help,
        type=kinds.get(question.type, str),
        default=default,
        hide_input=question.secret,
    )


@main.command(
    short_help="Update a project to a newer template version, keeping your edits.",
    epilog=_questions_epilog(),
)
@click.argument("dest", type=click.Path(path_type=Path), default=".")
@click.option("--to", "to", metavar="REF", help="Template version to update to [default: newest].")
@_data_option(
    "Change an answer, e.g. -d docker=no (with --to the current version: nothing else). Repeatable."
)
@click.option("--preview", is_flag=True, help="List what would change; change nothing.")
@click.option(
    "--conflict",
    type=click.Choice(["inline", "rej"]),
    default="inline",
    show_default=True,
    help="Leave conflicts as inline markers, or as .rej files beside the originals.",
)
@click.option(
    "--trust",
    is_flag=True,
    help="Let the template run its tasks, migrations and Jinja extensions "
    "(also when its URL has a trusted prefix in the user config).",
)
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
def update(
    dest: Path,
    to: str | None,
    data: dict[str, str],
    preview: bool,
    conflict: str,
    trust: bool,
    as_json: bool,
) -> int:
    """Update the project in DEST (default: here) to a newer template version.

    Your edits are kept: copier's 3-way merge re-applies them on top of the new
    template. -d KEY=VALUE changes an answer (ci_provider, docker, ...): the files
    come out as `mlrig new` makes them with that answer, your edits kept. The
    work tree must be clean; the result is left uncommitted for you to review.

    Exit codes: 0 updated, previewed or already current; 1 conflicts are left or
    the merged pipeline files do not validate; 2 DEST is not a project (or a
    folder inside one), or a bad --to; 3 uncommitted changes, a merge or rebase
    in progress, git refusing the repository, or the template unreachable;
    130 interrupted (the project is as before).

    \b
    --json prints one object:
      status     "updated", "current" or "conflicts"
      from, to   the template versions (equal when current)
      applied    whether the project was changed (false for --preview)
      conflicts  [paths left with conflicts]
      changes    [{status (added|changed|deleted|conflict), path}]
      findings   [{tool, message}]: what the merged pipelines got wrong
      lock_problem  why the dependency lock could not be added, or null
      project, template
    """
    from mlrig.commands.update import update as run_update

    result = run_update(
        dest,
        to=to,
        data=data,
        preview=preview,
        conflict="rej" if conflict == "rej" else "inline",
        trust=trust or _trusted_by_config(dest),
        progress=_progress(),
    )
    code = 1 if not preview and (result.conflicts or result.findings) else 0
    if result.lock_problem is not None:
        click.secho(f"mlrig: warning: {result.lock_problem}", fg="yellow", err=True)
    if as_json:
        _echo_json(result.as_dict())
        return code
    if not result.changes:
        click.echo(f"{result.project.name} is on the newest template version {result.to_version}.")
        return 0
    verb = "would change" if preview else "changed"
    head = f"{result.project.name}: template {result.from_version} -> {result.to_version}"
    click.echo(f"{head}, {len(result.changes)} files {verb}:")
    colours = {"added": "green", "deleted": "red", "conflict": "red"}
    for change in result.changes:
        click.secho(f"  {change.status:<9}{change.path}", fg=colours.get(change.status))
    for finding in result.findings:
        click.secho(f"mlrig: invalid pipeline after the merge: {finding}", fg="red", err=True)
    if preview:
        click.echo("Preview only: nothing was changed.")
        return 0
    if result.conflicts:
        click.secho(
            f"mlrig: {len(result.conflicts)} files have conflicts ({conflict} markers): "
            f"{', '.join(result.conflicts)}; resolve them, then commit",
            fg="red",
            err=True,
        )
    if not code:
        click.echo("Review the changes with `git diff`, then commit them.")
    return code


@main.command(short_help="Say whether a project is behind its template (fast, offline).")
@click.argument("dest", type=click.Path(path_type=Path), default=".")
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
def check(dest: Path, as_json: bool) -> int:
    """Say whether the project DEST (default: here) is on its template's newest version.

    Reads only the answers file and the template's version tags: fast and offline
    for the built-in template, so it fits a pre-commit hook.

    Exit codes: 0 current; 1 behind; 2 DEST is not a project (or a folder inside
    one) or its answers file is unusable; 3 the template unreachable;
    130 interrupted.
    """
    from mlrig.commands.check import check as run_check

    result = run_check(dest)
    if as_json:
        _echo_json(result.as_dict())
    elif result.behind:
        click.echo(
            f"{result.project.name} is behind its template: {result.current} -> {result.latest}; "
            "run `mlrig update`"
        )
    else:
        click.echo(f"{result.project.name} is on the newest template version {result.current}.")
    return 1 if result.behind else 0


# Commands for existing repositories: doctor, adopt, add.


@main.command(short_help="Diagnose a repository and say what to fix first.")
@click.argument("dest", type=click.Path(path_type=Path), default=".")
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
def doctor(dest: Path, as_json: bool) -> int:
    """Diagnose the git repository DEST (default: here) and say what to fix first.

    Checks CI and which stages its jobs cover (lint, tests, data checks, training
    smoke run, metric gate, image build, schedule), tests, dependency pinning,
    Dockerfiles (hadolint), workflow security (zizmor), files over 10 MB in git,
    notebooks no test runs, committed credentials and the mlrig template version.
    Reads only files git tracks or would add: ignored folders are never entered.
    Changes nothing.

    \b
    Exit codes: 0 no high-severity finding, 1 a high-severity finding,
    2 DEST is not a directory, not in a git repository or a folder inside
    an mlrig project, 3 git is missing or refuses the repository,
    130 interrupted.

    \b
    --json prints one object (keys are only ever added within schema 1):
      schema    1
      project   absolute path of DEST
      status    "problems" (a high finding) or "ok"
      summary   {"high": N, "medium": N, "low": N}
      facts     ci {providers, files, jobs [{file, name, covers}], covered, missing},
                stages {STAGE: {command, source, runnable, why}}, python {version,
                source, supported, requires}, tests {files, functions},
                dependencies {status, files},
                docker {dockerfiles, hadolint_findings}, workflow_security_findings,
                python_files, notebooks {count, tested}, large_files [{path, size,
                tracked}], secrets [{path, line, kind}] (never the value),
                mlrig {managed, template, current, latest, behind}, skipped_checks
      findings  ranked by severity, then impact: [{id, severity (high|medium|low),
                title, detail, fix (the command to run), paths}]
    """
    from mlrig.commands.doctor import doctor as run_doctor

    report = run_doctor(dest)
    if as_json:
        _echo_json(report.as_dict())
    else:
        click.echo(report.as_text())
    return 1 if report.has_high else 0


def _print_bring_in(result: AdoptResult, template: str | None = None) -> None:
    """Print the answers (with sources) and what happens to each file."""
    if result.inference is not None:
        click.echo("Answers (value, from):")
        for name, item in result.inference.answers.items():
            value = (
                result.answers.get(name, item.value)
                if isinstance(result.answers, Mapping)
                else getattr(result.answers, name, item.value)
            )
            shown = value
            if name.endswith("_command") and value == "":
                existing = getattr(result.answers, "existing_repo", False)
                shown = "(none)" if existing else "(the starter's)"
            if isinstance(shown, str) and "\n" in shown:
                shown = f"{shown.splitlines()[0]} (+{len(shown.splitlines()) - 1} lines)"
            source = "-d" if name in result.overrides else item.source
            note = f"  ({item.note})" if item.note and name not in result.overrides else ""
            if value != item.value and name not in result.overrides:
                note = "  (left out: see below)" if value == "none" else "  (set by mlrig)"
            click.echo(f"  {name:<20} {shown!s:<24} {source}{note}")
        unused = {
            kind: item
            for kind, item in result.inference.commands.items()
            if f"{kind}_command" not in result.inference.answers
        }
        for kind, item in unused.items():
            click.echo(f"  found, not used: {kind} command {item.value!r} ({item.source})")
    verbs = {"write": "write", "merge": "merge", "keep": "leave alone"}
    colours = {"write": "green", "merge": "yellow"}
    for action in result.files:
        detail = []
        if action.added_jobs:
            detail.append(f"jobs added: {', '.join(action.added_jobs)}")
        if action.kept_jobs:
            detail.append(f"your jobs kept: {', '.join(action.kept_jobs)}")
        line = f"  {verbs[action.action]:<12}{action.path}"
        click.secho(
            line + (f"  [{'; '.join(detail)}]" if detail else ""), fg=colours.get(action.action)
        )
        for note in action.notes:
            click.echo(f"      {note}")
    if result.left_out:
        click.echo("Left out (and what turns each on):")
        for left in result.left_out:
            click.echo(f"  {left.stage:<14} {left.reason}")
            for line in left.hint.splitlines():
                click.echo(f"      {line}")
    for finding in result.findings:
        click.secho(f"mlrig: invalid pipeline after the merge: {finding}", fg="red", err=True)
    if result.preview:
        click.echo("Preview only: nothing was changed.")
    else:
        linked = f"template {template}" if template else "the built-in template"
        click.echo(
            f"Linked to {linked} {result.version}. Review with `git status` and "
            "`git diff`, then commit."
        )


@main.command(
    short_help="Link an existing repository to mlrig's template.", epilog=_questions_epilog()
)
@click.argument("dest", type=click.Path(path_type=Path), default=".")
@_data_option("Override an inferred answer, e.g. -d framework=pytorch. Repeatable.")
@click.option(
    "--preview", is_flag=True, help="Show what would be written or merged; change nothing."
)
@click.option(
    "--template",
    metavar="SRC[@REF]",
    help="House template to link to instead of the built-in one (SRC as for mlrig new; "
    "default: the template of your mlrig config, if any).",
)
@_ref_option
@_trust_option
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
def adopt(
    dest: Path,
    data: dict[str, str],
    preview: bool,
    template: str | None,
    ref: str | None,
    trust: bool,
    as_json: bool,
) -> int:
    """Link the existing git repository DEST (default: here) to mlrig's template.

    Answers are inferred from the repository (each shown with its source). Files
    the repository lacks are written; existing GitHub workflows and .gitlab-ci.yml
    get mlrig's jobs merged in, keeping every byte of yours (a job you already
    have is kept as yours); every other existing file is left alone. The work
    tree must be clean; nothing is committed.

    Exit codes: 0 done (or previewed); 1 a merged pipeline does not validate;
    2 bad input (not git, invalid YAML, a symlink out of the repo, a bad or
    untrusted --template); 3 dirty tree, merge or rebase in progress, a
    read-only file, git refusing the repository, or an unreachable template;
    130 interrupted.

    --template links the repository to a house template (for example one made
    with `mlrig template init`) instead of the built-in one; the inferred answers
    it asks for are passed to it.
    """
    from mlrig.commands.adopt import adopt as run_adopt
    from mlrig.commands.new import choose_template
    from mlrig.config import load_config

    config = load_config(dest)
    spec = choose_template(config, template=template, ref=ref)
    trusted = trust or (spec is not None and config.is_trusted(spec.url))
    result = run_adopt(
        dest,
        overrides=data,
        preview=preview,
        template=spec,
        trust=trusted,
        progress=_progress(),
    )
    if as_json:
        _echo_json(result.as_dict())
    else:
        _print_bring_in(result, spec.url if spec else None)
    return 1 if result.findings else 0


@main.command(short_help="Add ci, docker, tests, monitoring or sync to a repository.")
@click.argument("component", type=click.Choice(["ci", "docker", "tests", "monitoring", "sync"]))
@click.argument("dest", type=click.Path(path_type=Path), default=".")
@click.option(
    "--preview", is_flag=True, help="Show what would be written or merged; change nothing."
)
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
def add(component: str, dest: Path, preview: bool, as_json: bool) -> int:
    """Add one COMPONENT of mlrig's template to the git repository DEST (default: here).

    A repository linked to mlrig gets the component at its recorded template
    version and answers; any other is adopted with only that component, running
    its own commands (not tests: mlrig writes no tests into a repository it did not
    create; monitoring needs its evaluate command and metrics file). Same rules as
    `mlrig adopt`.

    Exit codes: 0 done (or previewed); 1 a merged pipeline does not validate;
    2 bad input (not git, invalid YAML, tests for a repository mlrig did not
    create, a house template); 3 dirty tree, merge or rebase in progress, a
    read-only file, or git refusing the repository; 130 interrupted.
    """
    from typing import cast

    from mlrig.commands.adopt import Component
    from mlrig.commands.adopt import add as run_add

    result = run_add(cast(Component, component), dest, preview=preview)
    if as_json:
        _echo_json(result.as_dict())
    else:
        _print_bring_in(result)
    return 1 if result.findings else 0


# House templates: mlrig template init|test.


@main.group(short_help="Start and test a house template: your own copier template.")
def template() -> None:
    """Start and test a house template: your organisation's own copier template.

    A house template is a git repository whose version tags (v1.2.0) are its
    releases; projects start from it with `mlrig new NAME --template URL`.
    """


@template.command("init", short_help="Start a house template from the built-in one.")
@click.argument("dest", type=click.Path(path_type=Path))
def template_init(dest: Path) -> int:
    """Start a house template in DEST (a new or empty directory) from the built-in one.

    DEST gets the built-in template's copier.yml and project/, a test that runs
    `mlrig template test` on it, a GitHub workflow running that test, and a
    README on releasing and using it. It becomes a git repository with one
    commit, tagged v0.1.0.

    Exit codes: 0 created; 2 DEST is a file or not empty; 3 git is missing;
    130 interrupted.
    """
    from mlrig.commands.template_init import template_init as run_init

    result = run_init(dest)
    click.secho(
        f"Created house template {result.dest}: {len(result.files)} files, "
        f"commit {result.commit[:12]} tagged {result.tag}.",
        fg="green",
    )
    click.echo(
        f"Next: edit copier.yml and project/, check with `mlrig template test {result.dest} "
        "--ref HEAD`, push it with its tags, then `mlrig new NAME --template URL`."
    )
    return 0


@template.command("test", short_help="Render and validate every answer combination of a template.")
@click.argument("src", metavar="SRC[@REF]")
@click.option(
    "--ref",
    metavar="REF",
    help="Version to test: tag, branch, commit, or HEAD for the working copy with its "
    "uncommitted changes [default: the newest version tag].",
)
@click.option(
    "--matrix",
    type=click.Path(path_type=Path, dir_okay=False),
    help="YAML file mapping questions to the lists of values to multiply, e.g. "
    "`framework: [sklearn, none]`; replaces the enumeration of those questions.",
)
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    metavar="N",
    help="Render only N of the valid combinations, drawn deterministically with --seed.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --sample.")
@click.option(
    "--report",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the JSON report (schema 1) to FILE.",
)
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
@click.option("--trust", is_flag=True, help="Let the template run its tasks and Jinja extensions.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    help="Combinations rendered at once, each in its own process [default: number of CPUs].",
)
def template_test(
    src: str,
    ref: str | None,
    matrix: Path | None,
    sample: int | None,
    seed: int,
    report: Path | None,
    as_json: bool,
    trust: bool,
    jobs: int | None,
) -> int:
    """Render the answer combinations of template SRC and validate each rendered project.

    Choice and yes/no questions are multiplied (a question whose `when` is false
    is not asked, so not multiplied); free-form questions take their defaults.
    Combinations the template's validators reject are skipped. Each project is
    checked like mlrig's own template: workflow schemas, actionlint, zizmor,
    hadolint, yamllint, shellcheck, ruff, left-over Jinja. Progress goes to
    stderr as combinations finish, the report to stdout.

    Exit codes: 0 every rendered combination passes; 1 any fails; 2 bad input
    (SRC, --ref, --matrix); 3 SRC cannot be reached; 130 interrupted.
    """
    from mlrig._credentials import mask
    from mlrig.commands.template_test import Combination
    from mlrig.commands.template_test import template_test as run_test

    def progress(combo: Combination, done: int, total: int) -> None:
        if not as_json:
            click.echo(
                f"[{done:>{len(str(total))}}/{total}] {combo.status:<4} {combo.id}", err=True
            )

    if not as_json:
        click.echo(f"Testing template {src}...", err=True)
    result = run_test(
        src,
        ref=ref,
        matrix=matrix,
        sample=sample,
        seed=seed,
        trust=trust,
        jobs=jobs,
        on_result=progress,
    )
    text = _json_text(result.as_dict())
    if report is not None:
        try:
            report.write_text(mask(text) + "\n", encoding="utf-8")
        except OSError as exc:
            raise MlrigError(f"cannot write the report {report}: {exc.strerror}") from None
    if as_json:
        click.echo(text)
        return 0 if result.ok else 1
    colours = {"pass": "green", "fail": "red", "skipped": "yellow"}
    click.echo(f"{'status':<9}{'findings':>8}  combination")
    for combo in result.combinations:
        count = str(len(combo.findings)) if combo.status != "skipped" else "-"
        click.secho(f"{combo.status:<9}{count:>8}  {combo.id}", fg=colours[combo.status])
    for combo in result.combinations:
        if combo.status == "fail":
            click.secho(f"\n{combo.id}:", fg="red", bold=True)
            for finding in combo.findings:
                click.echo(f"  {finding}")
    sampled = (
        f", a sample of {result.sample} (seed {result.seed})" if result.sample is not None else ""
    )
    click.echo(
        f"\n{result.count('pass')} passed, {result.count('fail')} failed, "
        f"{result.count('skipped')} skipped of {result.enumerated} combinations{sampled} "
        f"in {result.seconds:.1f} s."
    )
    return 0 if result.ok else 1


# Many repositories at once: mlrig fleet check|update.


@main.group(short_help="Check or update many local clones at once.")
def fleet() -> None:
    """Check or update many local clones at once, with a table or a JSON report.

    Repositories are given as arguments and/or with --from FILE. A bad list
    (a missing path, the same repository twice, no repository) is refused with
    exit 2 before anything runs; a failing repository is reported as `error`
    and never stops the others. Progress goes to stderr, the report to stdout.
    """


def _fleet_options(command: click.Command) -> click.Command:
    """The arguments and options ``fleet check`` and ``fleet update`` share."""
    for param in (
        click.argument("repos", nargs=-1, type=click.Path(path_type=Path)),
        click.option(
            "--from",
            "from_file",
            # Not dir_okay=False: the one reader refuses a folder like a FIFO, in one line.
            type=click.Path(path_type=Path),
            help="File of repository paths, one a line; # comments; relative to the file.",
        ),
        click.option(
            "-j",
            "--jobs",
            type=click.IntRange(min=1),
            help="Repositories worked on at once [default: number of CPUs].",
        ),
        click.option("--json", "as_json", is_flag=True, help=_JSON_HELP),
    ):
        command = param(command)
    return command


@_fleet_options
@fleet.command("check", short_help="Report which repositories are behind their template.")
def fleet_check(
    repos: tuple[Path, ...], from_file: Path | None, jobs: int | None, as_json: bool
) -> int:
    """Report which repositories are behind their template; change nothing.

    Status per repository: current, behind (the message says when an update
    branch from `mlrig fleet update` is waiting for review) or error.

    Exit codes: 0 all current; 1 any behind or in error; 2 a bad list of
    repositories (nothing runs); 130 interrupted.
    """
    return _run_fleet("check", repos, from_file, jobs, as_json)


@_fleet_options
@fleet.command("update", short_help="Update each repository behind its template on a new branch.")
@click.option(
    "--trust",
    is_flag=True,
    help="Let the template run its tasks, migrations and Jinja extensions in every repository.",
)
def fleet_update(
    repos: tuple[Path, ...], from_file: Path | None, jobs: int | None, as_json: bool, trust: bool
) -> int:
    """Update each repository behind its template on a new branch mlrig/update-VERSION.

    The branch is made from HEAD and gets one commit; the checked-out branch and
    the work tree are never touched. Status per repository: updated, current
    (untouched), conflict (nothing committed, no branch: run `mlrig update` in it
    to resolve by hand), skipped (uncommitted changes) or error (also when the
    branch exists already; it is never overwritten). On Ctrl-C or SIGTERM every
    worker stops and leaves the repository in hand as it was, and no more are
    started; workers never outlive mlrig, even when it is killed.

    Exit codes: 0 all updated or current; 1 any other status; 2 a bad list of
    repositories (nothing runs); 130 interrupted.
    """
    return _run_fleet("update", repos, from_file, jobs, as_json, trust=trust)


_FLEET_COLOURS = {
    "current": "green",
    "updated": "green",
    "behind": "yellow",
    "skipped": "yellow",
    "conflict": "red",
    "error": "red",
}


def _run_fleet(
    command: str,
    repos: tuple[Path, ...],
    from_file: Path | None,
    jobs: int | None,
    as_json: bool,
    *,
    trust: bool = False,
) -> int:
    from mlrig.commands import fleet as core

    paths = list(repos)
    if from_file is not None:
        paths.extend(core.read_repo_list(from_file))
    done = 0

    def progress(status: core.RepoStatus) -> None:
        nonlocal done
        done += 1
        width = len(str(len(paths)))
        click.echo(
            f"[{done:>{width}}/{len(paths)}] {status.status:<8} {_shown(status.repo)}", err=True
        )

    if command == "check":
        result = core.fleet_check(paths, jobs=jobs, on_result=progress)
    else:
        result = core.fleet_update(paths, jobs=jobs, trust=trust, on_result=progress)
    if as_json:
        _echo_json(result.as_dict())
        return 0 if result.ok else 1
    header = ("REPO", "STATUS", "FROM", "TO")
    rows = [
        (_shown(r.repo), r.status, r.from_version or "-", r.to_version or "-", r.message)
        for r in result.repos
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    click.echo("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + "  MESSAGE")
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        cells[1] = click.style(cells[1], fg=_FLEET_COLOURS[row[1]])
        click.echo("  ".join(cells) + "  " + row[4])
    counts = ", ".join(f"{n} {status}" for status, n in result.counts().items() if n)
    click.echo(f"{len(rows)} repositories: {counts}.")
    return 0 if result.ok else 1


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when inside it, else absolute."""
    try:
        return path.relative_to(Path.cwd()).as_posix() or "."
    except ValueError:
        return str(path)


# Organisation defaults: mlrig config show.


def _trusted_by_config(project: Path) -> bool:
    """Whether the user config trusts the template recorded in ``project``'s answers file."""
    from mlrig._record import ANSWERS_FILE, read_record
    from mlrig.config import load_config

    if not (project / ANSWERS_FILE).is_file():
        return False  # update itself explains what is missing
    return load_config(project).is_trusted(read_record(project).src_path)


@main.group("config", short_help="Organisation defaults: template, preset answers, trust.")
def config_group() -> None:
    """Organisation defaults: the template, preset answers and trusted templates.

    \b
    Files, the later winning key by key:
      1. $XDG_CONFIG_HOME/mlrig/config.yml (~/.config/mlrig/config.yml),
         or instead the file named by $MLRIG_CONFIG (which must exist);
      2. .mlrig.yml at the root of the current git repository.
    \b
    Keys, all optional:
      template: gh:acme/ml-template@v2.0.0   # the default for mlrig new
      answers: {ci_provider: gitlab}         # presets; -d and --answers-file win
      trusted_prefixes: [https://github.com/acme/]   # user file only
    """


@config_group.command("show", short_help="Print each effective setting and where it came from.")
@click.argument("directory", type=click.Path(path_type=Path), default=".")
@click.option("--json", "as_json", is_flag=True, help=_JSON_HELP)
def config_show(directory: Path, as_json: bool) -> int:
    """Print each effective setting for DIRECTORY (default: here) and where it came from.

    Exit codes: 0 shown; 2 a config file is invalid; 130 interrupted.
    """
    import json

    from mlrig.commands.config import show_config

    result = show_config(directory)
    if as_json:
        _echo_json(result.as_dict())
        return 0
    width = max(len(entry.key) for entry in result.entries)
    for entry in result.entries:
        if entry.key == "template" and entry.value is None:
            shown = "(built-in)"
        elif entry.value == []:
            shown = "(none)"
        else:
            shown = entry.value if isinstance(entry.value, str) else json.dumps(entry.value)
        click.echo(f"{entry.key:<{width}}  {shown}  [{entry.origin}]")
    for path in result.searched:
        state = "read" if path in result.read else "not found"
        click.echo(f"config file {path}: {state}", err=True)
    return 0
