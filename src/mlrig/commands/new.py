"""``mlrig new``: render a new project from a template into an empty destination."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mlrig._git import commit_all, find_git, run_git
from mlrig._lock import write_lock
from mlrig._progress import Progress, silent
from mlrig._record import ANSWERS_FILE, write_src_path
from mlrig._syncpin import pin_sync_tool
from mlrig._version import __version__
from mlrig.answers import QUESTIONS, Answers
from mlrig.config import Config
from mlrig.errors import EnvironmentProblem, InvalidInputError
from mlrig.templates import (
    NEVER_RENDERED,
    TRUST_HINT,
    TemplateInfo,
    TemplateQuestion,
    TemplateSpec,
    builtin_bundle,
    builtin_data,
    builtin_template,
    check_rendered,
    check_trust,
    inspect_template,
    parse_template_spec,
    recorded_source,
)

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

#: Prompt for one question of a custom template: ``ask(question, default)``.
AskTemplate = Callable[[TemplateQuestion, object], object]

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


def check_destination(dest: Path) -> None:
    """Refuse a destination mlrig new cannot create a project in.

    A file or a non-empty directory is :class:`InvalidInputError`; a symbolic
    link to nothing, or a path below a file, is :class:`EnvironmentProblem`.
    """
    if dest.is_symlink() and not dest.exists():
        raise EnvironmentProblem(
            f"{dest} is a symbolic link to {os.readlink(dest)}, which does not exist; "
            "remove the link or choose another path"
        )
    if dest.exists() and not dest.is_dir():
        raise InvalidInputError(f"{dest} exists and is not a directory; choose a new path")
    if dest.is_dir() and any(dest.iterdir()):
        raise InvalidInputError(
            f"{dest} is not empty; mlrig new only creates new projects. For an existing "
            "repository use `mlrig adopt` (or `mlrig add COMPONENT`) instead, or choose an "
            "empty or new directory"
        )
    parent = Path(os.path.abspath(dest)).parent
    while not parent.exists() and not parent.is_symlink() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise EnvironmentProblem(
            f"cannot create {dest}: {parent} is not a directory; choose another path"
        )


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


@contextmanager
def staged(dest: Path) -> Iterator[Path]:
    """A directory to build ``dest`` in, beside it, moved into place when the block ends.

    ``dest`` is an absolute path that does not exist or is an empty directory. If
    the block raises (an error, Ctrl-C), the staging directory, whatever was moved
    into ``dest`` and any parents of ``dest`` created for it are removed, and
    ``dest`` is left as it was. An :class:`OSError` (a read-only file system, a
    full disk) becomes :class:`EnvironmentProblem`.
    """
    created = _make_parents(dest.parent)
    staging: Path | None = None
    moved: list[Path] = []
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.mlrig-", dir=dest.parent))
        out = staging / dest.name
        yield out
        if dest.is_dir():
            for child in out.iterdir():
                child.rename(dest / child.name)
                moved.append(dest / child.name)
        else:
            out.rename(dest)
    except BaseException as exc:
        for path in moved:
            _remove(path)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        _remove_created(created)
        if isinstance(exc, OSError):
            raise EnvironmentProblem(_cannot_create(dest, exc)) from None
        raise
    shutil.rmtree(staging, ignore_errors=True)


def _cannot_create(dest: Path, exc: OSError) -> str:
    """One line on why ``dest`` could not be written, and what to do."""
    hints = {
        errno.ENOSPC: "free some disk space and run again",
        errno.EDQUOT: "free some of your disk quota and run again",
        errno.EROFS: "the file system is read-only; choose another path",
        errno.EACCES: "you may not write there; choose another path or fix its permissions",
        errno.EPERM: "you may not write there; choose another path or fix its permissions",
    }
    reason = exc.strerror or type(exc).__name__
    hint = hints.get(exc.errno or 0, "check the path and run again")
    return f"cannot create {dest}: {reason}; nothing was written; {hint}"


def _remove(path: Path) -> None:
    """Remove a file or a directory tree ``staged`` moved into place, as far as possible."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _remove_created(created: list[Path]) -> None:
    """Remove the directories :func:`_make_parents` made, deepest first, as far as possible."""
    for directory in created:
        with contextlib.suppress(OSError):
            directory.rmdir()


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

    ``info`` is the inspected template, ``None`` for the built-in one; a custom
    template's fetch and answer errors become :class:`EnvironmentProblem` and
    :class:`InvalidInputError`. Unless ``trust``, copier's own safety checks stay on
    (no tasks, migrations or Jinja extensions; no ``_external_data`` from outside
    ``out``), and a symlink rendered to point outside ``out`` is refused. Nothing
    named ``.git`` is ever rendered (:data:`~mlrig.templates.NEVER_RENDERED`).
    The answers file records ``source`` without the credentials of its URL.
    """
    # Imported here: copier takes most of a second to import and `mlrig --help` must not pay it.
    from copier import run_copy

    from mlrig._yaml import keep_line_breaks_in_dumps

    keep_line_breaks_in_dumps()

    data = answers.to_data() if isinstance(answers, Answers) else dict(answers)

    def copy(*, unsafe: bool) -> None:
        run_copy(
            source,
            out,
            data=data,
            vcs_ref=ref,
            defaults=True,
            quiet=True,
            overwrite=True,
            unsafe=unsafe,
            exclude=NEVER_RENDERED,
        )

    if info is None:
        # The built-in template runs no code, and its answers are already valid.
        data.update(builtin_data())
        copy(unsafe=False)
        _record_source(out, source)
        return
    from copier.errors import CopierError, ForbiddenPathError, UnsafeTemplateError
    from plumbum import ProcessExecutionError

    try:
        copy(unsafe=trust)
    except ProcessExecutionError as exc:
        detail = (str(exc.stderr).strip().splitlines() or ["git failed"])[-1]
        raise EnvironmentProblem(f"cannot fetch template {info.spec}: {detail}") from None
    except UnsafeTemplateError as exc:
        # copier checks the commit it renders once more, whatever the inspection saw.
        features = str(exc).splitlines()[0].rstrip(".")
        raise InvalidInputError(
            f"template {info.spec} would run code on your machine ({features}); {TRUST_HINT}"
        ) from None
    except ForbiddenPathError as exc:
        # copier's message is '"PATH" is forbidden'; only for an _external_data path,
        # which trust allows, does a hint (naming copier's own flags) follow it.
        lines = str(exc).splitlines()
        path = lines[0].removesuffix(" is forbidden")
        if len(lines) > 1:
            raise InvalidInputError(
                f"template {info.spec} reads {path} (_external_data), outside the project; "
                f"mlrig refuses that for an untrusted template: {TRUST_HINT}"
            ) from None
        raise InvalidInputError(
            f"template {info.spec} has {path}, a symlink or file name that leads outside the "
            "template or the project; fix the template"
        ) from None
    except (CopierError, ValueError) as exc:
        # copier reports a failed validator or an answer outside the choices as a
        # ValueError whose message names the question.
        problem = " ".join(str(exc).split())
        raise InvalidInputError(f"invalid answer for template {info.spec}: {problem}") from None
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


def builtin_presets(config: Config, *, overridden: Collection[str] = ()) -> dict[str, object]:
    """The config's preset answers for the built-in template, each checked.

    Presets in ``overridden`` (given with ``-d`` or ``--answers-file``) are
    skipped. Raises :class:`InvalidInputError` naming the config file of an
    unknown question or an invalid value.
    """
    by_name = {question.name: question for question in QUESTIONS}
    presets: dict[str, object] = {}
    for name, value in config.answers.items():
        if name in overridden:
            continue
        question = by_name.get(name)
        if question is None:
            raise InvalidInputError(
                f"config file {config.origin(f'answers.{name}')}: answers.{name} is not a "
                f"question of the built-in template; the questions are: {', '.join(by_name)}"
            )
        try:
            question.parse(value)
        except ValueError as exc:
            raise InvalidInputError(
                f"config file {config.origin(f'answers.{name}')}: answers.{name}: {exc}"
            ) from None
        presets[name] = value
    return presets


def template_presets(
    info: TemplateInfo, config: Config, *, overridden: Collection[str] = ()
) -> dict[str, object]:
    """The config's preset answers for a custom template, checked against its questions.

    Raises :class:`InvalidInputError` naming the config file of an unknown
    question or a value outside a question's choices; copier runs the
    template's own validators when rendering.
    """
    by_name = {question.name: question for question in info.questions}
    presets: dict[str, object] = {}
    for name, value in config.answers.items():
        if name in overridden:
            continue
        origin = config.origin(f"answers.{name}")
        question = by_name.get(name)
        if question is None:
            raise InvalidInputError(
                f"config file {origin}: answers.{name} is not a question of template "
                f"{info.spec}; its questions are: {', '.join(by_name) or 'none'}"
            )
        if question.choices and str(value) not in {str(c) for c in question.choices}:
            raise InvalidInputError(
                f"config file {origin}: answers.{name} is {value!r}, not one of: "
                f"{', '.join(map(str, question.choices))}"
            )
        presets[name] = value
    return presets


def resolve_template_answers(
    info: TemplateInfo,
    given: Mapping[str, object],
    *,
    use_defaults: bool,
    ask: AskTemplate | None = None,
) -> dict[str, object]:
    """Complete the answers for a custom template, as copier will receive them.

    Questions copier computes (``when: false``) or that do not apply to the
    answers so far are skipped. Another unanswered question is left to the
    template's default when ``use_defaults``, asked through ``ask(question,
    default)`` when given (the default rendered against the earlier answers),
    and is an error otherwise. Raises :class:`InvalidInputError` naming unknown
    or unanswered questions.
    """
    names = [question.name for question in info.questions]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise InvalidInputError(
            f"unknown question {', '.join(map(repr, unknown))} for template {info.spec}; "
            f"its questions are: {', '.join(names) or 'none'}"
        )
    answers = dict(given)
    if use_defaults:
        return answers
    missing: list[str] = []
    for question in info.questions:
        if question.name in answers or not question.applies(answers):
            continue
        if ask is None:
            missing.append(question.name)
        else:
            answers[question.name] = ask(question, question.default_for(answers))
    if missing:
        raise InvalidInputError(
            f"no answer for {', '.join(missing)} and no terminal to ask in; pass --defaults "
            "to take the template's defaults, or give them with -d KEY=VALUE"
        )
    return answers


def _list_files(root: Path) -> tuple[str, ...]:
    return tuple(
        sorted(
            path.relative_to(root).as_posix()
            for path in root.rglob("*")
            if path.is_file() and ".git" not in path.relative_to(root).parts
        )
    )


def _make_parents(directory: Path) -> list[Path]:
    """Create ``directory`` and its missing parents; return the created ones, deepest first.

    When one cannot be created, those already made are removed again and
    :class:`EnvironmentProblem` says why.
    """
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    created: list[Path] = []
    for path in reversed(missing):
        try:
            path.mkdir()
        except OSError as exc:
            _remove_created(created)
            raise EnvironmentProblem(_cannot_create(path, exc)) from None
        created.insert(0, path)
    return created
