"""copier.yml's validators refuse what the answers model refuses.

So plain `copier copy`/`copier update` (and Renovate's copier manager) get the
checks `mlrig new` makes: each bad answer below is refused by both, with the same
reason. (Only `bash -n` of the stage commands is mlrig's alone: Jinja cannot run
bash.)
"""

from __future__ import annotations

import keyword
import re
import shutil
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from mlrig.answers import resolve_answers
from mlrig.errors import InvalidInputError
from mlrig.templates import builtin_template

_EXISTING = {
    "existing_repo": True,
    "install_command": "pip install -e .",
    "lint_command": "ruff check .",
    "test_command": "pytest -q",
    "data_command": "none",
    "train_command": "python train.py",
    "evaluate_command": "none",
}

CASES = {
    "keyword": ({"project_name": "class"}, "Python keyword or standard-library module"),
    "stdlib": ({"project_name": "Json"}, "Python keyword or standard-library module"),
    "control-character": ({"test_command": "pytest\x07"}, "control characters"),
    "all-stages-none": (
        dict.fromkeys(("lint_command", "test_command", "data_command", "train_command"), "none"),
        "not all 'none'",
    ),
    "own-file-outside": ({"own_files": ["../etc/passwd"]}, "'../etc/passwd' is not a relative"),
    "own-job-name": ({"own_jobs": ["bad job"]}, "'bad job' is not a job name"),
    "monitoring-without-metrics": (
        {**_EXISTING, "monitoring_schedule": "0 6 * * 1"},
        "evaluate_command and metrics_file",
    ),
}


@pytest.fixture(scope="module")
def builtin_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in template's source, copied so copier reads no working directory."""
    return Path(shutil.copytree(builtin_template(), tmp_path_factory.mktemp("t") / "template"))


@pytest.mark.parametrize(("data", "message"), CASES.values(), ids=CASES.keys())
def test_plain_copier_and_the_model_refuse_the_same_answer(
    tmp_path: Path, builtin_source: Path, data: dict[str, object], message: str
) -> None:
    from copier import run_copy

    with pytest.raises(ValueError, match=re.escape(message)):
        run_copy(str(builtin_source), tmp_path / "p", data=data, defaults=True, quiet=True)
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        resolve_answers(data, project_default="demo", use_defaults=True)
    assert not (tmp_path / "p").exists()


def test_plain_copier_takes_the_answers_of_an_adopted_repository(
    tmp_path: Path, builtin_source: Path
) -> None:
    """The control case: the cross-answer validators let valid answers through."""
    from copier import run_copy

    data = {
        **_EXISTING,
        "monitoring_schedule": "none",
        "own_files": ["Dockerfile"],
        "own_jobs": ["lint"],
    }
    resolve_answers(data, project_default="demo", use_defaults=True)
    run_copy(str(builtin_source), tmp_path / "p", data=data, defaults=True, quiet=True)
    assert (tmp_path / "p" / ".copier-answers.yml").is_file()


def test_copier_yml_reserves_every_keyword_and_standard_module_of_this_python() -> None:
    validator = YAML(typ="safe").load((builtin_template() / "copier.yml").read_text())[
        "project_name"
    ]["validator"]
    reserved = set(re.findall(r"'(\w+)'", validator.split("] -%}")[0]))
    project_like = re.compile(r"[a-z][a-z0-9_]*")
    names = set(keyword.kwlist) | set(sys.stdlib_module_names)
    assert {name for name in names if project_like.fullmatch(name)} <= reserved
