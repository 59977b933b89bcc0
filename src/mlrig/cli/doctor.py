"""``mlrig doctor``: the report as a table of facts and ranked findings, or JSON."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlrig.cli._common import echo_json, json_option

if TYPE_CHECKING:
    from mlrig.commands.doctor import DoctorReport


@click.command(short_help="Diagnose a repository and say what to fix first.")
@click.argument("dest", type=click.Path(path_type=Path), default=".")
@json_option
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
        click.echo(render(report))
    return 1 if report.has_high else 0


def render(report: DoctorReport, width: int = 100) -> str:
    """The facts, then the findings as a table (severity, finding, fix), for a terminal."""
    from mlrig._credentials import mask
    from mlrig._doctor_report import SEVERITIES, plural

    lines = [f"mlrig doctor: {report.project}", ""]
    lines += [f"  {label:<14}{value}" for label, value in _facts(report)]
    lines.append("")
    if not report.findings:
        lines.append("No problems found.")
        return "\n".join(lines)
    title_width = min(max(len(f.title) for f in report.findings), 56)
    lines.append(f"  {'SEVERITY':<9}{'FINDING':<{title_width + 2}}FIX")
    wrap_width = max(width - 11, 40)
    for finding in report.findings:
        title = textwrap.shorten(finding.title, title_width, placeholder="...")
        lines.append(f"  {finding.severity.value:<9}{title:<{title_width + 2}}{finding.fix}")
        detail = f"[{finding.id.value}] {finding.detail}"
        lines += textwrap.wrap(
            # Masked before wrapping: a URL broken across two lines would hide its
            # token from the CLI's masking.
            mask(detail),
            wrap_width,
            initial_indent=" " * 11,
            subsequent_indent=" " * 11,
            break_on_hyphens=False,
        )
    counts = ", ".join(
        f"{n} {s.value}" for s in SEVERITIES if (n := sum(f.severity is s for f in report.findings))
    )
    lines += ["", f"{plural(len(report.findings), 'finding')} ({counts})."]
    return "\n".join(lines)


def _facts(report: DoctorReport) -> list[tuple[str, str]]:
    from mlrig._doctor_ci import STAGES
    from mlrig._doctor_report import plural

    ci = report.ci
    if ci.files:
        covered = [STAGES[s] for s in STAGES if s not in ci.missing]
        missing = [STAGES[s] for s in ci.missing]
        ci_text = (
            f"{', '.join(ci.providers)} ({plural(len(ci.jobs), 'job')} in "
            f"{plural(len(ci.files), 'file')}); "
            f"covers {', '.join(covered) or 'nothing'}"
            + (f"; missing {', '.join(missing)}" if missing else "")
        )
    else:
        ci_text = "none"
    template = report.template
    if not report.managed:
        managed = "not managed"
    elif template is None or template.latest is None:
        managed = "managed; template version unknown"
    elif template.current == template.latest:
        managed = f"managed, current ({template.current})"
    else:
        managed = f"managed, {template.current} -> {template.latest} available"
    deps = report.dependencies
    return [
        ("CI", ci_text),
        (
            "Tests",
            f"{plural(len(report.tests.files), 'file')}, "
            f"{plural(report.tests.functions, 'test function')}",
        ),
        ("Dependencies", deps.status + (f" ({', '.join(deps.files)})" if deps.files else "")),
        ("Docker", ", ".join(report.dockerfiles) or "no Dockerfile"),
        (
            "Notebooks",
            f"{len(report.notebooks)}" + (" (run by tests)" if report.notebooks_tested else ""),
        ),
        ("Large files", str(len(report.large_files))),
        ("Secrets", str(len(report.secrets))),
        ("mlrig", managed),
    ]
