"""The built-in template says which files a project gets in one place: copier.yml.

File names under ``templates/ml/project`` are plain (a value such as
``{{package_name}}`` may be in them, a condition may not); ``_exclude`` lists
each condition with the paths it drops. What both CI providers compute from the
answers is written once, in ``templates/ml/includes/flags.jinja``, beside
``project/`` so that copier never renders it into a project.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "ml"
PROJECT = TEMPLATE / "project"
FLAGS = TEMPLATE / "includes" / "flags.jinja"
PIPELINES = (
    PROJECT / ".github" / "workflows" / "ci.yml.jinja",
    PROJECT / ".gitlab-ci.yml.jinja",
)
# An _exclude item that drops paths under one condition: "{% if ... %}/a\n/b{% endif %}".
CONDITION_ITEM = re.compile(r"\{% if [^%]+ %\}(?P<paths>.*)\{% endif %\}", re.DOTALL)


def condition_paths() -> list[str]:
    """The paths the conditional items of copier.yml's ``_exclude`` drop, as written."""
    config = yaml.safe_load((TEMPLATE / "copier.yml").read_text(encoding="utf-8"))
    return [
        line
        for item in config["_exclude"]
        if (match := CONDITION_ITEM.fullmatch(item))
        for line in match["paths"].split("\n")
    ]


def test_no_path_of_the_template_carries_a_jinja_condition() -> None:
    conditional = [p.relative_to(PROJECT).as_posix() for p in PROJECT.rglob("*") if "{%" in p.name]
    assert conditional == [], "name the file plainly and drop it in copier.yml's _exclude"


def test_each_exclude_condition_names_a_path_of_the_template() -> None:
    paths = condition_paths()
    assert len(paths) >= 10, "the conditional _exclude items were not found"
    missing = []
    for path in paths:
        # A pattern is anchored at the project's root and names the rendered path: the
        # template's file may carry .jinja, and {{ package_name }} is its directory's name.
        relative = path.removeprefix("/").replace("{{ package_name }}", "{{package_name}}")
        if not path.startswith("/") or not any(
            (PROJECT / name).exists() for name in (relative, relative + ".jinja")
        ):
            missing.append(path)
    assert missing == [], "each _exclude pattern must be '/' and a path of templates/ml/project"


def test_the_shared_flags_are_imported_by_both_providers_pipelines() -> None:
    assert FLAGS.is_file()
    assert not FLAGS.is_relative_to(PROJECT), "copier would render it into every project"
    for pipeline in PIPELINES:
        text = pipeline.read_text(encoding="utf-8")
        assert "{%- from 'includes/flags.jinja' import " in text, pipeline.name
        # The stage flags come from the include alone, never set again beside it.
        assert "{%- set has_train " not in text, pipeline.name
