"""mlrig: correct, secure, fast CI/CD for small machine-learning teams.

The public API is what ``__all__`` lists: the command functions, the answers model
and the error types. None of it prints, prompts or exits; the CLI does that.
"""

from __future__ import annotations

from mlrig._version import __version__
from mlrig.answers import QUESTIONS, Answers, Question, load_answers_file, resolve_answers
from mlrig.commands.new import NewResult, new
from mlrig.errors import EnvironmentProblem, InvalidInputError, MlrigError
from mlrig.templates import builtin_template

__all__ = [
    "QUESTIONS",
    "Answers",
    "EnvironmentProblem",
    "InvalidInputError",
    "MlrigError",
    "NewResult",
    "Question",
    "__version__",
    "builtin_template",
    "load_answers_file",
    "new",
    "resolve_answers",
]
