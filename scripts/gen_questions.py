"""Write src/mlrig/_builtin_questions.py from the built-in template's copier.yml.

``templates/ml/copier.yml`` is the one place a built-in question is written: its
name, type, help text, default and choices. mlrig's answers model
(``src/mlrig/answers.py``) reads them from the generated module, so that ``mlrig``
never parses YAML to start. Run after changing a question in copier.yml:

    python scripts/gen_questions.py           # rewrite the module
    python scripts/gen_questions.py --check   # exit 1 when it is stale (the tests run this)

Questions copier computes (``when: false``) are left out: mlrig never asks or
validates them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "templates" / "ml" / "copier.yml"
TARGET = ROOT / "src" / "mlrig" / "_builtin_questions.py"

HEADER = '''\
"""The built-in template's questions, as ``templates/ml/copier.yml`` states them.

Generated from copier.yml by scripts/gen_questions.py: do not edit, run the script
(a test fails while this module and copier.yml disagree).
"""

# ruff: noqa: E501 -- help texts are copied whole from copier.yml.

from __future__ import annotations

from typing import NamedTuple


class QuestionData(NamedTuple):
    """One question of copier.yml: copier's type, its help text, default and choices."""

    name: str
    type: str
    help: str
    default: str | bool | float | tuple[str, ...]
    choices: tuple[str, ...]


'''


def render(copier_yml: str) -> str:
    """The module's text for the copier.yml text ``copier_yml``, formatted by ruff."""
    spec = yaml.safe_load(copier_yml)
    entries = []
    for name, question in spec.items():
        if name.startswith("_") or question.get("when") is False:
            continue
        default = question.get("default")
        if isinstance(default, list):
            default = tuple(default)
        choices = tuple(str(choice) for choice in question.get("choices", ()))
        entries.append(
            f"    QuestionData({name!r}, {question['type']!r}, "
            f"{' '.join(str(question['help']).split())!r}, {default!r}, {choices!r}),"
        )
    text = HEADER + "QUESTIONS: tuple[QuestionData, ...] = (\n" + "\n".join(entries) + "\n)\n"
    ruff = Path(sys.executable).parent / "ruff"
    formatted = subprocess.run(
        [str(ruff), "format", "--stdin-filename", str(TARGET), "-"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return formatted.stdout


def main(argv: list[str]) -> int:
    text = render(SOURCE.read_text(encoding="utf-8"))
    if argv == ["--check"]:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is stale; run python scripts/gen_questions.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
