"""``mlrig check``: say whether a project is behind its template."""

from __future__ import annotations

from pathlib import Path

import click

from mlrig.cli._common import echo_json, json_option


@click.command(short_help="Say whether a project is behind its template (fast, offline).")
@click.argument("dest", type=click.Path(path_type=Path), default=".")
@json_option
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
        echo_json(result.as_dict())
    elif result.behind:
        click.echo(
            f"{result.project.name} is behind its template: {result.current} -> {result.latest}; "
            "run `mlrig update`"
        )
    else:
        click.echo(f"{result.project.name} is on the newest template version {result.current}.")
    return 1 if result.behind else 0
