"""What a copier template asks and what code it would run, read as copier reads it.

:func:`inspect_template` reads a template's ``copier.yml`` at one ref (through
:mod:`mlrig._copier`), :func:`check_trust` refuses one that would run code unless
it is trusted, and :func:`check_rendered` refuses a rendered project whose symlinks
lead out of it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlrig import _copier
from mlrig._copier import TRUST_HINT
from mlrig.errors import InvalidInputError
from mlrig.templates import TemplateSpec, _ls_remote, is_local_spec

__all__ = [
    "TemplateInfo",
    "TemplateQuestion",
    "check_rendered",
    "check_trust",
    "inspect_template",
]

_SHA = re.compile(r"[0-9a-fA-F]{4,40}")


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
    has_versions = False
    ref = spec.ref
    if _copier.is_git(spec.url):
        ref, has_versions = _check_ref(spec)
    elif spec.ref is not None:
        raise InvalidInputError(
            f"template {spec.url} is not a git repository, so it has no version {spec.ref}; "
            "drop the ref or point at the template's git repository root"
        )
    data = _copier.read_template(
        spec.url,
        ref,
        label=str(spec),
        ref_is_commit=spec.ref is not None and bool(_SHA.fullmatch(spec.ref)),
    )
    local_head = ref == "HEAD" and is_local_spec(spec.url)
    return TemplateInfo(
        spec=spec,
        ref=ref,
        has_versions=has_versions,
        questions=tuple(_question(k, v) for k, v in data.questions.items()),
        tasks=tuple(_command(task) for task in data.tasks),
        migrations=_migrations(data.migrations),
        jinja_extensions=data.jinja_extensions,
        commit=None if local_head else data.commit,
    )


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
