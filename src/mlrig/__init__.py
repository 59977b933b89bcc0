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
    from mlrig.commands.adopt import AdoptResult, add, adopt
    from mlrig.commands.check import CheckResult, check
    from mlrig.commands.doctor import DoctorFinding, DoctorReport, doctor
    from mlrig.commands.fleet import FleetResult, RepoStatus, fleet_check, fleet_update
    from mlrig.commands.new import NewResult, new
    from mlrig.commands.template_init import TemplateInitResult, template_init
    from mlrig.commands.template_test import TemplateTestResult, template_test
    from mlrig.commands.update import UpdateResult, update
    from mlrig.config import Config, load_config
    from mlrig.errors import EnvironmentProblem, Interrupted, InvalidInputError, MlrigError
    from mlrig.templates import TemplateSpec, builtin_template, parse_template_spec

_HOMES = {
    "QUESTIONS": "mlrig.answers",
    "Answers": "mlrig.answers",
    "Question": "mlrig.answers",
    "load_answers_file": "mlrig.answers",
    "resolve_answers": "mlrig.answers",
    "AdoptResult": "mlrig.commands.adopt",
    "add": "mlrig.commands.adopt",
    "adopt": "mlrig.commands.adopt",
    "CheckResult": "mlrig.commands.check",
    "check": "mlrig.commands.check",
    "DoctorFinding": "mlrig.commands.doctor",
    "DoctorReport": "mlrig.commands.doctor",
    "doctor": "mlrig.commands.doctor",
    "FleetResult": "mlrig.commands.fleet",
    "RepoStatus": "mlrig.commands.fleet",
    "fleet_check": "mlrig.commands.fleet",
    "fleet_update": "mlrig.commands.fleet",
    "TemplateInitResult": "mlrig.commands.template_init",
    "template_init": "mlrig.commands.template_init",
    "TemplateTestResult": "mlrig.commands.template_test",
    "template_test": "mlrig.commands.template_test",
    "Config": "mlrig.config",
    "load_config": "mlrig.config",
    "NewResult": "mlrig.commands.new",
    "new": "mlrig.commands.new",
    "UpdateResult": "mlrig.commands.update",
    "update": "mlrig.commands.update",
    "EnvironmentProblem": "mlrig.errors",
    "Interrupted": "mlrig.errors",
    "InvalidInputError": "mlrig.errors",
    "MlrigError": "mlrig.errors",
    "TemplateSpec": "mlrig.templates",
    "builtin_template": "mlrig.templates",
    "parse_template_spec": "mlrig.templates",
}

__all__ = [
    "QUESTIONS",
    "AdoptResult",
    "Answers",
    "CheckResult",
    "Config",
    "DoctorFinding",
    "DoctorReport",
    "EnvironmentProblem",
    "FleetResult",
    "Interrupted",
    "InvalidInputError",
    "MlrigError",
    "NewResult",
    "Question",
    "RepoStatus",
    "TemplateInitResult",
    "TemplateSpec",
    "TemplateTestResult",
    "UpdateResult",
    "__version__",
    "add",
    "adopt",
    "builtin_template",
    "check",
    "doctor",
    "fleet_check",
    "fleet_update",
    "load_answers_file",
    "load_config",
    "new",
    "parse_template_spec",
    "resolve_answers",
    "template_init",
    "template_test",
    "update",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'mlrig' has no attribute {name!r}")
