"""``mlrig doctor``: diagnose an ML repository and say what to fix first.

The repository must be a git work tree: doctor reads git's lists of tracked files
and of untracked files that are not ignored, so it never enters gitignored folders
(``.venv``, data caches) and it can tell what is committed. It runs hadolint and
zizmor in their own processes while the Python scans run, and never changes
anything.
"""

from __future__ import annotations

import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlrig._doctor_ci import find_ci
from mlrig._doctor_findings import MB, with_findings
from mlrig._doctor_report import (
    IMPACT,
    SCHEMA_VERSION,
    SEVERITIES,
    DoctorFinding,
    DoctorReport,
    FindingId,
    Severity,
    TemplateStatus,
    ToolFailure,
    ToolFinding,
)
from mlrig._doctor_scan import (
    RepoFiles,
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
from mlrig._doctor_tools import ToolResult, doctor_checks, read_result
from mlrig._git import run_git
from mlrig._record import (
    ANSWERS_FILE,
    read_record,
    refuse_ahead,
    refuse_inside_project,
    versions_behind,
)
from mlrig._repo import Repo, scan
from mlrig.errors import InvalidInputError, MlrigError
from mlrig.templates import is_builtin, template_source, template_versions
from mlrig.validate import collect_outputs, start_checks

__all__ = [
    "DEFAULT_SIZE_LIMIT",
    "IMPACT",
    "SCHEMA_VERSION",
    "SEVERITIES",
    "DoctorFinding",
    "DoctorReport",
    "FindingId",
    "Severity",
    "TemplateStatus",
    "ToolFailure",
    "ToolFinding",
    "doctor",
]

#: Files bigger than this, committed to git, belong in Git LFS or DVC.
DEFAULT_SIZE_LIMIT = 10 * MB
_DOCKERFILE = re.compile(
    r"(?:.*/)?(?:(?:Dockerfile|Containerfile)(?:\.[^/]+)?|[^/]+\.[Dd]ockerfile)"
)
# Files that would mention a notebook runner such as nbmake.
_CONFIG = re.compile(
    r"Makefile|pyproject\.toml|tox\.ini|setup\.cfg|pytest\.ini|noxfile\.py|requirements.*"
)


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
    checks = doctor_checks(
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
            tools = {
                check.tool: read_result(check.tool, output, returncode)
                for check, output, returncode in collect_outputs(running)
            }
            managed, template = template_future.result()
    finally:
        # After an error or an interrupt, no validator is left running.
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    hadolint, zizmor = tools.get("hadolint", ToolResult()), tools.get("zizmor", ToolResult())
    report = replace(
        report,
        hadolint=hadolint.findings,
        workflow_security=zizmor.findings,
        tool_failures=tuple(r.failure for r in (zizmor, hadolint) if r.failure is not None),
        managed=managed,
        template=template,
    )
    return with_findings(report, size_limit)


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


def _unread(repo: Repo, texts: Texts) -> tuple[tuple[str, str], ...]:
    """The files the scans could not read, but for pipelines (``ci-unparsable`` names those)."""
    pipelines = {problem.split(":", 1)[0] for problem in repo.ci_problems}
    unread = {**dict(repo.unread), **texts.unread}
    return tuple(sorted((p, why) for p, why in unread.items() if p not in pipelines))
