"""``mlrig new``: ask what is missing, show what was made and what to run next."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlrig.cli import _common
from mlrig.cli._common import (
    JSON_HELP,
    data_option,
    echo_json,
    progress,
    questions_epilog,
    ref_option,
    trust_option,
    warn,
)

if TYPE_CHECKING:
    from mlrig.answers import Question
    from mlrig.template_info import TemplateQuestion

__all__ = ["new"]


@click.command("new", short_help="Create a new ML project.", epilog=questions_epilog())
@click.argument("dest", type=click.Path(path_type=Path))
@data_option("Answer a question, e.g. -d framework=pytorch. Repeatable; wins over --answers-file.")
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
@ref_option
@trust_option
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP + " Never prompts.")
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
    from mlrig.commands.create import create

    # A prompt would land in the JSON on stdout.
    interactive = not defaults and not as_json and _common.stdin_is_terminal()
    created = create(
        dest,
        data=data,
        answers_file=answers_file,
        use_defaults=defaults,
        template=template,
        ref=ref,
        trust=trust,
        ask=_ask if interactive else None,
        ask_template=_ask_template if interactive else None,
        git=not no_git,
        dry_run=dry_run,
        progress=progress(),
    )
    result = created.result
    for warning in result.warnings:
        warn(warning)
    if result.lock_problem is not None:
        warn(result.lock_problem)
    if as_json:
        echo_json(result.as_dict())
        return
    if result.dry_run:
        click.echo(f"Would create {result.dest} with {len(result.files)} files:")
        for name in result.files:
            click.echo(f"  {name}")
        return
    commit = f", initial commit {result.commit[:12]}" if result.commit else ""
    click.secho(f"Created {result.dest}: {len(result.files)} files{commit}.", fg="green")
    if created.answers is None:
        return
    if created.answers.package_manager == "uv":
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
