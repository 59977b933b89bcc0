"""Which template a command uses and whether it may run code: one rule for new, adopt, update.

A template may run its tasks, migrations and Jinja extensions when the user said
``--trust`` or when the user config trusts its URL (:meth:`mlrig.config.Config.is_trusted`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlrig._record import ANSWERS_FILE, read_record
from mlrig.commands.new import choose_template
from mlrig.config import Config, load_config
from mlrig.templates import TemplateSpec

__all__ = ["TemplateChoice", "choose_template_for", "project_trusted", "template_trusted"]


@dataclass(frozen=True)
class TemplateChoice:
    """The config read for ``dest``, the template it leads to (None: built-in), the trust."""

    config: Config
    spec: TemplateSpec | None
    trusted: bool


def template_trusted(config: Config, spec: TemplateSpec | None, *, trust: bool) -> bool:
    """Whether ``spec`` may run code: ``trust`` (``--trust``) or a trusted URL in ``config``."""
    return trust or (spec is not None and config.is_trusted(spec.url))


def choose_template_for(
    dest: Path, *, template: str | None, ref: str | None, trust: bool
) -> TemplateChoice:
    """The template for a project at ``dest``: ``--template``, else the config's, else built-in.

    Raises :class:`~mlrig.errors.InvalidInputError` for a bad spec, an invalid
    config file, or ``ref`` without any template (see
    :func:`mlrig.commands.new.choose_template`).
    """
    config = load_config(dest)
    spec = choose_template(config, template=template, ref=ref)
    return TemplateChoice(config, spec, template_trusted(config, spec, trust=trust))


def project_trusted(project: Path, *, trust: bool) -> bool:
    """Whether the template ``project``'s answers file records may run code on update."""
    if trust:
        return True
    if not (project / ANSWERS_FILE).is_file():
        return False  # update itself explains what is missing
    return load_config(project).is_trusted(read_record(project).src_path)
