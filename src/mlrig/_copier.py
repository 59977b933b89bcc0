"""mlrig's home for copier: rendering, updating, trust, and every copier error they map.

Nothing else in mlrig imports copier but :mod:`mlrig._copier_questions` (copier's
questionnaire) and :mod:`mlrig._copier_render` (speed for many renders). Rendering
and updating go through copier's public API (``run_copy``, ``run_update``). Two
things copier 9 offers only privately are used here, each where it is used, with the
reason:

- reading a template's ``copier.yml`` as copier reads it (``Template``; copier has
  no public reader), for :func:`read_template`;
- copier's trust decision (``is_trusted_repository``; its public ``Settings`` holds
  the trusted prefixes but does not decide), for :func:`is_trusted`;

and copier's own local-vs-git rule (``get_repo``; ``Template.vcs``), for
:func:`as_git_source` and :func:`is_git`. :mod:`mlrig._copier_render` makes a
process that renders one template many times (``mlrig template test``) faster.

copier takes most of a second to import, so it is imported inside the functions:
``mlrig --help`` and ``mlrig check`` never pay for it.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlrig.errors import EnvironmentProblem, InvalidInputError

__all__ = [
    "NEVER_RENDERED",
    "TRUST_HINT",
    "TemplateData",
    "as_git_source",
    "copy",
    "is_git",
    "is_trusted",
    "read_template",
    "update",
]

#: Exclusion patterns (copier's ``exclude``, gitignore syntax) every render gets on
#: top of the template's own: nothing named ``.git``, at any depth and in any case,
#: so that no template can plant a git config (core.fsmonitor) or a hook that mlrig's,
#: copier's or the user's next git command would run. A template can override the
#: default excludes, never these.
NEVER_RENDERED = (".[gG][iI][tT]",)
#: How to let a refused template do what it asks, for the end of an error message.
TRUST_HINT = (
    "if you trust it, pass --trust, or add a prefix of its URL to trusted_prefixes in your "
    "mlrig config"
)


def _fetch_problem(template: str, exc: Exception) -> EnvironmentProblem:
    """The one message for a template git could not fetch (a plumbum git failure)."""
    detail = (str(getattr(exc, "stderr", "")).strip().splitlines() or ["git failed"])[-1]
    return EnvironmentProblem(
        f"cannot fetch template {template}: {detail}; check the URL and your network or access"
    )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def as_git_source(url: str) -> str:
    """``url`` as copier opens it as a git repository: with copier's ``git+`` prefix
    unless copier's own rule (``get_repo``) already takes it for git."""
    # Private: copier's local-vs-git rule is only in copier._vcs.
    from copier._vcs import get_repo

    return url if get_repo(url) is not None else f"git+{url}"


def is_trusted(prefixes: Iterable[str], url: str) -> bool:
    """copier's own decision whether ``url`` is trusted by one of ``prefixes``.

    An entry ending in ``/`` trusts what is under it, any other only itself; ``.``
    and ``..`` segments are resolved first, and a URL with unusual characters in its
    path matches only an equal entry.
    """
    # Private: copier's public Settings holds a trust list but has no method to decide.
    from copier._settings import is_trusted_repository

    return is_trusted_repository(list(prefixes), url)


@contextlib.contextmanager
def _render_errors(template: str) -> Iterator[None]:
    """What copier raises while rendering ``template`` for a new project, as MlrigError."""
    from copier.errors import CopierError, ForbiddenPathError, UnsafeTemplateError
    from jinja2 import TemplateError
    from plumbum import ProcessExecutionError

    try:
        yield
    except ProcessExecutionError as exc:
        raise _fetch_problem(template, exc) from None
    except UnsafeTemplateError as exc:
        # copier checks the commit it renders once more, whatever an inspection saw.
        features = str(exc).splitlines()[0].rstrip(".")
        raise InvalidInputError(
            f"template {template} would run code on your machine ({features}); {TRUST_HINT}"
        ) from None
    except ForbiddenPathError as exc:
        # copier's message is '"PATH" is forbidden'; only for an _external_data path,
        # which trust allows, does a hint (naming copier's own flags) follow it.
        lines = str(exc).splitlines()
        path = lines[0].removesuffix(" is forbidden")
        if len(lines) > 1:
            raise InvalidInputError(
                f"template {template} reads {path} (_external_data), outside the project; "
                f"mlrig refuses that for an untrusted template: {TRUST_HINT}"
            ) from None
        raise InvalidInputError(
            f"template {template} has {path}, a symlink or file name that leads outside the "
            "template or the project; fix the template"
        ) from None
    except TemplateError as exc:
        raise InvalidInputError(
            f"template {template} fails to render: {type(exc).__name__}: {_one_line(exc)}"
        ) from None
    except (CopierError, ValueError) as exc:
        # copier reports a failed validator or an answer outside the choices as a
        # ValueError whose message names the question.
        raise InvalidInputError(
            f"invalid answer for template {template}: {_one_line(exc)}"
        ) from None


@contextlib.contextmanager
def _update_errors(name: str) -> Iterator[None]:
    """What copier raises while updating project ``name`` (or rendering its last version).

    Anything else (a bug) still escapes with its traceback.
    """
    from copier.errors import CopierError, UnsafeTemplateError
    from plumbum import ProcessExecutionError

    try:
        yield
    except UnsafeTemplateError as exc:
        # copier's first line names the features; its second suggests copier's own flag.
        features = str(exc).splitlines()[0].rstrip(".")
        raise InvalidInputError(
            f"the template of {name} would run code on update ({features}); pass "
            "--trust if you trust it, or add its prefix to trusted_prefixes in your mlrig config"
        ) from None
    except CopierError as exc:
        raise EnvironmentProblem(f"copier could not update {name}: {exc}") from None
    except ValueError as exc:
        # How copier reports an answer (-d) its template's validator or choices refuse.
        raise InvalidInputError(
            f"invalid answer for the template of {name}: {_one_line(exc)}; give a value it accepts"
        ) from None
    except ProcessExecutionError as exc:
        # git failed on the template or on the project's own repository: say which run.
        detail = str(exc.stderr).strip().splitlines()
        raise EnvironmentProblem(
            f"copier could not update {name}: git failed: "
            f"{detail[-1] if detail else 'no output'}; run mlrig update again"
        ) from None
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"copier could not update {name}: a template file is not UTF-8 ({exc}); "
            "templated (.jinja) files must be UTF-8: ask the template's authors to fix it"
        ) from None
    except OSError as exc:
        raise EnvironmentProblem(
            f"copier could not update {name}: {exc}; run mlrig update again "
            "(it removes what an interrupted update left behind)"
        ) from None


def copy(
    source: str,
    out: Path,
    *,
    data: Mapping[str, object],
    ref: str | None,
    template: str,
    unsafe: bool = False,
    skip_tasks: bool = False,
    update_of: str | None = None,
) -> None:
    """Render ``source`` at ``ref`` into ``out`` with ``data``, taking every other default.

    No prompt, no output, never a ``.git`` (:data:`NEVER_RENDERED`). ``unsafe`` lets
    the template run its tasks, migrations and extensions (copier's own check stays on
    otherwise). Errors are :class:`MlrigError` naming ``template``; with ``update_of``
    (a project's name) they are worded as part of updating that project.
    """
    from copier import run_copy

    from mlrig._yaml import keep_line_breaks_in_dumps

    keep_line_breaks_in_dumps()
    errors = _update_errors(update_of) if update_of is not None else _render_errors(template)
    with errors:
        run_copy(
            source,
            out,
            data=dict(data),
            vcs_ref=ref,
            defaults=True,
            quiet=True,
            overwrite=True,
            unsafe=unsafe,
            skip_tasks=skip_tasks,
            exclude=NEVER_RENDERED,
        )


def update(project: Path, *, ref: str, data: Mapping[str, object], unsafe: bool, name: str) -> None:
    """copier's 3-way update of ``project`` (named ``name`` in errors) to ``ref``.

    Answers already recorded are kept, ``data`` changes some; conflicts are left
    inline. Errors are :class:`MlrigError`.
    """
    from copier import run_update

    from mlrig._yaml import keep_line_breaks_in_dumps

    keep_line_breaks_in_dumps()
    with _update_errors(name):
        run_update(
            str(project),
            vcs_ref=ref,
            data=dict(data),
            overwrite=True,
            defaults=True,
            skip_answered=True,
            quiet=True,
            conflict="inline",
            unsafe=unsafe,
            # copier runs git in its renders of both versions: never a .git from the template.
            exclude=NEVER_RENDERED,
        )


@dataclass(frozen=True)
class TemplateData:
    """A template's ``copier.yml`` at one commit, as copier reads it."""

    questions: Mapping[str, Mapping[str, Any]]
    #: The tasks' commands, as copier holds them (a string, a list, or a mapping).
    tasks: tuple[object, ...]
    #: ``_migrations`` as written.
    migrations: object
    jinja_extensions: tuple[str, ...]
    commit: str | None


def is_git(url: str) -> bool:
    """Whether copier opens ``url`` as a git repository (else as a plain directory)."""
    from copier._template import Template

    return Template(url=url).vcs == "git"


def read_template(url: str, ref: str | None, *, label: str, ref_is_commit: bool) -> TemplateData:
    """copier's reading of template ``url`` at ``ref`` (cloned into a temporary directory,
    removed again); ``label`` names it in errors.

    Raises :class:`EnvironmentProblem` when it cannot be fetched and
    :class:`InvalidInputError` when ``ref`` does not exist (``ref_is_commit``: it is
    a commit SHA) or there is no valid ``copier.yml``.
    """
    # Private: Template is copier's own reader of copier.yml, so questions are seen
    # exactly as copier sees them; copier has no public one.
    from copier._template import Template
    from copier.errors import CopierError, MultipleConfigFilesError
    from plumbum import ProcessExecutionError

    template = Template(url=url, ref=ref)
    try:
        root = template.local_abspath
        if not any(
            p.is_file() and p.suffix.lower() in {".yml", ".yaml"} for p in root.glob("copier.*")
        ):
            raise InvalidInputError(
                f"template {label} has no copier.yml, so it is not a copier template; "
                "check the path or URL"
            )
        # copier prints a banner of its own as it raises this; mlrig says it in one line.
        with contextlib.redirect_stderr(io.StringIO()):
            raw = template._raw_config
        return TemplateData(
            questions=template.questions_data,
            tasks=tuple(task.cmd for task in template.tasks),
            migrations=raw.get("_migrations"),
            jinja_extensions=template.jinja_extensions,
            commit=template.commit_hash,
        )
    except MultipleConfigFilesError:
        raise InvalidInputError(
            f"template {label} has both copier.yml and copier.yaml, and copier refuses to "
            "choose; the template must keep only one of them"
        ) from None
    except ProcessExecutionError as exc:
        if ref_is_commit:
            detail = (str(exc.stderr).strip().splitlines() or ["git failed"])[-1]
            raise InvalidInputError(f"template {url} has no commit {ref}: {detail}") from None
        raise _fetch_problem(label, exc) from None
    except (CopierError, ValueError, TypeError, AttributeError) as exc:
        problem = _one_line(exc)
        if problem.startswith("Unknown revision"):
            raise InvalidInputError(
                f"template {url} has no version {ref}; give a tag, branch or commit it has"
            ) from None
        raise InvalidInputError(f"template {label} cannot be read: {problem}") from None
    finally:
        template._cleanup()
