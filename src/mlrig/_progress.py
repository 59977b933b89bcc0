"""How the core reports what it is doing: a callback the caller passes in.

The core never prints; a command that takes seconds calls ``progress(phase)`` at
each phase, and the CLI decides whether and where to show it.
"""

from __future__ import annotations

from collections.abc import Callable

#: Called with a short phrase naming the phase that starts, e.g. "rendering the project".
Progress = Callable[[str], None]


def silent(_phase: str) -> None:
    """The default :data:`Progress`: report nothing."""
