"""``mlrig update``: show what changed, what conflicts and what to do next, and write
the ``--summary`` file the template-sync job opens its request from."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlrig.cli._common import data_option, echo_json, json_option, progress, questions_epilog, warn

if TYPE_CHECKING:
    from mlrig.commands._update_result import ConflictMode


@click.command(
    short_help="Update a project to a newer template version, keeping your edits.",
    epilog=questions_epilog(),
)
@click.argument("dest", type=click.Path(path_type=Path), default=".")
@click.option("--to", "to", metavar="REF", help="Template version to update to [default: newest].")
@data_option(
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
@click.option(
    "--summary",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="For the template-sync job: when the update changes files, write FILE with the "
    "pull/merge request to open (title on line 1, an empty line, then the Markdown body "
    "listing the conflicts to resolve); when it changes nothing or fails, remove FILE. "
    "Not with --preview.",
)
@json_option
def update(
    dest: Path,
    to: str | None,
    data: dict[str, str],
    preview: bool,
    conflict: str,
    trust: bool,
    summary: Path | None,
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

    \b
    --summary FILE is for the template-sync job (.mlrig/template-sync.sh), which
    opens a pull or merge request from it: FILE's line 1 is the title (ending in
    "(conflicts to resolve in N files)" when conflicts are left), line 2 is empty,
    the rest is the Markdown body. FILE is written only when the update changed
    files; when it changes nothing or fails, FILE is removed.
    """
    from mlrig.commands._template_choice import project_trusted
    from mlrig.commands._update_summary import clear_summary, request_text, write_summary
    from mlrig.commands.update import update as run_update

    mode: ConflictMode = "rej" if conflict == "rej" else "inline"
    if summary is not None:
        if preview:
            raise click.UsageError(
                "--summary cannot be combined with --preview: a preview opens no request",
                ctx=click.get_current_context(),
            )
        clear_summary(summary)
    result = run_update(
        dest,
        to=to,
        data=data,
        preview=preview,
        conflict=mode,
        trust=project_trusted(dest, trust=trust),
        progress=progress(),
    )
    if summary is not None:
        write_summary(summary, request_text(result, mode))
    code = 1 if not preview and (result.conflicts or result.findings) else 0
    if result.lock_problem is not None:
        warn(result.lock_problem)
    if as_json:
        echo_json(result.as_dict())
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
