"""``mlrig new``: render a new project from a template into an empty destination."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlrig import _copier
from mlrig._git import commit_all, find_git, run_git
from mlrig._lock import write_lock
from mlrig._progress import Progress, silent
from mlrig._record import ANSWERS_FILE, write_src_path
from mlrig._staging import check_destination, staged
from mlrig._syncpin import pin_sync_tool
from mlrig._version import __version__
from mlrig.answers import Answers
from mlrig.commands._new_answers import (
    AskTemplate,
    builtin_presets,
    resolve_template_answers,
    template_presets,
)
from mlrig.config import Config
from mlrig.errors import InvalidInputError
from mlrig.template_info import TemplateInfo, check_rendered, check_trust, inspect_template
from mlrig.templates import (
    TemplateSpec,
    builtin_bundle,
    builtin_data,
    builtin_template,
    parse_template_spec,
    recorded_source,
)

# What `mlrig new` offers in one place: the command, and the steps the CLI runs before it.
__all__ = [
    "AskTemplate",
    "NewResult",
    "builtin_presets",
    "check_destination",
    "choose_template",
    "new",
    "render_template",
    "resolve_template_answers",
    "staged",
    "template_presets",
]

_BASELINE = "metrics/baseline.json"


@dataclass(frozen=True)
class NewResult:
    """What ``new`` produced (or, with ``dry_run``, would produce)."""

    dest: Path
    #: Relative POSIX paths of the rendered files, sorted; ``.git`` is not listed.
    files: tuple[str, ...]
    #: The initial commit's SHA, or ``None`` when no git repository was made.
    commit: str | None
    dry_run: bool
    #: Things the user should know before the first pipeline run.
    warnings: tuple[str, ...] = ()
    #: The dependency lock files written (and committed) for the starter project.
    lock: tuple[str, ...] = ()
    #: Why the starter project has no lock, with the command to run; ``None`` when it
    #: has one, and for a dry run, another template or an existing repository.
    lock_problem: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The stable JSON form of ``mlrig new --json``."""
        return {
            "status": "dry_run" if self.dry_run else "created",
            "dest": os.path.abspath(self.dest),
            "files": list(self.files),
            "commit": self.commit,
            "warnings": list(self.warnings),
            "lock": list(self.lock),
            "lock_problem": self.lock_problem,
        }


def new(
    dest: Path,
    *,
    answers: Answers | Mapping[str, object],
    template: str | Path | TemplateSpec | TemplateInfo | None = None,
    ref: str | None = None,
    git: bool = True,
    dry_run: bool = False,
    trust: bool = False,
    progress: Progress = silent,
) -> NewResult:
    """Render ``template`` with ``answers`` into ``dest``.

    ``answers`` is an :class:`Answers` for the built-in template; for another
    template, a mapping that copier validates against that template's questions
    (unanswered ones take the template's defaults; see
    :func:`resolve_template_answers` to ask them first).

    ``template`` is a copier template: a :class:`TemplateSpec`, one already
    inspected (:class:`TemplateInfo`), or a ``SRC[@REF]`` string or path (see
    :func:`~mlrig.templates.parse_template_spec`); by default the built-in template.
    ``ref`` picks a version (a git tag, branch or commit) of a git template; by
    default copier takes the newest version tag. Copier
    records the template and version in the answers file, so ``mlrig update``
    and plain ``copier update`` follow it. A template that runs tasks,
    migrations or Jinja extensions is refused unless ``trust``.

    ``dest`` must not exist or be an empty directory. The project is rendered in a
    staging directory beside ``dest`` and moved into place only when complete, so a
    failure or an interrupt leaves nothing behind. The built-in template's starter
    project also gets its dependency lock (:mod:`mlrig._lock`) before the initial
    commit; when uv or the package index is not there, the project is created
    without one and the result's ``lock_problem`` says what to run. The built-in
    template's sync pin gets its hashes when they can be trusted
    (:func:`~mlrig._syncpin.pin_sync_tool`); otherwise a warning says how to add them.
    With ``git`` the project becomes a git repository on branch ``main`` with one
    initial commit. With ``dry_run`` nothing is written and the result lists the
    files that would be rendered. ``progress`` is called as each phase starts
    (rendering, locking, the initial commit).
    """
    dest = Path(os.path.abspath(dest))
    check_destination(dest)
    source, info = _source(template, ref)
    if info is not None:
        check_trust(info.spec, trusted=trust, info=info)
        ref = info.render_ref
    progress("rendering the project")
    if dry_run:
        with tempfile.TemporaryDirectory(prefix="mlrig-dry-run-") as tmp:
            out = Path(tmp) / dest.name
            render_template(source, ref, out, answers, info=info, trust=trust)
            return NewResult(dest, _list_files(out), None, True, _warnings(out, answers, info))

    if git:
        find_git()
    with staged(dest) as out:
        render_template(source, ref, out, answers, info=info, trust=trust)
        lock: tuple[str, ...] = ()
        lock_problem: str | None = None
        if info is None and isinstance(answers, Answers) and not answers.existing_repo:
            progress("locking the dependencies (uv)")
            written = write_lock(
                out, answers.package_manager, answers.python_version, answers.framework
            )
            lock, lock_problem = written.files, written.problem
        files = _list_files(out)
        warnings = _warnings(out, answers, info)
        if info is None and isinstance(answers, Answers):
            pinned = pin_sync_tool(out, answers.python_version)
            warnings += (pinned,) if pinned else ()
        commit = None
        if git:
            progress("making the initial commit")
            run_git(out, "init", "--quiet", "--initial-branch=main")
            commit = commit_all(out, f"Initial commit from mlrig {__version__}")
    return NewResult(dest, files, commit, False, warnings, lock, lock_problem)


def choose_template(
    config: Config, *, template: str | None = None, ref: str | None = None
) -> TemplateSpec | None:
    """The template ``mlrig new`` uses: ``template`` (``--template``), else the config's.

    ``None`` means the built-in template. ``ref`` (``--ref``) overrides a version
    the config's template names. Raises :class:`InvalidInputError` for a bad
    spec (naming the config file when it came from there) and for ``ref``
    without any template.
    """
    if template is not None:
        return parse_template_spec(template, ref=ref)
    if config.template is None:
        if ref is not None:
            raise InvalidInputError(
                "--ref picks a version of a --template (or of the template in your mlrig "
                "config); the built-in template is always the version installed with mlrig"
            )
        return None
    try:
        spec = parse_template_spec(config.template)
    except InvalidInputError as exc:
        raise InvalidInputError(f"config file {config.origin('template')}: {exc}") from None
    return spec if ref is None else parse_template_spec(spec.url, ref=ref)


def _source(
    template: str | Path | TemplateSpec | TemplateInfo | None, ref: str | None
) -> tuple[str, TemplateInfo | None]:
    """What copier renders from; the inspected template unless it is the built-in one."""
    if template is None:
        return str(builtin_bundle()), None
    if isinstance(template, TemplateInfo):
        return template.spec.url, template
    if not isinstance(template, TemplateSpec):
        local = Path(os.path.abspath(template)) if isinstance(template, Path) else None
        if local is not None and local in (builtin_bundle(), builtin_template()):
            return str(local), None
        template = parse_template_spec(str(template), ref=ref)
    elif ref is not None and ref != template.ref:
        template = TemplateSpec(template.url, ref)
    if template.url in (str(builtin_bundle()), str(builtin_template())):
        return template.url, None
    return template.url, inspect_template(template)


def _warnings(
    project: Path, answers: Answers | Mapping[str, object], info: TemplateInfo | None = None
) -> tuple[str, ...]:
    """Warn when the project cannot follow its template, or its baseline fails the gate."""
    if info is not None:
        if info.has_versions:
            return ()
        if info.ref is None:
            return (
                f"template {info.spec.url} is not a git repository, so the project records "
                "no version and `mlrig update` cannot update it",
            )
        return (
            f"template {info.spec.url} has no version tags, so `mlrig update` cannot update "
            "the project until the template tags a release (e.g. v1.0.0)",
        )
    if not isinstance(answers, Answers):
        return ()
    try:
        baseline = json.loads((project / _BASELINE).read_text(encoding="utf-8"))
        score = float(baseline[answers.gate_metric])
    except (OSError, ValueError, KeyError, TypeError):
        return ()
    if score >= answers.gate_threshold:
        return ()
    return (
        f"the starter model scores {answers.gate_metric} {score:g}, below the gate threshold "
        f"{answers.gate_threshold:g}: the pipeline's gate fails until the model improves or "
        "GATE_THRESHOLD in config.py is lowered",
    )


def render_template(
    source: str,
    ref: str | None,
    out: Path,
    answers: Answers | Mapping[str, object],
    *,
    info: TemplateInfo | None = None,
    trust: bool = False,
) -> None:
    """Render ``source`` at ``ref`` into ``out`` with ``answers`` and no prompt.

    ``info`` is the inspected template, ``None`` for the built-in one; fetch and
    answer errors become :class:`EnvironmentProblem` and :class:`InvalidInputError`.
    Unless ``trust``, copier's own safety checks stay on (no tasks, migrations or
    Jinja extensions; no ``_external_data`` from outside ``out``), and a symlink
    rendered to point outside ``out`` is refused. Nothing
    named ``.git`` is ever rendered (:data:`~mlrig._copier.NEVER_RENDERED`).
    The answers file records ``source`` without the credentials of its URL.
    """
    data = answers.to_data() if isinstance(answers, Answers) else dict(answers)
    if info is None:
        # The built-in template runs no code, and its answers are already valid.
        data.update(builtin_data())
        _copier.copy(source, out, data=data, ref=ref, template="the built-in template")
        _record_source(out, source)
        return
    _copier.copy(source, out, data=data, ref=ref, template=str(info.spec), unsafe=trust)
    check_rendered(out, info.spec, trusted=trust)
    _record_source(out, source)


def _record_source(out: Path, source: str) -> None:
    """Make ``out``'s answers file record :func:`~mlrig.templates.recorded_source`.

    copier recorded ``source`` itself: this installation's bundle, or a URL with
    its credentials.
    """
    recorded = recorded_source(source)
    if recorded != source and (out / ANSWERS_FILE).is_file():
        write_src_path(out / ANSWERS_FILE, recorded)


def _list_files(root: Path) -> tuple[str, ...]:
    return tuple(
        sorted(
            path.relative_to(root).as_posix()
            for path in root.rglob("*")
            if path.is_file() and ".git" not in path.relative_to(root).parts
        )
    )
