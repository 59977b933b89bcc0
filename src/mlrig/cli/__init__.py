"""The command line: parse, prompt, print, and map errors to exit codes — nothing else.

Exit codes: 0 success; 1 a finding; 2 usage or invalid input; 3 environment
problem (no git, a missing tool); 130 interrupted.

This package holds the group and its one error handler; each command's presenter
is a module of its own (``mlrig.cli.new``, ``mlrig.cli.doctor``, ...), and what
they share is in :mod:`mlrig.cli._common`. What a command decides lives in
:mod:`mlrig.commands`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from mlrig._version import __version__
from mlrig.cli import add, adopt, check, config, doctor, fleet, new, template, update
from mlrig.cli._common import echo_json, error_object, report_error
from mlrig.errors import Interrupted, MlrigError

__all__ = ["main"]

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
            report_error(str(exc), exc.exit_code, exc.kind, as_json=as_json)
            ctx.exit(exc.exit_code)
        except (KeyboardInterrupt, click.Abort):
            message = "interrupted; nothing was written"
            if as_json:
                echo_json(error_object(message, EXIT_INTERRUPTED, Interrupted.kind))
            click.secho(f"mlrig: {message}", fg="red", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        ctx.exit(code or 0)


def _asks_json(args: Sequence[str]) -> bool:
    """Whether ``--json`` is among the options of ``args`` (those before a ``--``)."""
    options = args[: list(args).index("--")] if "--" in args else args
    return "--json" in options


def _report_usage_error(exc: click.UsageError, *, as_json: bool, color: bool | None = None) -> None:
    """One line for click's three (Usage, Try, Error), ending with where the help is."""
    message = " ".join(exc.format_message().split()).rstrip(".")
    if message[:2].istitle():  # "No such option" -> "no such option", but "DEST ..." stays
        message = message[0].lower() + message[1:]
    if exc.ctx is not None:
        message += f" (see {exc.ctx.command_path} --help)"
    report_error(message, EXIT_USAGE, "usage", as_json=as_json, color=color)


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


for _command in (
    new.new,
    update.update,
    check.check,
    doctor.doctor,
    adopt.adopt,
    add.add,
    template.template,
    fleet.fleet,
    config.config_group,
):
    main.add_command(_command)
