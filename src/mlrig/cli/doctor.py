"""``mlrig doctor``: the report as a table of facts and ranked findings, or JSON."""

from __future__ import annotations

from pathlib import Path

import click

from mlrig.cli._common import JSON_HELP, echo_json


@click.command(short_help="Diagnose a repository and say what to fix first.")
@click.argument("dest", type=click.Path(path_type=Path), default=".")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
def doctor(dest: Path, as_json: bool) -> int:
    """Diagnose the git repository DEST (default: here) and say what to fix first.

    Checks CI and which stages its jobs cover (lint, tests, data checks, training
    smoke run, metric gate, image build, schedule), tests, dependency pinning,
    Dockerfiles (hadolint), workflow security (zizmor), files over 10 MB in git,
    notebooks no test runs, committed credentials and the mlrig template version.
    Reads only files git tracks or would add: ignored folders are never entered.
    Changes nothing.

    \b
    Exit codes: 0 no high-severity finding, 1 a high-severity finding,
    2 DEST is not a directory, not in a git repository or a folder inside
    an mlrig project, 3 git is missing or refuses the repository,
    130 interrupted.

    \b
    --json prints one object (keys are only ever added within schema 1):
      schema    1
      project   absolute path of DEST
      status    "problems" (a high finding) or "ok"
      summary   {"high": N, "medium": N, "low": N}
      facts     ci {providers, files, jobs [{file, name, covers}], covered, missing},
                stages {STAGE: {command, source, runnable, why}}, python {version,
                source, supported, requires}, tests {files, functions},
                dependencies {status, files},
                docker {dockerfiles, hadolint_findings}, workflow_security_findings,
                python_files, notebooks {count, tested}, large_files [{path, size,
                tracked}], secrets [{path, line, kind}] (never the value),
                mlrig {managed, template, current, latest, behind}, skipped_checks
      findings  ranked by severity, then impact: [{id, severity (high|medium|low),
                title, detail, fix (the command to run), paths}]
    """
    from mlrig.commands.doctor import doctor as run_doctor

    report = run_doctor(dest)
    if as_json:
        echo_json(report.as_dict())
    else:
        click.echo(report.as_text())
    return 1 if report.has_high else 0
