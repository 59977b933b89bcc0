"""Reading small files a user or a repository hands mlrig.

An answers file, a config file or a pipeline is a few kilobytes. Whatever the path
names instead (a FIFO, ``/dev/zero``, a 50 MB file) is refused with
:class:`InvalidInputError`, in well under a second, before a parser can hang on
it; :mod:`mlrig._yaml` refuses the YAML shapes that would (deep nesting, a
"billion laughs" of aliases).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mlrig.errors import InvalidInputError

__all__ = ["MAX_BYTES", "read_bytes", "read_text"]

#: The largest file :func:`read_text` reads; a pure-Python YAML parser takes about
#: half a second for this much.
MAX_BYTES = 64 * 1024


def read_bytes(path: Path, *, what: str, limit: int = MAX_BYTES, root: Path | None = None) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them.

    ``what`` names the file in messages, e.g. ``"answers file a.yml"``. A symlink
    is followed; with ``root`` (a repository's top folder) only to a file inside
    ``root``. Raises :class:`InvalidInputError` when the file does not exist,
    cannot be read, leads out of ``root``, is not a regular file (a FIFO or device
    is never read, so never waited on), or is larger than ``limit`` bytes.
    """
    if root is not None:
        target = Path(os.path.realpath(path))
        if not target.is_relative_to(os.path.realpath(root)):
            raise InvalidInputError(
                f"{what} is a symlink to {target}, outside the repository; mlrig never "
                "follows it: replace it with the real file, or remove it, then retry"
            )
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InvalidInputError(f"{what} does not exist") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {what}: {exc.strerror}") from None
    try:
        # Checked before fdopen, which itself refuses a folder with an OSError.
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            real = os.path.realpath(path)
            shown = "" if real == os.path.abspath(path) else f" (it leads to {real})"
            raise InvalidInputError(f"{what} is not a regular file{shown}; give the path of a file")
        # The size the file system reports, or, for a file still growing, what is read.
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = b"" if info.st_size > limit else file.read(limit + 1)
    finally:
        os.close(fd)
    if info.st_size > limit or len(data) > limit:
        raise InvalidInputError(
            f"{what} is {_size(max(info.st_size, len(data)))}, larger than {_size(limit)}, "
            "the limit for a file mlrig reads; give a smaller file"
        )
    return data


def _size(count: int) -> str:
    return f"{count / 2**20:.1f} MB" if count >= 2**20 else f"{count // 1024} KiB"


def read_text(path: Path, *, what: str, limit: int = MAX_BYTES, root: Path | None = None) -> str:
    """The UTF-8 text of the file at ``path``, read as :func:`read_bytes` reads it.

    Raises :class:`InvalidInputError` as :func:`read_bytes` does, and when the
    file is not UTF-8.
    """
    data = read_bytes(path, what=what, limit=limit, root=root)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"cannot read {what}: it is not UTF-8 text (byte {exc.start}: {exc.reason})"
        ) from None
