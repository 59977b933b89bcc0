"""Where templates come from, which versions they have, and what they would run.

The built-in template exists twice in the package: ``templates/ml/``, its source,
and ``templates/mlrig-builtin-ml.bundle``, a git bundle holding every released
version as a ``vX.Y.Z`` tag. Projects are generated from the bundle, so copier
records a version and can update them later, offline.

Any other copier template is named by a ``SRC[@REF]`` spec (:func:`parse_template_spec`):
a local directory or bundle, a git URL, or copier's ``gh:``/``gl:`` shorthand.
:func:`inspect_template` reads its ``copier.yml`` at that ref, and
:func:`check_trust` refuses one that would run code unless it is trusted.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from mlrig._credentials import CREDENTIAL_HINT, without_credentials
from mlrig._git import git
from mlrig._version import __version__
from mlrig.errors import EnvironmentProblem, InvalidInputError

__all__ = [
    "BUILTIN_URL",
    "BUNDLE_NAME",
    "NEVER_RENDERED",
    "TRUST_HINT",
    "TemplateInfo",
    "TemplateQuestion",
    "TemplateSpec",
    "builtin_bundle",
    "builtin_data",
    "builtin_template",
    "check_rendered",
    "check_trust",
    "git_url",
    "inspect_template",
    "is_builtin",
    "is_local_spec",
    "parse_template_spec",
    "recorded_source",
    "template_source",
    "template_versions",
]

BUNDLE_NAME = "mlrig-builtin-ml.bundle"
#: What a project's answers file records as the built-in template's ``_src_path``: the
#: public git repository where its released versions are published, the same on every
#: machine. mlrig itself never fetches it: it reads the installed bundle instead
#: (:func:`template_source`); plain copier, Renovate's copier manager, or git's
#: ``url.<bundle>.insteadOf`` (offline) get the same tags from it.
BUILTIN_URL = "https://github.com/mlrig/mlrig-builtin-ml.git"
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
_TAG = re.compile(r"refs/tags/(v?\d[^\s^]*)$")


def _templates_dir() -> Path:
    # In a wheel the templates are packaged as mlrig/templates; in a source checkout
    # (an editable install) they are the repository's top-level templates/.
    package_dir = Path(__file__).resolve().parent
    for root in (package_dir / "templates", package_dir.parent.parent / "templates"):
        if (root / BUNDLE_NAME).is_file():
            return root
    raise EnvironmentProblem(
        f"the built-in template is missing from {package_dir}; reinstall mlrig"
    )


def builtin_template() -> Path:
    """Directory of the built-in template's source (the newest version, as edited)."""
    return _templates_dir() / "ml"


def builtin_bundle() -> Path:
    """The git bundle that holds every released version of the built-in template."""
    return _templates_dir() / BUNDLE_NAME


def builtin_data() -> dict[str, str]:
    """Data every render of the built-in template gets besides the answers.

    ``mlrig_version``, this mlrig's version, is the release the project's template-sync
    job pins (``.mlrig/sync-requirements.txt``); copier never records it.
    """
    return {"mlrig_version": __version__}


def is_builtin(src_path: str) -> bool:
    """Whether an answers file's ``_src_path`` names mlrig's built-in template.

    That is :data:`BUILTIN_URL`, or, in projects made or updated by mlrig 0.3 and
    earlier, the absolute path of the bundle in the installation that made them;
    any mlrig installation's bundle stands in for either.
    """
    return src_path == BUILTIN_URL or Path(src_path).name == BUNDLE_NAME


def template_source(src_path: str) -> str:
    """Where copier and git read the template an answers file records as ``src_path``.

    The installed bundle for the built-in template (:func:`is_builtin`), offline and
    holding every version this mlrig ships; ``src_path`` itself for any other.
    """
    return str(builtin_bundle()) if is_builtin(src_path) else src_path


def recorded_source(source: str) -> str:
    """What a project's answers file records as ``_src_path`` for template ``source``.

    :data:`BUILTIN_URL` for the built-in template (:func:`is_builtin`), the same on
    every machine; any other ``source`` without the credentials of its URL, which
    would otherwise be committed and pushed with the project.
    """
    return BUILTIN_URL if is_builtin(source) else without_credentials(source)


@cache
def template_versions(src: str) -> tuple[str, ...]:
    """Version tags of a git template (repository, URL or bundle), oldest first.

    Raises :class:`EnvironmentProblem` when the template cannot be reached and
    :class:`InvalidInputError` when it has no version tags.
    """
    from packaging.version import InvalidVersion, Version

    versions: list[tuple[Version, str]] = []
    for line in _ls_remote(src, "--tags").splitlines():
        match = _TAG.search(line)
        if match:
            try:
                versions.append((Version(match.group(1)), match.group(1)))
            except InvalidVersion:
                continue
    if not versions:
        raise InvalidInputError(
            f"template {src} has no version tags (such as v1.0.0) to update from"
        )
    return tuple(tag for _, tag in sorted(versions))


def _ls_remote(src: str, *args: str) -> str:
    """``git ls-remote --refs ARGS SRC``; :class:`EnvironmentProblem` when unreachable."""
    proc = git(None, "ls-remote", "--refs", *args, "--", git_url(src))
    if not proc.ok:
        detail = proc.last_error or "no output"
        hint = "check the URL and your network or access"
        if git_url(src).lower().startswith(("http://", "https://")):
            hint = f"{hint}; {CREDENTIAL_HINT}"
        raise EnvironmentProblem(f"cannot reach template {src}: {detail}; {hint}")
    return proc.stdout.decode("utf-8", "surrogateescape")


# How copier 9 tells a git template from a local directory (copier/_vcs.py, get_repo):
# "gh:"/"gl:" expand to GitHub/GitLab HTTPS URLs ending in ".git"; a URL is taken for
# git only when it ends in ".git" or starts with one of these prefixes, and a leading
# "git+" forces git and is stripped. Anything else is opened as a local path.
_COPIER_GIT_PREFIXES = ("git@", "git://", "git+", "https://github.com/", "https://gitlab.com/")
_SHORTHANDS = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/"}
_URL = re.compile(r"(?:git\+)?[A-Za-z][A-Za-z0-9+.-]*://")
# scp-like "user@host:path": the "@" belongs to the user, not a ref.
_SCP = re.compile(r"[\w.~-]+@[\w.-]+:(?!//)")
_OWNER_REPO = re.compile(r"/?[\w.-]+(?:/[\w.-]+)+")
_BAD_REF = re.compile(r"[\s~^:?*\[\\]|\.\.|@\{|^-|^$")
_SHA = re.compile(r"[0-9a-fA-F]{4,40}")


@dataclass(frozen=True)
class TemplateSpec:
    """A copier template and the version of it to use.

    ``url`` is what copier is given, and what it records as ``_src_path``: an
    absolute local path (a directory or a ``.bundle``), a git URL, or a
    ``gh:``/``gl:`` shorthand that copier expands itself. A git URL that copier
    would take for a local path (``file://``, or no ``.git`` suffix) carries
    copier's ``git+`` prefix. ``ref`` is a tag, branch or commit; ``None`` means
    the newest version tag.
    """

    url: str
    ref: str | None = None

    def __str__(self) -> str:
        return self.url if self.ref is None else f"{self.url}@{self.ref}"


def is_local_spec(spec: str) -> bool:
    """Whether ``spec`` names a local path rather than a URL or a gh:/gl: shorthand."""
    text = spec.strip()
    return not (text.lower().startswith(tuple(_SHORTHANDS)) or _URL.match(text) or _SCP.match(text))


def git_url(url: str) -> str:
    """The URL or path that git itself understands for a template ``url``."""
    lower = url.lower()
    for alias, base in _SHORTHANDS.items():
        if lower.startswith(alias):
            rest = url[len(alias) :].lstrip("/")
            return base + (rest if rest.endswith(".git") else f"{rest}.git")
    return url.removeprefix("git+")


def _copier_git_url(url: str) -> str:
    if url.endswith(".git") or url.startswith(_COPIER_GIT_PREFIXES):
        return url
    return f"git+{url}"


def _split_ref(text: str, start: int) -> tuple[str, str | None]:
    at = text.rfind("@", start)
    return (text, None) if at < 0 else (text[:at], text[at + 1 :])


def parse_template_spec(spec: str, *, ref: str | None = None) -> TemplateSpec:
    """Parse ``SRC[@REF]`` into a :class:`TemplateSpec`.

    ``SRC`` is a local directory or ``.bundle`` file (relative paths are made
    absolute; it must exist), a git URL (``file://``, ``https://``, ``ssh://``, or
    scp-like ``git@host:owner/repo.git``, whose ``user@`` is not a ref), or
    ``gh:OWNER/REPO`` / ``gl:OWNER/REPO``. ``ref`` (``--ref``) and ``@REF`` name the
    version; giving both with different values is an :class:`InvalidInputError`,
    as are a missing path and a malformed ref. Nothing is fetched.
    """
    text = spec.strip()
    if not text:
        raise InvalidInputError(
            "the template is empty; give a directory, a git URL or gh:OWNER/REPO"
        )
    lower = text.lower()
    if lower.startswith(tuple(_SHORTHANDS)):
        url, at_ref = _split_ref(text, 3)
        if not _OWNER_REPO.fullmatch(url[3:]):
            raise InvalidInputError(
                f"template {text!r} is not {url[:3]}OWNER/REPO; e.g. gh:acme/ml-template@v1.0.0"
            )
    elif match := _URL.match(text) or _SCP.match(text):
        # The ref separator is an "@" in the path, after any user@host.
        path_start = match.end()
        if _URL.match(text):
            slash = text.find("/", path_start)
            path_start = len(text) if slash < 0 else slash
        base, at_ref = _split_ref(text, path_start)
        if base.endswith("/") or len(base) <= path_start:
            raise InvalidInputError(f"template URL {text!r} names no repository")
        url = _copier_git_url(base)
    else:
        url, at_ref = _local_template(text)
    if at_ref is not None and ref is not None and at_ref != ref:
        raise InvalidInputError(
            f"the template asks for version {at_ref} but --ref asks for {ref}; give only one"
        )
    chosen = ref if ref is not None else at_ref
    if chosen is not None and _BAD_REF.search(chosen):
        raise InvalidInputError(
            f"{chosen!r} is not a git ref; give a tag (e.g. v1.2.0), a branch or a commit SHA"
        )
    return TemplateSpec(url, chosen)


def _local_template(text: str) -> tuple[str, str | None]:
    def absolute(raw: str) -> Path:
        return Path(os.path.abspath(os.path.expanduser(raw)))

    path, at_ref = absolute(text), None
    if not path.exists() and "@" in text:
        head, _, tail = text.rpartition("@")
        if absolute(head).exists():
            path, at_ref = absolute(head), tail
    if not path.exists():
        raise InvalidInputError(
            f"template {text} does not exist; give a directory, a .bundle file, "
            "a git URL or gh:OWNER/REPO"
        )
    if not (path.is_dir() or (path.is_file() and path.suffix == ".bundle")):
        raise InvalidInputError(f"template {path} is neither a directory nor a git .bundle file")
    return str(path), at_ref


@dataclass(frozen=True)
class TemplateQuestion:
    """One question of a copier template, as its ``copier.yml`` states it."""

    name: str
    #: The help text, or the name when the template gives none.
    help: str
    #: copier's type: str, int, float, bool, json or yaml ("" means inferred).
    type: str
    #: The raw default: a value, a Jinja string rendered against earlier answers, or None.
    default: object
    #: The allowed values, in order; empty when any value is allowed.
    choices: tuple[object, ...]
    secret: bool
    #: ``when``: False for a computed value that is never asked, or a Jinja condition.
    when: bool | str

    def default_for(self, answers: Mapping[str, object]) -> object:
        """The default, rendered against ``answers`` when it is a Jinja string.

        ``None`` when there is no default or it cannot be rendered without copier's
        full context (then the template's own default applies only under --defaults).
        """
        if isinstance(self.default, str) and ("{{" in self.default or "{%" in self.default):
            return _render_jinja(self.default, answers)
        return self.default

    def applies(self, answers: Mapping[str, object]) -> bool:
        """Whether copier would ask this question after ``answers``."""
        if isinstance(self.when, bool):
            return self.when
        rendered = _render_jinja(self.when, answers)
        return str(rendered).strip().lower() not in {"", "false", "no", "off", "0", "none"}


def _render_jinja(text: str, answers: Mapping[str, object]) -> str | None:
    """Render a question's Jinja ``text`` in a sandbox; ``None`` when it fails."""
    from jinja2 import TemplateError
    from jinja2.sandbox import SandboxedEnvironment

    try:
        return SandboxedEnvironment().from_string(text).render(**answers)
    except TemplateError:
        return None


@dataclass(frozen=True)
class TemplateInfo:
    """What a template at one version asks and what code it would run."""

    spec: TemplateSpec
    #: The ref copier will check out: ``spec.ref``, else the newest version tag,
    #: else ``"HEAD"`` for a git template without tags; ``None`` for a plain directory.
    ref: str | None
    #: Whether the template has version tags, which ``mlrig update`` needs to follow it.
    has_versions: bool
    questions: tuple[TemplateQuestion, ...]
    tasks: tuple[str, ...]
    migrations: tuple[str, ...]
    jinja_extensions: tuple[str, ...]
    #: The full SHA of the commit that was inspected; ``None`` for a plain directory
    #: and for ``HEAD`` of a local repository (copier renders its uncommitted changes).
    commit: str | None = None

    @property
    def render_ref(self) -> str | None:
        """The ref to render: the inspected commit, so that a tag moved since, or a
        server answering a second fetch differently, cannot change what is rendered."""
        return self.commit or self.ref

    @property
    def runs_code(self) -> tuple[str, ...]:
        """What the template would execute, one description each; empty when nothing."""
        described = [f"task `{task}`" for task in self.tasks]
        described += [f"migration `{migration}`" for migration in self.migrations]
        described += [f"Jinja extension {ext}" for ext in self.jinja_extensions]
        return tuple(described)


def _command(raw: object) -> str:
    if isinstance(raw, Mapping):
        raw = raw.get("command", raw)
    if isinstance(raw, (list, tuple)):
        return " ".join(str(part) for part in raw)
    return str(raw)


def _migrations(raw: object) -> tuple[str, ...]:
    commands: list[str] = []
    for migration in raw if isinstance(raw, list) else []:
        if isinstance(migration, Mapping) and ("before" in migration or "after" in migration):
            # copier's legacy format: {version, before: [cmds], after: [cmds]}
            for stage in ("before", "after"):
                commands += [_command(cmd) for cmd in migration.get(stage) or []]
        else:
            commands.append(_command(migration))
    return tuple(commands)


def _question(name: str, data: Mapping[str, Any]) -> TemplateQuestion:
    raw_choices = data.get("choices") or ()
    if isinstance(raw_choices, Mapping):
        choices: tuple[object, ...] = tuple(raw_choices.values())
    else:
        choices = tuple(
            c[1] if isinstance(c, (list, tuple)) and len(c) == 2 else c
            for c in (raw_choices if isinstance(raw_choices, (list, tuple)) else ())
        )
    when = data.get("when", True)
    return TemplateQuestion(
        name=name,
        help=str(data.get("help") or name).strip(),
        type=str(data.get("type") or ""),
        default=data.get("default"),
        choices=choices,
        secret=bool(data.get("secret", False)),
        when=when if isinstance(when, (bool, str)) else bool(when),
    )


def _check_ref(spec: TemplateSpec) -> tuple[str | None, bool]:
    """Reach a git template; return the ref to check out and whether it has version tags."""
    from packaging.version import InvalidVersion, Version

    listing = _ls_remote(spec.url)
    names = {line.split("\t", 1)[1] for line in listing.splitlines() if "\t" in line}
    tags = [n.removeprefix("refs/tags/") for n in names if n.startswith("refs/tags/")]
    versions: list[tuple[Version, str]] = []
    for tag in tags:
        try:
            versions.append((Version(tag), tag))
        except InvalidVersion:
            continue
    versions.sort()
    if spec.ref is None:
        # copier checks out the newest final-release tag; without one it would warn
        # on stderr and take HEAD, which mlrig says in its own words instead.
        has_release = any(not version.is_prerelease for version, _ in versions)
        return (None if has_release else "HEAD"), bool(versions)
    known = set(tags) | {n.split("/", 2)[-1] for n in names} | names | {"HEAD"}
    # A commit SHA cannot be checked without fetching: the checkout tells.
    if spec.ref in known or _SHA.fullmatch(spec.ref):
        return spec.ref, bool(versions)
    available = ", ".join(tag for _, tag in versions[-10:]) or "none"
    raise InvalidInputError(
        f"template {spec.url} has no version {spec.ref}; its version tags: {available}"
    )


def inspect_template(spec: TemplateSpec) -> TemplateInfo:
    """Read the template's ``copier.yml`` at ``spec.ref``: questions, tasks, migrations.

    Clones a git template into a temporary directory (removed again). Raises
    :class:`EnvironmentProblem` when the template cannot be reached, and
    :class:`InvalidInputError` when the ref does not exist, a plain directory is
    asked for a ref, or there is no valid ``copier.yml``.
    """
    # Imported here: copier takes most of a second to import. Template is copier's
    # own reader of copier.yml, so questions are seen exactly as copier sees them.
    from copier._template import Template
    from copier.errors import CopierError, MultipleConfigFilesError
    from plumbum import ProcessExecutionError

    template = Template(url=spec.url, ref=spec.ref)
    has_versions = False
    ref = spec.ref
    if template.vcs == "git":
        ref, has_versions = _check_ref(spec)
        template = Template(url=spec.url, ref=ref)
    elif spec.ref is not None:
        raise InvalidInputError(
            f"template {spec.url} is not a git repository, so it has no version {spec.ref}; "
            "drop the ref or point at the template's git repository root"
        )
    try:
        root = template.local_abspath
        if not any(
            p.is_file() and p.suffix.lower() in {".yml", ".yaml"} for p in root.glob("copier.*")
        ):
            raise InvalidInputError(
                f"template {spec} has no copier.yml, so it is not a copier template; "
                "check the path or URL"
            )
        # copier prints a banner of its own as it raises this; mlrig says it in one line.
        with contextlib.redirect_stderr(io.StringIO()):
            raw = template._raw_config
        local_head = ref == "HEAD" and is_local_spec(spec.url)
        info = TemplateInfo(
            spec=spec,
            ref=ref,
            has_versions=has_versions,
            questions=tuple(_question(k, v) for k, v in template.questions_data.items()),
            tasks=tuple(_command(task.cmd) for task in template.tasks),
            migrations=_migrations(raw.get("_migrations")),
            jinja_extensions=template.jinja_extensions,
            commit=None if local_head else template.commit_hash,
        )
    except MultipleConfigFilesError:
        raise InvalidInputError(
            f"template {spec} has both copier.yml and copier.yaml, and copier refuses to "
            "choose; the template must keep only one of them"
        ) from None
    except ProcessExecutionError as exc:
        detail = (str(exc.stderr).strip().splitlines() or ["git failed"])[-1]
        if spec.ref is not None and _SHA.fullmatch(spec.ref):
            raise InvalidInputError(
                f"template {spec.url} has no commit {spec.ref}: {detail}"
            ) from None
        raise EnvironmentProblem(f"cannot fetch template {spec}: {detail}") from None
    except (CopierError, ValueError, TypeError, AttributeError) as exc:
        problem = " ".join(str(exc).split())
        if problem.startswith("Unknown revision"):
            raise InvalidInputError(
                f"template {spec.url} has no version {spec.ref}; give a tag, branch or commit "
                "it has"
            ) from None
        raise InvalidInputError(f"template {spec} cannot be read: {problem}") from None
    finally:
        template._cleanup()
    return info


def check_trust(spec: TemplateSpec, *, trusted: bool, info: TemplateInfo | None = None) -> None:
    """Refuse a template that runs tasks, migrations or Jinja extensions unless trusted.

    ``trusted`` is ``--trust`` or a trusted prefix in the mlrig config; ``info``
    spares inspecting the template again. Raises :class:`InvalidInputError`
    naming everything the template would run.
    """
    if trusted:
        return
    runs = (info or inspect_template(spec)).runs_code
    if runs:
        raise InvalidInputError(
            f"template {spec} would run code on your machine: {'; '.join(runs)}; {TRUST_HINT}"
        )


def check_rendered(
    root: Path, spec: TemplateSpec | str, *, trusted: bool, only: Iterable[str] | None = None
) -> None:
    """Refuse a project rendered into ``root`` that holds a symlink pointing outside it.

    copier writes the template's symlinks as they are under ``_preserve_symlinks``,
    wherever they point; mlrig's initial commit would then record them, and adopt
    would copy what they point at into the repository. ``only`` restricts the check
    to these paths (relative to ``root``: what an update changes, so that the
    project's own links are not the template's doing). Unless ``trusted``, raises
    :class:`InvalidInputError` naming the first such link.
    """
    if trusted:
        return
    top = Path(os.path.realpath(root))
    if only is None:
        paths = [
            Path(directory, name)
            for directory, dirnames, filenames in os.walk(root)
            for name in sorted([*dirnames, *filenames])
        ]
    else:
        paths = [root / rel for rel in only]
    for path in paths:
        if path.is_symlink() and not Path(os.path.realpath(path)).is_relative_to(top):
            raise InvalidInputError(
                f"template {spec} writes {path.relative_to(root).as_posix()}, a symlink "
                f"to {os.readlink(path)}, outside the project (_preserve_symlinks); "
                f"{TRUST_HINT}"
            )
