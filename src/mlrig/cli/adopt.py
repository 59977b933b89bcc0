"""``mlrig adopt``: the inferred answers, what happens to each file, what was left out."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlrig.cli._common import (
    data_option,
    echo_json,
    json_option,
    progress,
    questions_epilog,
    ref_option,
    trust_option,
)

if TYPE_CHECKING:
    from mlrig.commands.adopt import AdoptResult


def print_bring_in(result: AdoptResult, template: str | None = None) -> None:
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


@click.command(
    short_help="Link an existing repository to mlrig's template.", epilog=questions_epilog()
)
@click.argument("dest", type=click.Path(path_type=Path), default=".")
@data_option("Override an inferred answer, e.g. -d framework=pytorch. Repeatable.")
@click.option(
    "--preview", is_flag=True, help="Show what would be written or merged; change nothing."
)
@click.option(
    "--template",
    metavar="SRC[@REF]",
    help="House template to link to instead of the built-in one (SRC as for mlrig new; "
    "default: the template of your mlrig config, if any).",
)
@ref_option
@trust_option
@json_option
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
    from mlrig.commands._template_choice import choose_template_for
    from mlrig.commands.adopt import adopt as run_adopt

    choice = choose_template_for(dest, template=template, ref=ref, trust=trust)
    spec = choice.spec
    result = run_adopt(
        dest,
        overrides=data,
        preview=preview,
        template=spec,
        trust=choice.trusted,
        progress=progress(),
    )
    if as_json:
        echo_json(result.as_dict())
    else:
        print_bring_in(result, spec.url if spec else None)
    return 1 if result.findings else 0
