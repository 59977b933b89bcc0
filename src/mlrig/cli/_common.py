"""What every command's presenter shares: JSON output, the error and warning lines,
the options several commands declare, the terminal checks and progress.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from mlrig.answers import QUESTIONS
from mlrig.errors import InvalidInputError

if TYPE_CHECKING:
    from click.decorators import FC

    from mlrig._progress import Progress

JSON_HELP = (
    "Print one JSON object on stdout instead of text; an error is one too: "
    '{"error": {"message", "exit_code", "kind"}}.'
)


def json_text(data: object) -> str:
    """The JSON form of every report mlrig prints or writes."""
    import json

    return json.dumps(data, indent=2)


def echo_json(data: object) -> None:
    """Print ``data`` as the one JSON object of a ``--json`` command's stdout."""
    click.echo(json_text(data))


def error_object(message: str, exit_code: int, kind: str) -> dict[str, object]:
    """What a ``--json`` command prints instead of its result when it fails."""
    return {"error": {"message": message, "exit_code": exit_code, "kind": kind}}


def report_error(
    message: str, exit_code: int, kind: str, *, as_json: bool, color: bool | None = None
) -> None:
    """Say what went wrong: one red line on stderr, and under --json the error object on stdout."""
    if as_json:
        echo_json(error_object(message, exit_code, kind))
    click.secho(f"mlrig: error: {message}", fg="red", err=True, color=color)


def warn(message: str) -> None:
    """One yellow ``mlrig: warning:`` line on stderr."""
    click.secho(f"mlrig: warning: {message}", fg="yellow", err=True)


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


def data_option(help_text: str) -> Callable[[FC], FC]:
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


ref_option = click.option(
    "--ref",
    metavar="REF",
    help="Template version (tag, branch or commit) [default: the newest version tag].",
)
trust_option = click.option(
    "--trust",
    is_flag=True,
    help="Let the template run its tasks, migrations and Jinja extensions.",
)
json_option = click.option("--json", "as_json", is_flag=True, help=JSON_HELP)


def questions_epilog() -> str:
    """The built-in questions, their choices and defaults, for the help of new, update, adopt."""
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


def stdin_is_terminal() -> bool:
    """Whether a prompt can be answered (tests pretend a terminal by replacing this)."""
    return sys.stdin.isatty()


def stderr_is_terminal() -> bool:
    """Whether progress lines would be seen (tests pretend a terminal by replacing this)."""
    return sys.stderr.isatty()


def progress() -> Progress:
    """Show each phase of a long command on stderr, when stderr is a terminal.

    Never on stdout (which --json keeps for its one object), and not in logs or
    pipes, where the lines would bury the warnings and errors a script looks for.
    """
    from mlrig._progress import silent

    if not stderr_is_terminal():
        return silent

    def show(phase: str) -> None:
        click.secho(f"mlrig: {phase}...", dim=True, err=True)

    return show
