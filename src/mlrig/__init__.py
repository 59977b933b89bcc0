"""mlrig: correct, secure, fast CI/CD for small machine-learning teams.

The public API is what ``__all__`` lists: the command functions, the answers model
and the error types. None of it prints, prompts or exits; the CLI does that.
Names are imported on first use, so that ``mlrig --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mlrig._version import __version__

if TYPE_CHECKING:
    from mlrig.answers import QUESTIONS, Answers, Question, load_answers_file, resolve_answers
    from mlrig.commands.check import CheckResult, check
    from mlrig.commands.new import NewResult, new
    from mlrig.commands.update import UpdateResult, update
    from mlrig.errors import EnvironmentProblem, Interrupted, InvalidInputError, MlrigError
    from mlrig.templates import builtin_template

_HOMES = {
    "QUESTIONS": "mlrig.answers",
    "Answers": "mlrig.answers",
    "Question": "mlrig.answers",
    "load_answers_file": "mlrig.answers",
    "resolve_answers": "mlrig.answers",
    "CheckResult": "mlrig.commands.check",
    "check": "mlrig.commands.check",
    "NewResult": "mlrig.commands.new",
    "new": "mlrig.commands.new",
    "UpdateResult": "mlrig.commands.update",
    "update": "mlrig.commands.update",
    "EnvironmentProblem": "mlrig.errors",
    "Interrupted": "mlrig.errors",
    "InvalidInputError": "mlrig.errors",
    "MlrigError": "mlrig.errors",
    "builtin_template": "mlrig.templates",
}

__all__ = [
    "QUESTIONS",
    "Answers",
    "CheckResult",
    "EnvironmentProblem",
    "Interrupted",
    "InvalidInputError",
    "MlrigError",
    "NewResult",
    "Question",
    "UpdateResult",
    "__version__",
    "builtin_template",
    "check",
    "load_answers_file",
    "new",
    "resolve_answers",
    "update",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'mlrig' has no attribute {name!r}")
