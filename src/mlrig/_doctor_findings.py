"""What doctor concludes from the facts it gathered: the findings, each with its fix.

Each rule reads a :class:`~mlrig._doctor_report.DoctorReport`'s facts and adds a
typed :class:`~mlrig._doctor_report.DoctorFinding`; :func:`with_findings` ranks them.
"""

from __future__ import annotations

import re
from dataclasses import replace

from mlrig._doctor_ci import STAGES
from mlrig._doctor_report import (
    MAX_LISTED,
    SEVERITIES,
    DoctorFinding,
    DoctorReport,
    FindingId,
    Severity,
    ToolFinding,
    listed,
    plural,
)
from mlrig._doctor_setup import dependency_findings, stage_findings, template_findings
from mlrig._files import read_text
from mlrig._repo import MAX_BYTES
from mlrig.errors import InvalidInputError

__all__ = ["MB", "with_findings"]

MB = 1024 * 1024
# GitHub rejects pushes with files over 100 MB.
_HARD_LIMIT = 100 * MB
_DATA_FILE = re.compile(
    r"\.(?:csv|tsv|jsonl?|parquet|feather|arrow|avro|orc|h5|hdf5|npy|npz|pkl|pickle|joblib|pt|pth"
    r"|ckpt|onnx|safetensors|tflite|pb|bin|db|sqlite|zip|gz|tar|tgz)$",
    re.IGNORECASE,
)
_SYNC = re.compile(r"\b(?:mlrig|copier) update\b")


def with_findings(report: DoctorReport, size_limit: int) -> DoctorReport:
    """``report`` with its findings, ranked by severity, then impact (:data:`IMPACT`)."""
    findings = [
        *_secret_findings(report),
        *_ci_findings(report),
        *stage_findings(report),
        *_security_findings(report),
        *_file_findings(report, size_limit),
        *dependency_findings(report),
        *template_findings(report),
    ]
    findings.sort(key=lambda f: f.rank)
    return replace(report, findings=tuple(findings))


def _behind(report: DoctorReport) -> bool:
    """Whether a newer template version exists (which may bring what is missing)."""
    template = report.template
    return template is not None and bool(template.behind)


def _secret_findings(report: DoctorReport) -> list[DoctorFinding]:
    if not report.secrets:
        return []
    places = [f"{s.path}:{s.line} ({s.kind})" for s in report.secrets]
    return [
        DoctorFinding(
            FindingId.COMMITTED_SECRETS,
            Severity.HIGH,
            f"{plural(len(report.secrets), 'credential')} committed",
            f"{listed(places)}. Anyone with the repository can use them: revoke and rotate "
            "them first, then remove them from the files and from git history, and read "
            "them from the environment or a secret store instead.",
            "git filter-repo --replace-text FILE-LISTING-THE-SECRETS (after rotating them)",
            tuple(dict.fromkeys(s.path for s in report.secrets)),
        )
    ]


def _ci_findings(report: DoctorReport) -> list[DoctorFinding]:
    ci = report.ci
    found: list[DoctorFinding] = []
    if ci.problems:
        found.append(
            DoctorFinding(
                FindingId.CI_UNPARSABLE,
                Severity.MEDIUM,
                "Pipeline files that do not parse",
                listed(list(ci.problems)),
                "yamllint " + " ".join(p.split(":", 1)[0] for p in ci.problems),
                tuple(p.split(":", 1)[0] for p in ci.problems),
            )
        )
    if report.unread:
        paths = tuple(path for path, _ in report.unread)
        found.append(
            DoctorFinding(
                FindingId.FILES_UNREADABLE,
                Severity.MEDIUM,
                f"{plural(len(paths), 'file')} mlrig cannot read",
                "; ".join(why for _, why in report.unread[:MAX_LISTED])
                + ". What they hold is not checked.",
                "replace with a regular file inside the repository, or remove",
                paths,
            )
        )
    if not ci.files:
        found.append(
            DoctorFinding(
                FindingId.NO_CI,
                Severity.HIGH,
                "No CI pipeline",
                "Nothing lints, tests, checks data, runs a training smoke run or gates on a "
                "metric when someone pushes.",
                "mlrig add ci",
            )
        )
    elif not ci.problems:
        wanted = [s for s in STAGES if s not in {"schedule", "image_build"}]
        if report.dockerfiles:
            wanted.append("image_build")
        missing = [s for s in wanted if s in ci.missing]
        if missing:
            covered = [
                f"{STAGES[s]} ({', '.join(ci.covered(s))})" for s in wanted if s not in missing
            ]
            remote = (
                f" Includes from other projects were not inspected ({ci.remote_includes})."
                if ci.remote_includes
                else ""
            )
            found.append(
                DoctorFinding(
                    FindingId.CI_GAPS,
                    Severity.MEDIUM,
                    f"CI misses {plural(len(missing), 'pipeline stage')}",
                    f"Missing: {', '.join(STAGES[s] for s in missing)}. "
                    f"Covered: {', '.join(covered) or 'nothing'}.{remote}",
                    "mlrig update" if _behind(report) else "mlrig add ci",
                    ci.files,
                )
            )
    if ci.files and "schedule" in ci.missing:
        found.append(
            DoctorFinding(
                FindingId.NO_MONITORING,
                Severity.LOW,
                "No scheduled monitoring run",
                "No pipeline runs on a schedule, so model quality on fresh data is never "
                "re-checked between pushes.",
                # On a repository mlrig did not create, monitoring runs its own evaluate
                # command; `add monitoring` names the answers it lacks, if any.
                "mlrig add monitoring",
            )
        )
    if not report.tests.files:
        found.append(
            DoctorFinding(
                FindingId.NO_TESTS,
                Severity.MEDIUM,
                "No tests",
                "No test_*.py or *_test.py file: a change that breaks data loading or "
                "training is noticed only in production.",
                # The starter's tests need the starter package; adopt brings pipeline, not
                # code, so a repository mlrig did not create writes its own.
                "mlrig add tests" if report.managed else "write tests/test_*.py (pytest)",
            )
        )
    if report.notebooks and not report.notebooks_tested:
        found.append(
            DoctorFinding(
                FindingId.UNTESTED_NOTEBOOKS,
                Severity.MEDIUM if not report.tests.files else Severity.LOW,
                f"{plural(len(report.notebooks), 'notebook')} no test runs",
                f"{listed(list(report.notebooks))}. Move the code they define into the "
                "package and test it there, or execute the notebooks in the tests "
                "(pytest --nbmake).",
                "mlrig add tests"
                if report.managed
                else "pip install nbmake && pytest --nbmake " + " ".join(report.notebooks[:3]),
                report.notebooks,
            )
        )
    if report.managed and ci.files and not any(_SYNC.search(_read(report, f)) for f in ci.files):
        found.append(
            DoctorFinding(
                FindingId.NO_TEMPLATE_SYNC,
                Severity.LOW,
                "No scheduled template sync",
                "Nothing proposes template updates, so the pipeline falls behind silently.",
                "mlrig add sync",
            )
        )
    return found


def _read(report: DoctorReport, path: str) -> str:
    # A pipeline mlrig cannot read is in the model's ci_problems already.
    try:
        return read_text(report.project / path, what=path, limit=MAX_BYTES, root=report.project)
    except InvalidInputError:
        return ""


def _security_findings(report: DoctorReport) -> list[DoctorFinding]:
    found: list[DoctorFinding] = []
    zizmor = report.workflow_security
    if zizmor:
        rules: dict[str, int] = {}
        for item in zizmor:
            rules[item.rule] = rules.get(item.rule, 0) + 1
        workflows = sorted({item.place.rsplit(":", 1)[0] for item in zizmor if item.place})
        summary = ", ".join(f"{rule} x{count}" for rule, count in rules.items())
        found.append(
            DoctorFinding(
                FindingId.WORKFLOW_SECURITY,
                _worst(zizmor),
                f"{plural(len(zizmor), 'workflow security finding')} (zizmor, pedantic)",
                f"{summary}. See each one with "
                f"`zizmor --persona=pedantic {' '.join(workflows)}`; pipelines from "
                "`mlrig add ci` pin actions by SHA and use least-privilege permissions.",
                f"zizmor --persona=pedantic --fix=all {' '.join(workflows)}".strip(),
                tuple(workflows),
            )
        )
    hadolint = report.hadolint
    if hadolint:
        lines = [f"{item.place} {item.rule} {item.message}" for item in hadolint]
        found.append(
            DoctorFinding(
                FindingId.DOCKERFILE_LINT,
                _worst(hadolint),
                f"{plural(len(hadolint), 'Dockerfile finding')} (hadolint)",
                listed(lines),
                f"hadolint {' '.join(report.dockerfiles)}",
                report.dockerfiles,
            )
        )
    if not report.dockerfiles:
        found.append(
            DoctorFinding(
                FindingId.NO_DOCKERFILE,
                Severity.LOW,
                "No Dockerfile",
                "Training and serving environments are not reproducible as an image.",
                "mlrig add docker",
            )
        )
    failed = report.tool_failures
    if report.skipped or failed:
        missing = [f"{tool} is not installed" for tool in report.skipped]
        found.append(
            DoctorFinding(
                FindingId.CHECK_SKIPPED,
                Severity.LOW,
                f"Not checked: {', '.join([*report.skipped, *(f.tool for f in failed)])}",
                "; ".join([*missing, *(f.message for f in failed)]) + ".",
                "pip install 'mlrig[validate]'" if missing else "yamllint .github/workflows",
            )
        )
    return found


def _worst(findings: tuple[ToolFinding, ...]) -> Severity:
    """The most urgent severity among ``findings``."""
    return min((item.severity for item in findings), key=SEVERITIES.index)


def _file_findings(report: DoctorReport, size_limit: int) -> list[DoctorFinding]:
    if not report.large_files:
        return []
    tracked = [f for f in report.large_files if f.tracked]
    described = [
        f"{f.path} ({f.size / MB:.0f} MB{'' if f.tracked else ', untracked'})"
        for f in report.large_files
    ]
    data = all(_DATA_FILE.search(f.path) for f in report.large_files)
    if tracked:
        patterns = ",".join(f.path for f in tracked)
        fix = f'git lfs migrate import --everything --include="{patterns}"'
    else:
        fix = "dvc add " + " ".join(f.path for f in report.large_files) + " && dvc push"
    # The same commands as the pipelines of `mlrig new -d data_versioning=dvc` and their README.
    advice = (
        "Data and models belong in DVC (`git rm --cached PATH`, `dvc add PATH`, `dvc push` "
        "to a remote; CI runs `dvc pull` before the data checks, as `mlrig new -d "
        "data_versioning=dvc` sets up) or Git LFS"
        if data
        else "Large files belong in Git LFS (or DVC for data and models)"
    )
    return [
        DoctorFinding(
            FindingId.LARGE_FILES,
            Severity.HIGH
            if any(f.size > _HARD_LIMIT for f in report.large_files)
            else Severity.MEDIUM,
            f"{plural(len(report.large_files), 'file')} over {size_limit / MB:g} MB in git",
            f"{listed(described)}. Every clone downloads them, forever. {advice}.",
            fix,
            tuple(f.path for f in report.large_files),
        )
    ]
