"""The one error hierarchy of mlrig.

Every error a user can cause or fix is an :class:`MlrigError`. Its ``str()`` is a
complete sentence that says what is wrong and what to do, and its ``exit_code`` is
the documented code the CLI exits with. Anything else that escapes is a bug.
"""

from __future__ import annotations

__all__ = [
    "EnvironmentProblem",
    "Interrupted",
    "InvalidInputError",
    "MlrigError",
]


class MlrigError(Exception):
    """Base of every user-facing error; ``str()`` is the message shown to the user."""

    exit_code: int = 1
    #: A stable word for machine-readable reports (``--json``): the kind of problem.
    kind: str = "error"


class InvalidInputError(MlrigError):
    """Usage or input is invalid: bad answers, a bad destination, a bad answers file."""

    exit_code = 2
    kind = "invalid_input"


class EnvironmentProblem(MlrigError):
    """The machine or repository is not in a state mlrig can work with (no git, a missing tool)."""

    exit_code = 3
    kind = "environment"


class Interrupted(MlrigError):
    """The user interrupted a command; the message says what state things are in."""

    exit_code = 130
    kind = "interrupted"
