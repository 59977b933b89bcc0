"""``mlrig template init|test``: start a house template; a table of every combination."""

from __future__ import annotations

from pathlib import Path

import click

from mlrig.cli._common import json_option, json_text
from mlrig.errors import MlrigError


@click.group(short_help="Start and test a house template: your own copier template.")
def template() -> None:
    """Start and test a house template: your organisation's own copier template.

    A house template is a git repository whose version tags (v1.2.0) are its
    releases; projects start from it with `mlrig new NAME --template URL`.
    """


@template.command("init", short_help="Start a house template from the built-in one.")
@click.argument("dest", type=click.Path(path_type=Path))
def template_init(dest: Path) -> int:
    """Start a house template in DEST (a new or empty directory) from the built-in one.

    DEST gets the built-in template's copier.yml and project/, a test that runs
    `mlrig template test` on it, a GitHub workflow running that test, and a
    README on releasing and using it. It becomes a git repository with one
    commit, tagged v0.1.0.

    Exit codes: 0 created; 2 DEST is a file or not empty; 3 git is missing;
    130 interrupted.
    """
    from mlrig.commands.template_init import template_init as run_init

    result = run_init(dest)
    click.secho(
        f"Created house template {result.dest}: {len(result.files)} files, "
        f"commit {result.commit[:12]} tagged {result.tag}.",
        fg="green",
    )
    click.echo(
        f"Next: edit copier.yml and project/, check with `mlrig template test {result.dest} "
        "--ref HEAD`, push it with its tags, then `mlrig new NAME --template URL`."
    )
    return 0


@template.command("test", short_help="Render and validate every answer combination of a template.")
@click.argument("src", metavar="SRC[@REF]")
@click.option(
    "--ref",
    metavar="REF",
    help="Version to test: tag, branch, commit, or HEAD for the working copy with its "
    "uncommitted changes [default: the newest version tag].",
)
@click.option(
    "--matrix",
    type=click.Path(path_type=Path, dir_okay=False),
    help="YAML file mapping questions to the lists of values to multiply, e.g. "
    "`framework: [sklearn, none]`; replaces the enumeration of those questions.",
)
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    metavar="N",
    help="Render only N of the valid combinations, drawn deterministically with --seed.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --sample.")
@click.option(
    "--report",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also write the JSON report (schema 1) to FILE.",
)
@json_option
@click.option("--trust", is_flag=True, help="Let the template run its tasks and Jinja extensions.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    help="Combinations rendered at once, each in its own process [default: number of CPUs].",
)
def template_test(
    src: str,
    ref: str | None,
    matrix: Path | None,
    sample: int | None,
    seed: int,
    report: Path | None,
    as_json: bool,
    trust: bool,
    jobs: int | None,
) -> int:
    """Render the answer combinations of template SRC and validate each rendered project.

    Choice and yes/no questions are multiplied (a question whose `when` is false
    is not asked, so not multiplied); free-form questions take their defaults.
    Combinations the template's validators reject are skipped. Each project is
    checked like mlrig's own template: workflow schemas, actionlint, zizmor,
    hadolint, yamllint, shellcheck, ruff, left-over Jinja. Progress goes to
    stderr as combinations finish, the report to stdout.

    Exit codes: 0 every rendered combination passes; 1 any fails; 2 bad input
    (SRC, --ref, --matrix); 3 SRC cannot be reached; 130 interrupted.
    """
    from mlrig._credentials import mask
    from mlrig.commands.template_test import Combination
    from mlrig.commands.template_test import template_test as run_test

    def progress(combo: Combination, done: int, total: int) -> None:
        if not as_json:
            click.echo(
                f"[{done:>{len(str(total))}}/{total}] {combo.status:<4} {combo.id}", err=True
            )

    if not as_json:
        click.echo(f"Testing template {src}...", err=True)
    result = run_test(
        src,
        ref=ref,
        matrix=matrix,
        sample=sample,
        seed=seed,
        trust=trust,
        jobs=jobs,
        on_result=progress,
    )
    text = json_text(result.as_dict())
    if report is not None:
        try:
            report.write_text(mask(text) + "\n", encoding="utf-8")
        except OSError as exc:
            raise MlrigError(f"cannot write the report {report}: {exc.strerror}") from None
    if as_json:
        click.echo(text)
        return 0 if result.ok else 1
    colours = {"pass": "green", "fail": "red", "skipped": "yellow"}
    click.echo(f"{'status':<9}{'findings':>8}  combination")
    for combo in result.combinations:
        count = str(len(combo.findings)) if combo.status != "skipped" else "-"
        click.secho(f"{combo.status:<9}{count:>8}  {combo.id}", fg=colours[combo.status])
    for combo in result.combinations:
        if combo.status == "fail":
            click.secho(f"\n{combo.id}:", fg="red", bold=True)
            for finding in combo.findings:
                click.echo(f"  {finding}")
    sampled = (
        f", a sample of {result.sample} (seed {result.seed})" if result.sample is not None else ""
    )
    click.echo(
        f"\n{result.count('pass')} passed, {result.count('fail')} failed, "
        f"{result.count('skipped')} skipped of {result.enumerated} combinations{sampled} "
        f"in {result.seconds:.1f} s."
    )
    return 0 if result.ok else 1
