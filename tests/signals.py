"""Children that take Ctrl-C the way a terminal's would, however the suite itself runs."""

from __future__ import annotations

import signal


def default_sigint() -> None:
    """``preexec_fn`` for a child the test interrupts with SIGINT.

    A suite run as a background job (``pytest &``, some CI runners) inherits SIGINT
    ignored; its children inherit that too, and Python then never raises
    KeyboardInterrupt, so a Ctrl-C test would see the child run on to the end.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
