"""The command line: parse, prompt, print, and map errors to exit codes — nothing else.

Exit codes: 0 success; 1 a finding; 2 usage or invalid input; 3 environment
problem (no git, a missing tool); 130 interrupted.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from mlrig._version import __version__
from mlrig.answers import QUESTIONS, Question
from mlrig.errors import MlrigError

EXIT_INTERRUPTED = 130


class _Group(click.Group):
    """The single error handler: a user error becomes one red line, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MlrigError as exc:
            click.secho(f"mlrig: error: {exc}", fg="red", err=True)
            ctx.exit(exc.exit_code)
        except (KeyboardInterrupt, click.Abort):
            click.secho("mlrig: interrupted; nothing was written", fg="red", err=True)
            ctx.exit(EXIT_INTERRUPTED)


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
