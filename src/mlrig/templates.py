"""Where templates come from and which versions they have.

The built-in template exists twice in the package: ``templates/ml/``, its source,
and ``templates/mlrig-builtin-ml.bundle``, a git bundle holding every released
version as a ``vX.Y.Z`` tag. Projects are generated from the bundle, so copier
records a version and can update them later, offline.

Any other copier template is named by a ``SRC[@REF]`` spec (:func:`parse_template_spec`):
a local directory or bundle, a git URL, or copier's ``gh:``/``gl:`` shorthand.
:mod:`mlrig.template_info` reads what it asks and runs at that ref.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from mlrig._copier import as_git_source
from mlrig._credentials import CREDENTIAL_HINT, without_credentials
from mlrig._git import git
from mlrig._version import __version__
from mlrig.errors import EnvironmentProblem, InvalidInputError

__all__ = [
    "BUILTIN_URL",
    "BUNDLE_NAME",
    "TemplateSpec",
    "builtin_bundle",
    "builtin_data",
    "builtin_template",
    "git_url",
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


# copier's gh:/gl: shorthands, expanded here as copier's get_repo expands them (a test
# keeps the two in step): `mlrig check` reads version tags with git alone and must
# not pay copier's import.
_SHORTHANDS = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/"}
_URL = re.compile(r"(?:git\+)?[A-Za-z][A-Za-z0-9+.-]*://")
# scp-like "user@host:path": the "@" belongs to the user, not a ref.
_SCP = re.compile(r"[\w.~-]+@[\w.-]+:(?!//)")
_OWNER_REPO = re.compile(r"/?[\w.-]+(?:/[\w.-]+)+")
_BAD_REF = re.compile(r"[\s~^:?*\[\\]|\.\.|@\{|^-|^$")


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
        url = as_git_source(base)
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
