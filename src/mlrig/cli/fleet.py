"""``mlrig fleet check|update``: progress per repository, then one table or JSON."""

from __future__ import annotations

from pathlib import Path

import click

from mlrig.cli._common import echo_json, json_option


@click.group(short_help="Check or update many local clones at once.")
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
        json_option,
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
        echo_json(result.as_dict())
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
