"""Scratch folders and who owns them: the protocol that lets a later run clean up a killed one.

``update`` and ``fleet update`` work in scratch folders (a throw-away worktree, a
staging area of new file contents). A Ctrl-C cleans them up on the way out; a
SIGKILL cannot. So each folder records its owner, the host and process id that made
it (:func:`claim`), and a later run removes only the folders whose owner is gone
(:func:`abandoned`) — never those of a running mlrig, another host or another user.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import time
from pathlib import Path

_OWNER = "owner"
# Seconds after which a scratch folder nobody claimed counts as left behind.
_UNCLAIMED_AGE = 3600
#: Name prefixes of the scratch folders of ``update`` and ``fleet update``.
UPDATE_SCRATCH = "mlrig-update-"
FLEET_SCRATCH = "mlrig-fleet-"


def claim(folder: Path) -> None:
    """Record this process (host and id) as the owner of ``folder``, for :func:`abandoned`."""
    (folder / _OWNER).write_text(f"{socket.gethostname()} {os.getpid()}\n")


def abandoned(folder: Path) -> bool:
    """True when the process that :func:`claim`-ed ``folder`` on this host is gone.

    A folder without an owner is abandoned only when it is over an hour old: it may
    be a live run's, between its creation and its claim, or an older mlrig's.
    """
    try:
        host, pid = (folder / _OWNER).read_text().split()
    except FileNotFoundError:
        try:
            return time.time() - folder.stat().st_mtime > _UNCLAIMED_AGE
        except OSError:
            return False
    except (OSError, ValueError):
        return False
    if host != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (OSError, ValueError):
        return False
    return False


def abandoned_in_temp(also: set[Path]) -> set[Path]:
    """The abandoned scratch folders of ``update`` and ``fleet update``.

    Looks in the system's temporary directory and ``/dev/shm`` (where they are made)
    and in ``also`` (folders known otherwise, such as registered worktrees' parents).
    """
    folders = set(also)
    for root in {tempfile.gettempdir(), "/dev/shm"}:
        with contextlib.suppress(OSError):
            folders.update(Path(root, name) for name in os.listdir(root))
    return {
        folder
        for folder in folders
        if folder.name.startswith((UPDATE_SCRATCH, FLEET_SCRATCH)) and abandoned(folder)
    }
