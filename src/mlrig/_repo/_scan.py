"""The one scan: every part of the model put together into a :class:`Repo`."""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

from mlrig._repo._ci import _GITHUB, _GITLAB, _OTHER_CI, _SCHEDULE_TEXT, _Ci, _github, _other_ci
from mlrig._repo._classify import _by_name, _Classifier
from mlrig._repo._gitlab import _gitlab
from mlrig._repo._install import _install, _tools, _whole_install, _with_tools
from mlrig._repo._listing import _line_of, _mapping, _Reader, get_path, list_files
from mlrig._repo._project import _build, _dependencies, _layout, _manager, _python
from mlrig._repo._records import STAGES, CiJob, Command, Manager, Repo, RepoFiles
from mlrig._repo._shell import _logical_lines, _words
from mlrig._repo._stages import (
    _EXCLUDED,
    _OUT_FLAGS,
    _STAGE_NAMES,
    _TEST_FILE,
    _check_runnable,
    _choose_task,
    _input_paths,
    _job_pieces,
    _metrics_file,
    _missing,
    _Piece,
    _task_command,
    _valid_first,
)
from mlrig._repo._tasks import (
    _dvc_stages,
    _just_tasks,
    _make_tasks,
    _pyproject_tasks,
    _python_tasks,
    _tox_tasks,
)


def scan(root: Path, listing: RepoFiles | None = None) -> Repo:
    """The model of the repository at ``root`` (see the module docstring); never raises
    for content: unreadable files are skipped, unparsable pipelines are in ``ci_problems``.

    ``listing`` is :func:`list_files` of ``root`` when the caller already has it.
    """
    root = Path(os.path.abspath(root))
    listing = listing or list_files(root)
    files = frozenset(listing.all)
    reader = _Reader(root, files)
    pyproject = reader.toml("pyproject.toml")

    tasks = [
        *_make_tasks(reader),
        *_just_tasks(reader),
        *_pyproject_tasks(reader, pyproject),
        *_tox_tasks(reader, pyproject),
        *_python_tasks(reader, "nox", "noxfile.py"),
        *_python_tasks(reader, "invoke", "tasks.py"),
    ]
    dvc_tasks, dvc_outs, dvc_metrics = _dvc_stages(reader)
    declared_scripts = _mapping(get_path(pyproject, "project", "scripts"))
    scripts = {str(k): str(v) for k, v in declared_scripts.items()}
    classifier = _Classifier([*tasks, *dvc_tasks], scripts, reader)

    ci = _Ci()
    github = sorted(f for f in files if _GITHUB.fullmatch(f))
    for path in github:
        ci.files.append(path)
        _github(reader, path, ci)
    if _GITLAB in files:
        ci.files.append(_GITLAB)
        _gitlab(reader, ci)
    for path, provider in _OTHER_CI.items():
        if path in files:
            ci.files.append(path)
            _other_ci(reader, path, provider, ci)
    ci.providers = [p for p, found in (("github", github), ("gitlab", _GITLAB in files)) if found]
    ci.providers += sorted({_OTHER_CI[f] for f in ci.files if f in _OTHER_CI})
    # A GitLab include that runs on a schedule schedules the pipeline it belongs to.
    for path in ci.files:
        included = path not in (_GITLAB, *github, *_OTHER_CI)
        if included and _SCHEDULE_TEXT.search(reader.text(path) or "") and path not in ci.scheduled:
            ci.scheduled.append(path)

    jobs: list[CiJob] = []
    pieces: dict[str, list[_Piece]] = {}
    for job in ci.jobs:
        job_pieces, covers, deploy = _job_pieces(job, classifier)
        jobs.append(
            CiJob(
                job.provider,
                job.file,
                job.name,
                job.stage,
                job.triggers,
                job.scheduled,
                job.on_schedule,
                deploy,
                job.commands,
                job.pythons,
                tuple(s for s in STAGES if s in covers),
                job.uses,
            )
        )
        if not deploy:
            for piece in job_pieces:
                piece.job = jobs[-1]
                pieces.setdefault(piece.stage, []).append(piece)

    manager = _manager(reader, pyproject)
    build = _build(reader, pyproject)
    layout, packages = _layout(files)
    python = _python(reader, pyproject, jobs)
    dependencies = _dependencies(reader, pyproject)

    candidates: dict[str, list[Command]] = {stage: [] for stage in STAGES}
    job_of: dict[int, CiJob | None] = {}
    for stage in STAGES:
        for piece in pieces.get(stage, []):
            command = Command(piece.text, piece.source)
            job_of[id(command)] = piece.job
            candidates[stage].append(command)
        if stage in _STAGE_NAMES or stage == "monitor":
            task = _choose_task([*tasks], stage, classifier)
            if task is not None:
                candidates[stage].append(Command(_task_command(task), task.source))
    if dvc_tasks:
        candidates["train"].append(Command("dvc repro", "dvc.yaml"))
        for task in dvc_tasks:
            if classifier.recipe_stage(task, 0) == "data":
                candidates["data"].append(Command(task.call, task.source))
    for name, target in scripts.items():
        script_stage = _by_name(name) or _by_name(target.rpartition(":")[2])
        if script_stage in candidates and script_stage not in _EXCLUDED:
            at = _line_of(
                reader.text("pyproject.toml") or "", rf"^[ \t]*\"?{re.escape(name)}\"?\s*="
            )
            candidates[script_stage].append(Command(name, f"pyproject.toml:{at}"))

    test_files = sorted(f for f in files if _TEST_FILE.fullmatch(f))
    if "pytest" in dependencies and test_files:
        # The last resort: pytest is declared and finds tests in the usual places.
        candidates["test"].append(
            Command("python -m pytest", f"{dependencies['pytest']} (pytest), {test_files[0]}")
        )

    usable = _valid_first(candidates)
    stages: dict[str, Command] = {}
    for stage in ("lint", "test", "data", "train", "evaluate", "image", "monitor"):
        if usable[stage]:
            stages[stage] = usable[stage][0]
    test_job = job_of.get(id(stages["test"])) if "test" in stages else None
    lint_job = job_of.get(id(stages["lint"])) if "lint" in stages else None
    if test_job is not None or lint_job is not None:
        # The install sequence of the job whose commands were chosen is what they need.
        wanted = [job for job in (test_job, lint_job) if job is not None]
        install = None
        for job in wanted:
            steps = [c for c in usable["install"] if job_of.get(id(c)) is job]
            if steps:
                install = _whole_install(steps)
                break
    else:
        install = next(iter(usable["install"]), None)
    if install is None:
        install = _install(reader, pyproject, manager, build)
    elif manager.source in ("", "pyproject.toml", "setup.py", "setup.cfg", "Pipfile"):
        # No lock file decides: the manager the repository's CI installs with does.
        for name, pattern in (
            ("uv", r"\buv (?:sync|pip)\b"),
            ("poetry", r"\bpoetry install\b"),
            ("pdm", r"\bpdm (?:install|sync)\b"),
        ):
            if re.search(pattern, install.text):
                manager = Manager(name, install.source)
                break
    needed = _tools([stages[s].text for s in ("lint", "test") if s in stages], classifier)
    if dvc_tasks and any("dvc" in stages[s].text for s in ("train", "data") if s in stages):
        needed.append("dvc")
    install = _with_tools(install, needed, dependencies, manager)
    if install is not None:
        stages["install"] = install
    deploy_jobs = [job for job in jobs if job.deploy]
    if deploy_jobs:
        first = deploy_jobs[0]
        stages["deploy"] = Command(
            f": {first.name}",
            f"{first.file} job {first.name}",
            False,
            f"the repository's own deploy job{'s' if len(deploy_jobs) > 1 else ''} "
            f"({', '.join(j.name for j in deploy_jobs)}): mlrig never runs them",
        )

    outputs = [*dvc_outs]
    for command in stages.values():
        for _, line in _logical_lines(command.text):
            words = _words(line)
            outputs += [
                os.path.normpath(w) for p, w in itertools.pairwise(words) if p in _OUT_FLAGS
            ]
    probe = [p for p in _input_paths(c.text for c in stages.values()) if p not in files]
    listing_git = listing.git
    temp = Repo(
        root,
        files,
        frozenset(listing.tracked),
        layout,
        packages,
        build,
        manager,
        python,
        (),
        (),
        (),
        (),
        (),
        0,
        (),
        {},
        {},
        {},
        {},
        None,
        git=listing_git,
    )
    ignored = temp.ignored_paths(probe) if probe else {}
    for stage, command in list(stages.items()):
        if stage != "deploy":
            stages[stage] = _check_runnable(command, classifier, packages, reader, outputs, ignored)

    metrics = _metrics_file([stages[s] for s in ("evaluate", "train") if s in stages], dvc_metrics)
    missing = {
        stage: _missing(stage, manager.name)
        for stage in ("install", "lint", "test", "data", "train", "evaluate")
        if stage not in stages
    }
    return Repo(
        root=root,
        files=files,
        tracked=frozenset(listing.tracked),
        layout=layout,
        packages=packages,
        build=build,
        package_manager=manager,
        python=python,
        task_runners=tuple(tasks),
        ci_providers=tuple(ci.providers),
        ci_files=tuple(ci.files),
        ci_jobs=tuple(jobs),
        ci_problems=tuple(ci.problems),
        remote_includes=ci.remote,
        scheduled=tuple(dict.fromkeys(ci.scheduled)),
        stages={stage: stages[stage] for stage in STAGES if stage in stages},
        missing=missing,
        dependencies=dependencies,
        pyproject=pyproject,
        metrics_file=metrics,
        _ignored=temp._ignored,
        git=listing_git,
        unread=tuple(sorted(reader.unread.items())),
    )
