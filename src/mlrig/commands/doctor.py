"""``mlrig doctor``: diagnose an ML repository and say what to fix first.

The repository must be a git work tree: doctor reads git's lists of tracked files
and of untracked files that are not ignored, so it never enters gitignored folders
(``.venv``, data caches) and it can tell what is committed. It runs hadolint and
zizmor in their own processes while the Python scans run, and never changes
anything.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from mlrig._credentials import mask
from mlrig._doctor_ci import STAGES, CiReport, find_ci
from mlrig._doctor_scan import (
    Dependencies,
    FoundTests,
    LargeFile,
    RepoFiles,
    Secret,
    Texts,
    dependencies,
    large_files,
    list_files,
    notebooks,
    secrets,
    sizes,
    start_secret_scan,
    test_suite,
)
from mlrig._files import read_text
from mlrig._git import run_git
from mlrig._record import (
    ANSWERS_FILE,
    read_record,
    refuse_ahead,
    refuse_inside_project,
    versions_behind,
)
from mlrig._repo import MAX_BYTES, Repo, scan
from mlrig.answers import default_python
from mlrig.errors import InvalidInputError, MlrigError
from mlrig.templates import is_builtin, template_source, template_versions
from mlrig.validate import Check, collect_checks, start_checks

__all__ = [
    "DEFAULT_SIZE_LIMIT",
    "SCHEMA_VERSION",
    "DoctorFinding",
    "DoctorReport",
    "TemplateStatus",
    "doctor",
]

#: Version of the ``--json`` document; bumped only on incompatible changes.
SCHEMA_VERSION = 1
MB = 1024 * 1024
#: Files bigger than this, committed to git, belong in Git LFS or DVC.
DEFAULT_SIZE_LIMIT = 10 * MB
# GitHub rejects pushes with files over 100 MB.
_HARD_LIMIT = 100 * MB
SEVERITIES = ("high", "medium", "low")
# Within a severity, findings are ranked by how much fixing them matters.
IMPACT = (
    "committed-secrets",
    "no-ci",
    "workflow-security",
    "large-files",
    "no-tests",
    "ci-gaps",
    "stage-cannot-run",
    "ci-python",
    "ci-unparsable",
    "files-unreadable",
    "dependencies-unpinned",
    "dependencies-undeclared",
    "template-behind",
    "python-unsupported",
    "untested-notebooks",
    "dockerfile-lint",
    "no-monitoring",
    "no-dockerfile",
    "no-template-sync",
    "not-managed",
    "template-unknown",
    "check-skipped",
)
_DOCKERFILE = re.compile(
    r"(?:.*/)?(?:(?:Dockerfile|Containerfile)(?:\.[^/]+)?|[^/]+\.[Dd]ockerfile)"
)
_DATA_FILE = re.compile(
    r"\.(?:csv|tsv|jsonl?|parquet|feather|arrow|avro|orc|h5|hdf5|npy|npz|pkl|pickle|joblib|pt|pth"
    r"|ckpt|onnx|safetensors|tflite|pb|bin|db|sqlite|zip|gz|tar|tgz)$",
    re.IGNORECASE,
)
# Files that would mention a notebook runner such as nbmake.
_CONFIG = re.compile(
    r"Makefile|pyproject\.toml|tox\.ini|setup\.cfg|pytest\.ini|noxfile\.py|requirements.*"
)
_SYNC = re.compile(r"\b(?:mlrig|copier) update\b")
_LEVELS = {"high": "high", "medium": "medium", "error": "medium", "warning": "medium"}
_MAX_LISTED = 8


@dataclass(frozen=True)
class DoctorFinding:
    """One problem: a stable ``id``, its ``severity``, and the command that fixes it."""

    id: str
    severity: str
    title: str
    detail: str
    fix: str
    paths: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """The finding's JSON form."""
        return {
            "id": self.id,
            "severity": self.severity,
            "title": self.title,
            "detail": self.detail,
            "fix": self.fix,
            "paths": list(self.paths),
        }


@dataclass(frozen=True)
class TemplateStatus:
    """The template an mlrig/copier-managed project records and how far behind it is.

    ``latest`` and ``behind`` are None when the template cannot be reached;
    ``problem`` then says why.
    """

    template: str
    current: str
    latest: str | None
    behind: int | None
    problem: str = ""


@dataclass(frozen=True)
class DoctorReport:
    """What doctor found in ``project``: the facts it looked at and the ranked findings."""

    project: Path
    ci: CiReport
    tests: FoundTests
    dependencies: Dependencies
    dockerfiles: tuple[str, ...]
    hadolint: tuple[str, ...]
    workflow_security: tuple[str, ...]
    notebooks: tuple[str, ...]
    notebooks_tested: bool
    large_files: tuple[LargeFile, ...]
    secrets: tuple[Secret, ...]
    managed: bool
    template: TemplateStatus | None
    skipped: tuple[str, ...]
    python_files: int
    findings: tuple[DoctorFinding, ...] = field(default=())
    #: The repository model the CI facts and stage checks come from.
    repo: Repo | None = None
    #: Why each file doctor could not read (a symlink out of the repository or to a
    #: device, a FIFO, a file over the size bound) was skipped, by path.
    unread: tuple[tuple[str, str], ...] = ()

    @property
    def has_high(self) -> bool:
        """True when a high-severity finding exists (``mlrig doctor`` then exits 1)."""
        return any(f.severity == "high" for f in self.findings)

    def as_dict(self) -> dict[str, object]:
        """The stable JSON form of ``mlrig doctor --json`` (see the CLI's help)."""
        counts = {s: sum(f.severity == s for f in self.findings) for s in SEVERITIES}
        template = self.template
        return {
            "schema": SCHEMA_VERSION,
            "project": str(self.project),
            "status": "problems" if self.has_high else "ok",
            "summary": counts,
            "facts": {
                "ci": {
                    "providers": list(self.ci.providers),
                    "files": list(self.ci.files),
                    "jobs": [
                        {"file": j.file, "name": j.name, "covers": list(j.covers)}
                        for j in self.ci.jobs
                    ],
                    "covered": {s: list(self.ci.covered(s)) for s in STAGES},
                    "missing": list(self.ci.missing) if self.ci.files else list(STAGES),
                },
                "stages": {
                    stage: {
                        "command": command.text,
                        "source": command.source,
                        "runnable": command.runnable,
                        "why": command.why,
                    }
                    for stage, command in (self.repo.stages.items() if self.repo else ())
                },
                "python": {
                    "version": self.repo.python.version,
                    "source": self.repo.python.source,
                    "supported": self.repo.python.supported,
                    "requires": self.repo.python.requires,
                }
                if self.repo
                else None,
                "tests": {"files": len(self.tests.files), "functions": self.tests.functions},
                "dependencies": {
                    "status": self.dependencies.status,
                    "files": list(self.dependencies.files),
                },
                "docker": {
                    "dockerfiles": list(self.dockerfiles),
                    "hadolint_findings": len(self.hadolint),
                },
                "workflow_security_findings": len(self.workflow_security),
                "python_files": self.python_files,
                "notebooks": {"count": len(self.notebooks), "tested": self.notebooks_tested},
                "large_files": [
                    {"path": f.path, "size": f.size, "tracked": f.tracked} for f in self.large_files
                ],
                "secrets": [{"path": s.path, "line": s.line, "kind": s.kind} for s in self.secrets],
                "mlrig": {
                    "managed": self.managed,
                    "template": template.template if template else None,
                    "current": template.current if template else None,
                    "latest": template.latest if template else None,
                    "behind": template.behind if template else None,
                },
                "skipped_checks": list(self.skipped),
            },
            "findings": [f.as_dict() for f in self.findings],
        }

    def as_text(self, width: int = 100) -> str:
        """The facts, then the findings as a table (severity, finding, fix), for a terminal."""
        import textwrap

        lines = [f"mlrig doctor: {self.project}", ""]
        lines += [f"  {label:<14}{value}" for label, value in self._facts()]
        lines.append("")
        if not self.findings:
            lines.append("No problems found.")
            return "\n".join(lines)
        title_width = min(max(len(f.title) for f in self.findings), 56)
        lines.append(f"  {'SEVERITY':<9}{'FINDING':<{title_width + 2}}FIX")
        wrap_width = max(width - 11, 40)
        for finding in self.findings:
            title = textwrap.shorten(finding.title, title_width, placeholder="...")
            lines.append(f"  {finding.severity:<9}{title:<{title_width + 2}}{finding.fix}")
            detail = f"[{finding.id}] {finding.detail}"
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
            f"{n} {s}" for s in SEVERITIES if (n := sum(f.severity == s for f in self.findings))
        )
        lines += ["", f"{_n(len(self.findings), 'finding')} ({counts})."]
        return "\n".join(lines)

    def _facts(self) -> list[tuple[str, str]]:
        ci = self.ci
        if ci.files:
            covered = [STAGES[s] for s in STAGES if s not in ci.missing]
            missing = [STAGES[s] for s in ci.missing]
            ci_text = (
                f"{', '.join(ci.providers)} ({_n(len(ci.jobs), 'job')} in "
                f"{_n(len(ci.files), 'file')}); "
                f"covers {', '.join(covered) or 'nothing'}"
                + (f"; missing {', '.join(missing)}" if missing else "")
            )
        else:
            ci_text = "none"
        template = self.template
        if not self.managed:
            managed = "not managed"
        elif template is None or template.latest is None:
            managed = "managed; template version unknown"
        elif template.current == template.latest:
            managed = f"managed, current ({template.current})"
        else:
            managed = f"managed, {template.current} -> {template.latest} available"
        deps = self.dependencies
        return [
            ("CI", ci_text),
            (
                "Tests",
                f"{_n(len(self.tests.files), 'file')}, {_n(self.tests.functions, 'test function')}",
            ),
            ("Dependencies", deps.status + (f" ({', '.join(deps.files)})" if deps.files else "")),
            ("Docker", ", ".join(self.dockerfiles) or "no Dockerfile"),
            (
                "Notebooks",
                f"{len(self.notebooks)}" + (" (run by tests)" if self.notebooks_tested else ""),
            ),
            ("Large files", str(len(self.large_files))),
            ("Secrets", str(len(self.secrets))),
            ("mlrig", managed),
        ]


def doctor(dest: Path, *, size_limit: int = DEFAULT_SIZE_LIMIT) -> DoctorReport:
    """Diagnose the git repository (or the folder of one) at ``dest``.

    Looks at: CI (GitHub, GitLab, Jenkins, CircleCI, Azure, ...) and which
    pipeline stages its jobs cover; tests; dependency pinning; Dockerfiles
    (hadolint); workflow security (zizmor, pedantic); files over ``size_limit``
    bytes committed (or about to be); notebooks no test executes; committed
    credentials; the mlrig template record. Only files git tracks or would add
    are read, so ignored folders are never entered. A validator that is not
    installed is skipped and reported as a low finding.

    Raises :class:`InvalidInputError` when ``dest`` is not a directory, not in a
    git work tree, or a folder inside an mlrig project below its root (the error
    names the root); :class:`~mlrig.errors.EnvironmentProblem` when git is missing
    or refuses the repository.
    """
    project = Path(os.path.abspath(dest))
    if not project.is_dir():
        raise InvalidInputError(f"{project} is not a directory; pass the repository to diagnose")
    if run_git(project, "rev-parse", "--is-inside-work-tree", check=False) != "true":
        raise InvalidInputError(
            f"{project} is not in a git repository; mlrig doctor reads what git tracks: "
            "run `git init && git add -A` first"
        )
    # Below a project's root the report would miss its CI and call it unmanaged.
    refuse_inside_project(project, "doctor")
    files = list_files(project)
    paths = files.all
    dockerfiles = tuple(p for p in paths if _DOCKERFILE.fullmatch(p))
    workflows = [p for p in paths if re.fullmatch(r"\.github/workflows/[^/]+\.ya?ml", p)]
    texts = Texts(project)
    # A linter would read a file that leads to /dev/zero, or out of the repository, too.
    checks = _checks(
        tuple(filter(texts.readable, dockerfiles)), list(filter(texts.readable, workflows))
    )
    # hadolint and zizmor run in their processes, and `git ls-remote` on the template
    # (maybe a remote URL) in a thread, while the files are scanned here.
    running = start_checks(project, checks, require=False)
    skipped = tuple(sorted({c.argv[0] for c in checks} - {c.argv[0] for c, _ in running}))
    children: list[subprocess.Popen[Any]] = [proc for _, proc in running]
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            template_future = pool.submit(_template_status, project, files)
            size_of = sizes(files)
            secret_scan = start_secret_scan(project, size_of)
            children.append(secret_scan)
            repo = scan(project, files)
            ci = find_ci(repo)
            tests = test_suite(texts, paths)
            config = [p for p in paths if _CONFIG.fullmatch(p.rpartition("/")[2])]
            found_notebooks, tested = notebooks(texts, paths, [*tests.files, *ci.files, *config])
            report = DoctorReport(
                project=project,
                ci=ci,
                tests=tests,
                dependencies=dependencies(texts, paths),
                dockerfiles=dockerfiles,
                hadolint=(),
                workflow_security=(),
                notebooks=found_notebooks,
                notebooks_tested=tested,
                large_files=tuple(large_files(files, size_of, size_limit)),
                secrets=tuple(secrets(secret_scan)),
                managed=False,
                template=None,
                skipped=skipped,
                python_files=sum(p.endswith(".py") for p in paths),
                repo=repo,
                unread=_unread(repo, texts),
            )
            tools = collect_checks(running)
            managed, template = template_future.result()
    finally:
        # After an error or an interrupt, no validator is left running.
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    report = replace(
        report,
        hadolint=tuple(f.message for f in tools if f.tool == "hadolint"),
        workflow_security=tuple(f.message for f in tools if f.tool == "zizmor"),
        managed=managed,
        template=template,
    )
    return _with_findings(report, size_limit)


def _checks(dockerfiles: tuple[str, ...], workflows: list[str]) -> list[Check]:
    checks = []
    if dockerfiles:
        argv = ["hadolint", "--no-color", "--no-fail", "--format", "json", *dockerfiles]
        checks.append(Check("hadolint", argv, _parse_hadolint))
    if workflows:
        argv = [
            "zizmor",
            "--quiet",
            "--offline",
            "--no-progress",
            "--persona=pedantic",
            "--strict-collection",
            "--format=json",
            *workflows,
        ]
        checks.append(Check("zizmor", argv, _parse_zizmor))
    return checks


def _json_list(output: str) -> list[dict[str, object]] | None:
    start = output.find("[")
    try:
        data, _ = json.JSONDecoder().raw_decode(output, start) if start >= 0 else (None, 0)
    except json.JSONDecodeError:
        return None
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else None


def _failure(tool: str, output: str, returncode: int) -> list[str]:
    lines: list[str] = []
    for line in map(str.strip, output.splitlines()):
        # What follows is a Rust error chain and backtrace: too much for one line.
        if line in {"Caused by:", "Stack backtrace:"}:
            break
        lines += [line] if line else []
    reason = "; ".join(lines[:3]) or f"exit code {returncode}"
    return [f"medium\t{tool}-failed\t\t{tool} could not check the files: {reason}"]


def _parse_hadolint(output: str, returncode: int) -> list[str]:
    """hadolint's JSON as ``level<TAB>code<TAB>file:line<TAB>message`` records."""
    items = _json_list(output)
    if items is None or returncode != 0:
        return _failure("hadolint", output, returncode)
    return [
        f"{i.get('level')}\t{i.get('code')}\t{i.get('file')}:{i.get('line')}\t{i.get('message')}"
        for i in items
    ]


def _parse_zizmor(output: str, returncode: int) -> list[str]:
    """zizmor's JSON as ``severity<TAB>rule<TAB>file:line<TAB>description`` records."""
    items = _json_list(output)
    # zizmor exits 10 + the highest severity when it has findings.
    if items is None or returncode not in {0, 10, 11, 12, 13, 14}:
        return _failure("zizmor", output, returncode)
    records = []
    for item in items:
        determinations = item.get("determinations")
        severity = determinations.get("severity") if isinstance(determinations, dict) else None
        records.append(
            f"{str(severity).lower()}\t{item.get('ident')}\t{_zizmor_place(item)}\t{item.get('desc')}"
        )
    return records


def _zizmor_place(item: dict[str, object]) -> str:
    locations = item.get("locations")
    for location in locations if isinstance(locations, list) else []:
        try:
            path = location["symbolic"]["key"]["Local"]["verbatim_path"]
            row = location["concrete"]["location"]["start_point"]["row"]
        except (KeyError, TypeError):
            continue
        return f"{path}:{int(row) + 1}"
    return ""


def _template_status(project: Path, files: RepoFiles) -> tuple[bool, TemplateStatus | None]:
    if ANSWERS_FILE not in files.tracked and ANSWERS_FILE not in files.untracked:
        return False, None
    try:
        record = read_record(project)
    except MlrigError as exc:
        return True, TemplateStatus("", "", None, None, str(exc))
    source = template_source(record.src_path)
    try:
        versions = template_versions(source)
        refuse_ahead(project, record, versions, builtin=is_builtin(record.src_path))
    except MlrigError as exc:
        return True, TemplateStatus(source, record.version, None, None, str(exc))
    return True, TemplateStatus(
        source, record.version, versions[-1], versions_behind(record.version, versions)
    )


def _with_findings(report: DoctorReport, size_limit: int) -> DoctorReport:
    findings = [
        *_secret_findings(report),
        *_ci_findings(report),
        *_stage_findings(report),
        *_security_findings(report),
        *_file_findings(report, size_limit),
        *_dependency_findings(report),
        *_template_findings(report),
    ]
    findings.sort(key=lambda f: (SEVERITIES.index(f.severity), IMPACT.index(f.id), f.title))
    return replace(report, findings=tuple(findings))


def _behind(report: DoctorReport) -> bool:
    """Whether a newer template version exists (which may bring what is missing)."""
    template = report.template
    return template is not None and bool(template.behind)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _listed(items: list[str]) -> str:
    more = len(items) - _MAX_LISTED
    return ", ".join(items[:_MAX_LISTED]) + (f" and {more} more" if more > 0 else "")


def _secret_findings(report: DoctorReport) -> list[DoctorFinding]:
    if not report.secrets:
        return []
    places = [f"{s.path}:{s.line} ({s.kind})" for s in report.secrets]
    return [
        DoctorFinding(
            "committed-secrets",
            "high",
            f"{_n(len(report.secrets), 'credential')} committed",
            f"{_listed(places)}. Anyone with the repository can use them: revoke and rotate "
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
                "ci-unparsable",
                "medium",
                "Pipeline files that do not parse",
                _listed(list(ci.problems)),
                "yamllint " + " ".join(p.split(":", 1)[0] for p in ci.problems),
                tuple(p.split(":", 1)[0] for p in ci.problems),
            )
        )
    if report.unread:
        paths = tuple(path for path, _ in report.unread)
        found.append(
            DoctorFinding(
                "files-unreadable",
                "medium",
                f"{_n(len(paths), 'file')} mlrig cannot read",
                "; ".join(why for _, why in report.unread[:_MAX_LISTED])
                + ". What they hold is not checked.",
                "replace with a regular file inside the repository, or remove",
                paths,
            )
        )
    if not ci.files:
        found.append(
            DoctorFinding(
                "no-ci",
                "high",
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
                    "ci-gaps",
                    "medium",
                    f"CI misses {_n(len(missing), 'pipeline stage')}",
                    f"Missing: {', '.join(STAGES[s] for s in missing)}. "
                    f"Covered: {', '.join(covered) or 'nothing'}.{remote}",
                    "mlrig update" if _behind(report) else "mlrig add ci",
                    ci.files,
                )
            )
    if ci.files and "schedule" in ci.missing:
        found.append(
            DoctorFinding(
                "no-monitoring",
                "low",
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
                "no-tests",
                "medium",
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
                "untested-notebooks",
                "medium" if not report.tests.files else "low",
                f"{_n(len(report.notebooks), 'notebook')} no test runs",
                f"{_listed(list(report.notebooks))}. Move the code they define into the "
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
                "no-template-sync",
                "low",
                "No scheduled template sync",
                "Nothing proposes template updates, so the pipeline falls behind silently.",
                "mlrig add sync",
            )
        )
    return found


def _unread(repo: Repo, texts: Texts) -> tuple[tuple[str, str], ...]:
    """The files the scans could not read, but for pipelines (``ci-unparsable`` names those)."""
    pipelines = {problem.split(":", 1)[0] for problem in repo.ci_problems}
    unread = {**dict(repo.unread), **texts.unread}
    return tuple(sorted((p, why) for p, why in unread.items() if p not in pipelines))


def _read(report: DoctorReport, path: str) -> str:
    # A pipeline mlrig cannot read is in the model's ci_problems already.
    try:
        return read_text(report.project / path, what=path, limit=MAX_BYTES, root=report.project)
    except InvalidInputError:
        return ""


def _records(messages: tuple[str, ...]) -> list[tuple[str, str, str, str]]:
    records = []
    for message in messages:
        level, rule, place, text = [*message.split("\t", 3), "", "", ""][:4]
        records.append((level, rule, place, text))
    return records


def _security_findings(report: DoctorReport) -> list[DoctorFinding]:
    found: list[DoctorFinding] = []
    zizmor_all = _records(report.workflow_security)
    zizmor = [r for r in zizmor_all if not r[1].endswith("-failed")]
    if zizmor:
        severity = min((_LEVELS.get(r[0], "low") for r in zizmor), key=SEVERITIES.index)
        rules: dict[str, int] = {}
        for _, rule, _, _ in zizmor:
            rules[rule] = rules.get(rule, 0) + 1
        workflows = sorted({r[2].rsplit(":", 1)[0] for r in zizmor if r[2]})
        summary = ", ".join(f"{rule} x{count}" for rule, count in rules.items())
        found.append(
            DoctorFinding(
                "workflow-security",
                severity,
                f"{_n(len(zizmor), 'workflow security finding')} (zizmor, pedantic)",
                f"{summary}. See each one with "
                f"`zizmor --persona=pedantic {' '.join(workflows)}`; pipelines from "
                "`mlrig add ci` pin actions by SHA and use least-privilege permissions.",
                f"zizmor --persona=pedantic --fix=all {' '.join(workflows)}".strip(),
                tuple(workflows),
            )
        )
    hadolint_all = _records(report.hadolint)
    hadolint = [r for r in hadolint_all if not r[1].endswith("-failed")]
    if hadolint:
        severity = min((_LEVELS.get(r[0], "low") for r in hadolint), key=SEVERITIES.index)
        lines = [f"{place} {rule} {text}" for _, rule, place, text in hadolint]
        found.append(
            DoctorFinding(
                "dockerfile-lint",
                severity,
                f"{_n(len(hadolint), 'Dockerfile finding')} (hadolint)",
                _listed(lines),
                f"hadolint {' '.join(report.dockerfiles)}",
                report.dockerfiles,
            )
        )
    if not report.dockerfiles:
        found.append(
            DoctorFinding(
                "no-dockerfile",
                "low",
                "No Dockerfile",
                "Training and serving environments are not reproducible as an image.",
                "mlrig add docker",
            )
        )
    failed = [r[3] for r in (*zizmor_all, *hadolint_all) if r[1].endswith("-failed")]
    if report.skipped or failed:
        missing = [f"{tool} is not installed" for tool in report.skipped]
        found.append(
            DoctorFinding(
                "check-skipped",
                "low",
                f"Not checked: {', '.join([*report.skipped, *(f.split()[0] for f in failed)])}",
                "; ".join([*missing, *failed]) + ".",
                "pip install 'mlrig[validate]'" if missing else "yamllint .github/workflows",
            )
        )
    return found


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
            "large-files",
            "high" if any(f.size > _HARD_LIMIT for f in report.large_files) else "medium",
            f"{_n(len(report.large_files), 'file')} over {size_limit / MB:g} MB in git",
            f"{_listed(described)}. Every clone downloads them, forever. {advice}.",
            fix,
            tuple(f.path for f in report.large_files),
        )
    ]


def _dependency_findings(report: DoctorReport) -> list[DoctorFinding]:
    deps = report.dependencies
    if deps.status == "unpinned":
        loose = f" Loose: {_listed(list(deps.loose))}." if deps.loose else ""
        pyproject = any(PurePosixPath(f).name == "pyproject.toml" for f in deps.files)
        return [
            DoctorFinding(
                "dependencies-unpinned",
                "medium",
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
                "dependencies-undeclared",
                "medium",
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


def _stage_findings(report: DoctorReport) -> list[DoctorFinding]:
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
                "stage-cannot-run",
                "medium",
                f"{_n(len(broken), 'stage command')} cannot run in a fresh checkout",
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
                    "ci-python",
                    "medium",
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
                "python-unsupported",
                "medium",
                f"mlrig cannot serve this repository's Python {python.version}".rstrip(),
                python.why + ".",
                f"mlrig adopt -d python_version={choice.group(1) if choice else default_python()}",
                (python.source.split(" ")[0],) if python.source else (),
            )
        )
    return found


def _template_findings(report: DoctorReport) -> list[DoctorFinding]:
    template = report.template
    if not report.managed:
        return [
            DoctorFinding(
                "not-managed",
                "low",
                "Not managed by mlrig",
                "mlrig can take over the pipeline and keep it current, keeping your own jobs.",
                "mlrig adopt",
            )
        ]
    if template is None or template.problem:
        problem = template.problem if template else "no template record"
        return [
            DoctorFinding(
                "template-unknown",
                "low",
                "The template version cannot be checked",
                problem,
                "mlrig check",
                (ANSWERS_FILE,),
            )
        ]
    if template.latest is not None and template.current != template.latest:
        behind = _n(template.behind, "version") if template.behind else "Versions"
        return [
            DoctorFinding(
                "template-behind",
                "medium",
                f"{behind} behind the template: {template.current} -> {template.latest}",
                f"Template {template.template}.",
                "mlrig update",
                (ANSWERS_FILE,),
            )
        ]
    return []
