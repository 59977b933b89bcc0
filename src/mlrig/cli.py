"""The command line: parse, prompt, print, and map errors to exit codes — nothing else.

Exit codes: 0 success; 1 a finding; 2 usage or invalid input; 3 environment
problem (no git, a missing tool); 130 interrupted.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from mlrig._version import __version__
from mlrig.answers import QUESTIONS, Question
from mlrig.errors import MlrigError

EXIT_INTERRUPTED = 130


class _Group(click.Group):
    """The single error handler: a user error becomes one red line, never a traceback."""

    def invoke(self, ctx: click.Context) -> None:
        try:
            code = super().invoke(ctx)
        except MlrigError as exc:
            click.secho(f"mlrig: error: {exc}", fg="red", err=True)
            ctx.exit(exc.exit_code)
        except (KeyboardInterrupt, click.Abort):
            click.secho("mlrig: interrupted; nothing was written", fg="red", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        ctx.exit(code or 0)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mlrig")
def main() -> None:
    """mlrig: CI/CD for small machine-learning teams, in one command.

    Exit codes: 0 success, 1 a finding, 2 usage or invalid input,
    3 environment problem (no git, missing tool), 130 interrupted.
    """


def _parse_data(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    data: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE")
        data[key.strip()] = value
    return data


def _questions_epilog() -> str:
    lines = ["\b", "Questions (KEY for -d, then its choices and [default]):"]
    for question in QUESTIONS:
        default = "DEST's folder name" if question.name == "project_name" else question.default
        if isinstance(default, bool):
            default = "yes" if default else "no"
        choices = " | ".join(question.choices) or question.help
        lines.append(f"  {question.name:<20} {choices} [{default}]")
    return "\n".join(lines)


@main.command(epilog=_questions_epilog())
@click.argument("dest", type=click.Path(path_type=Path))
@click.option(
    "-d",
    "--data",
    "data",
    multiple=True,
    metavar="KEY=VALUE",
    callback=_parse_data,
    help="Answer a question, e.g. -d framework=pytorch. Repeatable; wins over --answers-file.",
)
@click.option(
    "--answers-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="YAML file of answers, e.g. another project's .copier-answers.yml.",
)
@click.option("--defaults", is_flag=True, help="Take the default for every unanswered question.")
@click.option(
    "--dry-run", is_flag=True, help="List the files that would be written; write nothing."
)
@click.option("--no-git", is_flag=True, help="Do not make DEST a git repository.")
def new(
    dest: Path,
    data: dict[str, str],
    answers_file: Path | None,
    defaults: bool,
    dry_run: bool,
    no_git: bool,
) -> None:
    """Create a new ML project in DEST (a new or empty directory).

    In a terminal, unanswered questions are asked. Without one, they take their
    defaults under --defaults; otherwise mlrig fails and lists them. DEST becomes
    a git repository with one initial commit unless --no-git is given.
    """
    from mlrig.answers import load_answers_file, resolve_answers
    from mlrig.commands.new import check_destination
    from mlrig.commands.new import new as run_new

    check_destination(dest)
    given: dict[str, object] = load_answers_file(answers_file) if answers_file else {}
    given.update(data)
    interactive = not defaults and _stdin_is_terminal()
    answers = resolve_answers(
        given,
        project_default=Path(os.path.abspath(dest)).name,
        use_defaults=defaults,
        ask=_ask if interactive else None,
    )
    result = run_new(dest, answers=answers, git=not no_git, dry_run=dry_run)
    for warning in result.warnings:
        click.secho(f"mlrig: warning: {warning}", fg="yellow", err=True)
    if result.dry_run:
        click.echo(f"Would create {result.dest} with {len(result.files)} files:")
        for name in result.files:
            click.echo(f"  {name}")
        return
    commit = f", initial commit {result.commit[:12]}" if result.commit else ""
    click.secho(f"Created {result.dest}: {len(result.files)} files{commit}.", fg="green")
    install, run = (
        ("uv sync --extra dev", "uv run ")
        if answers.package_manager == "uv"
        else ('python -m pip install -e ".[dev]"', "")
    )
    click.echo(f"Next: cd {result.dest} && {install} && {run}pytest")


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


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


@main.command()
@click.argument("dest", type=click.Path(path_type=Path), default=".")
@click.option("--to", "to", metavar="REF", help="Template version to update to [default: newest].")
@click.option("--preview", is_flag=True, help="List what would change; change nothing.")
@click.option(
    "--conflict",
    type=click.Choice(["inline", "rej"]),
    default="inline",
    show_default=True,
    help="Leave conflicts as inline markers, or as .rej files beside the originals.",
)
def update(dest: Path, to: str | None, preview: bool, conflict: str) -> int:
    """Update the project in DEST (default: here) to a newer template version.

    Your edits are kept: copier's 3-way merge re-applies them on top of the new
    template. The work tree must be clean; the result is left uncommitted for you
    to review. Exit 0 when updated or already current, 1 when conflicts are left
    or the merged pipeline files do not validate.
    """
    from mlrig.commands.update import update as run_update

    result = run_update(
        dest, to=to, preview=preview, conflict="rej" if conflict == "rej" else "inline"
    )
    if result.from_version == result.to_version:
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
    if result.conflicts or result.findings:
        return 1
    click.echo("Review the changes with `git diff`, then commit them.")
    return 0


@main.command()
@click.argument("dest", type=click.Path(path_type=Path), default=".")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def check(dest: Path, as_json: bool) -> int:
    """Exit 0 when DEST (default: here) is on its template's newest version, 1 when behind.

    Reads only the answers file and the template's version tags: fast and offline
    for the built-in template, so it fits a pre-commit hook.
    """
    from mlrig.commands.check import check as run_check

    result = run_check(dest)
    if as_json:
        import json

        click.echo(json.dumps(result.as_dict(), indent=2))
    elif result.behind:
        click.echo(
            f"{result.project.name} is behind its template: {result.current} -> {result.latest}; "
            "run `mlrig update`"
        )
    else:
        click.echo(f"{result.project.name} is on the newest template version {result.current}.")
    return 1 if result.behind else 0


# Commands for existing repositories: doctor, adopt, add.


# House templates: mlrig template init|test.


# Many repositories at once: mlrig fleet check|update.


# Organisation defaults: mlrig config show.
