"""``mlrig new`` as its command line asks for it: which template, which answers, then render.

The presenter (:mod:`mlrig.cli.new`) passes what was typed and, in a terminal,
the functions that prompt; everything decided from them is decided here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlrig._progress import Progress, silent
from mlrig.answers import Answers, Ask, load_shared_answers, resolve_answers
from mlrig.commands._template_choice import template_trusted
from mlrig.commands.new import (
    AskTemplate,
    NewResult,
    builtin_presets,
    check_destination,
    choose_template,
    new,
    resolve_template_answers,
    template_presets,
)
from mlrig.config import load_config

__all__ = ["Created", "create"]


@dataclass(frozen=True)
class Created:
    """What ``create`` made, and the built-in template's answers (None for another template)."""

    result: NewResult
    answers: Answers | None


def create(
    dest: Path,
    *,
    data: Mapping[str, object],
    answers_file: Path | None = None,
    use_defaults: bool = False,
    template: str | None = None,
    ref: str | None = None,
    trust: bool = False,
    ask: Ask | None = None,
    ask_template: AskTemplate | None = None,
    git: bool = True,
    dry_run: bool = False,
    progress: Progress = silent,
) -> Created:
    """Make the project ``mlrig new DEST`` describes.

    The answers are, lowest first: the config's presets, ``answers_file`` (its
    project_name is not taken), ``data`` (``-d``); project_name defaults to
    ``dest``'s folder name. The template is ``template`` (``--template``), else
    the config's, else the built-in one; it may run code when ``trust`` or the
    user config trusts its URL. Unanswered questions are asked through ``ask``
    (built-in) or ``ask_template`` (another template) when given, take their
    defaults under ``use_defaults``, and are an
    :class:`~mlrig.errors.InvalidInputError` otherwise.
    """
    check_destination(dest)
    config = load_config(dest)
    folder = Path(os.path.abspath(dest)).name
    given: dict[str, object] = (
        load_shared_answers(answers_file, project_name=folder) if answers_file else {}
    )
    given.update(data)
    spec = choose_template(config, template=template, ref=ref)
    if spec is None:
        answers = resolve_answers(
            {**builtin_presets(config, overridden=given), **given},
            project_default=folder,
            use_defaults=use_defaults,
            ask=ask,
        )
        result = new(dest, answers=answers, git=git, dry_run=dry_run, progress=progress)
        return Created(result, answers)
    from mlrig.template_info import check_trust, inspect_template

    info = inspect_template(spec)
    trusted = template_trusted(config, spec, trust=trust)
    check_trust(spec, trusted=trusted, info=info)
    custom = resolve_template_answers(
        info,
        {**template_presets(info, config, overridden=given), **given},
        use_defaults=use_defaults,
        ask=ask_template,
        dest=dest,
        trust=trusted,
    )
    result = new(
        dest,
        answers=custom,
        template=info,
        git=git,
        dry_run=dry_run,
        trust=trusted,
        progress=progress,
    )
    return Created(result, None)
