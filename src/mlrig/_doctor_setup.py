"""Doctor's findings on how a repository is set up: dependencies, stage commands, Python,
and the mlrig template it records.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from mlrig._doctor_report import DoctorFinding, DoctorReport, FindingId, Severity, listed, plural
from mlrig._record import ANSWERS_FILE
from mlrig.answers import default_python

__all__ = ["dependency_findings", "stage_findings", "template_findings"]


def dependency_findings(report: DoctorReport) -> list[DoctorFinding]:
    deps = report.dependencies
    if deps.status == "unpinned":
        loose = f" Loose: {listed(list(deps.loose))}." if deps.loose else ""
        pyproject = any(PurePosixPath(f).name == "pyproject.toml" for f in deps.files)
        return [
            DoctorFinding(
                FindingId.DEPENDENCIES_UNPINNED,
                Severity.MEDIUM,
                "Dependencies are not pinned and there is no lock file",
                f"Declared in {', '.join(deps.files)} with version ranges: a training run "
                f"cannot be reproduced later.{loose}",
                _lock_fix(report, pyproject),
                deps.files,
            )
        ]
    if deps.status == "none" and report.python_files:
        return [
            DoctorFinding(
                FindingId.DEPENDENCIES_UNDECLARED,
                Severity.MEDIUM,
                "Dependencies are declared nowhere",
                "No pyproject.toml, requirements file, setup.py or environment.yml.",
                "uv init --bare && uv add PACKAGE...",
            )
        ]
    return []


def _lock_fix(report: DoctorReport, pyproject: bool) -> str:
    """A command that writes a lock file for how this repository declares its dependencies."""
    files = report.repo.files if report.repo else frozenset()
    manager = report.repo.package_manager.name if report.repo else "pip"
    if "requirements.in" in files:
        return "uv pip compile requirements.in -o requirements.txt"
    if pyproject and manager in ("poetry", "pdm"):
        return f"{manager} lock"
    if pyproject and report.repo is not None and "project" in report.repo.pyproject:
        return "uv lock"
    requirements = [f for f in report.dependencies.files if "requirements" in f]
    if requirements:
        return f"uv pip compile {requirements[0]} -o requirements.lock"
    conda = [f for f in report.dependencies.files if f.endswith(("environment.yml", ".yaml"))]
    if conda:
        return f"conda-lock -f {conda[0]}"
    return "uv pip compile pyproject.toml -o requirements.lock"


def stage_findings(report: DoctorReport) -> list[DoctorFinding]:
    """Stage commands that cannot run, CI Pythons requires-python refuses, a Python
    mlrig cannot serve."""
    repo = report.repo
    if repo is None:
        return []
    found: list[DoctorFinding] = []
    broken = [(s, c) for s, c in repo.stages.items() if s != "deploy" and not c.runnable]
    if broken:
        files = tuple(dict.fromkeys(c.source.split(":")[0] for _, c in broken))
        ignored = sorted(
            {m for _, c in broken for m in re.findall(r"reads (\S+), which git ignores", c.why)}
        )
        found.append(
            DoctorFinding(
                FindingId.STAGE_CANNOT_RUN,
                Severity.MEDIUM,
                f"{plural(len(broken), 'stage command')} cannot run in a fresh checkout",
                "; ".join(
                    f"{stage}: `{c.text.splitlines()[0]}` ({c.source}): {c.why}"
                    for stage, c in broken
                )
                + ".",
                f"git add -f {' '.join(ignored)}"
                if ignored
                else f"fix the command in {', '.join(files)}",
                files,
            )
        )
    python = repo.python
    if python.requires:
        refused = [
            (job, version)
            for job in repo.ci_jobs
            for version in job.pythons
            if not python.allows(version)
        ]
        if refused:
            choices = [f"3.{minor}" for minor in range(8, 16) if python.allows(f"3.{minor}")]
            files = tuple(dict.fromkeys(job.file for job, _ in refused))
            found.append(
                DoctorFinding(
                    FindingId.CI_PYTHON,
                    Severity.MEDIUM,
                    "CI runs a Python that requires-python does not allow",
                    f"requires-python is {python.requires!r}; "
                    + ", ".join(f"{job.name} ({job.file}) uses {v}" for job, v in refused)
                    + ": installing the package fails there.",
                    f"use Python {choices[0]} in {', '.join(files)}"
                    if choices
                    else "fix requires-python in pyproject.toml",
                    files,
                )
            )
    if not python.supported and not report.managed:
        choice = re.search(r"-d python_version=(\S+)", python.why)
        found.append(
            DoctorFinding(
                FindingId.PYTHON_UNSUPPORTED,
                Severity.MEDIUM,
                f"mlrig cannot serve this repository's Python {python.version}".rstrip(),
                python.why + ".",
                f"mlrig adopt -d python_version={choice.group(1) if choice else default_python()}",
                (python.source.split(" ")[0],) if python.source else (),
            )
        )
    return found


def template_findings(report: DoctorReport) -> list[DoctorFinding]:
    template = report.template
    if not report.managed:
        return [
            DoctorFinding(
                FindingId.NOT_MANAGED,
                Severity.LOW,
                "Not managed by mlrig",
                "mlrig can take over the pipeline and keep it current, keeping your own jobs.",
                "mlrig adopt",
            )
        ]
    if template is None or template.problem:
        problem = template.problem if template else "no template record"
        return [
            DoctorFinding(
                FindingId.TEMPLATE_UNKNOWN,
                Severity.LOW,
                "The template version cannot be checked",
                problem,
                "mlrig check",
                (ANSWERS_FILE,),
            )
        ]
    if template.latest is not None and template.current != template.latest:
        behind = plural(template.behind, "version") if template.behind else "Versions"
        return [
            DoctorFinding(
                FindingId.TEMPLATE_BEHIND,
                Severity.MEDIUM,
                f"{behind} behind the template: {template.current} -> {template.latest}",
                f"Template {template.template}.",
                "mlrig update",
                (ANSWERS_FILE,),
            )
        ]
    return []
