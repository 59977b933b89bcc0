"""``mlrig add COMPONENT``: the same report as adopt's, for one component."""

from __future__ import annotations

from pathlib import Path

import click

from mlrig.cli._common import echo_json, json_option
from mlrig.cli.adopt import print_bring_in


@click.command(short_help="Add ci, docker, tests, monitoring or sync to a repository.")
@click.argument("component", type=click.Choice(["ci", "docker", "tests", "monitoring", "sync"]))
@click.argument("dest", type=click.Path(path_type=Path), default=".")
@click.option(
    "--preview", is_flag=True, help="Show what would be written or merged; change nothing."
)
@json_option
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
        echo_json(result.as_dict())
    else:
        print_bring_in(result)
    return 1 if result.findings else 0
