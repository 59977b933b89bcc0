"""Credentials inside URLs (``https://user:TOKEN@host/...``): never shown, never recorded.

A token can reach mlrig inside a template URL, from ``--template``, a config file
or an answers file written by an older mlrig, and git quotes URLs in its errors.
:func:`mask` is the one rule for what mlrig shows: the CLI passes everything it
writes to stdout, stderr and report files through it (:class:`MaskingStream`).
:func:`without_credentials` is the URL a project records instead; git then reads
the login from a credential helper (:data:`CREDENTIAL_HINT`).

A URL's user info is a credential when it holds a password (``user:pw@``), or
when it is a user name alone (``https://TOKEN@host``) for any scheme but ssh,
where the user name (``ssh://git@host/...``) is an account, not a secret; git's
scp-like ``git@host:owner/repo`` is not a URL and is left as it is.
"""

from __future__ import annotations

import re
from typing import TextIO
from urllib.parse import urlsplit, urlunsplit

__all__ = ["CREDENTIAL_HINT", "MASK", "MaskingStream", "mask", "without_credentials"]

#: What stands in for a URL's credentials in everything mlrig shows.
MASK = "***"
#: How a template that needs a login is reached without a token in its URL.
CREDENTIAL_HINT = (
    "a template that needs a login reads it from a git credential helper, as mlrig never "
    "records a token in a URL: e.g. `git config --global credential.helper store`, then "
    "`git ls-remote URL` once to enter the login"
)
_SSH_SCHEMES = frozenset({"ssh", "git+ssh", "ssh+git"})
# scheme://userinfo@ — the user info runs to the authority's last "@" (a password
# with an unescaped "@" included) and never past its end ("/", "?", "#"), a
# quote or white space, so that a ref after the path ("...repo@v1") is not taken.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<userinfo>[^\s/?#\"'<>\\]+)@")


def _is_secret(scheme: str, userinfo: str) -> bool:
    return ":" in userinfo or scheme.lower() not in _SSH_SCHEMES


def mask(text: str) -> str:
    """``text`` with the credentials of every URL in it replaced by :data:`MASK`.

    ``https://user:TOKEN@host/x`` and ``https://TOKEN@host/x`` become
    ``https://***@host/x``; everything else, ``ssh://git@host/x`` and
    ``git@host:owner/repo`` included, is returned unchanged.
    """

    def hide(match: re.Match[str]) -> str:
        if not _is_secret(match["scheme"], match["userinfo"]):
            return match.group(0)
        return f"{match['scheme']}://{MASK}@"

    return _USERINFO.sub(hide, text)


def without_credentials(url: str) -> str:
    """``url`` without its credentials (``https://host/x``): what a project may record.

    A URL without credentials (a path, a shorthand, ``ssh://git@host/x``) is
    returned unchanged.
    """
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at or not _is_secret(parts.scheme, userinfo):
        return url
    return urlunsplit(parts._replace(netloc=host))


class MaskingStream:
    """A text stream that writes :func:`mask`-ed text to ``inner``.

    It has the encoding and errors of ``inner`` but no binary ``buffer``, so that
    click writes through it rather than around it. Text is masked a ``write`` at a
    time: click writes each message in one.
    """

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner
        self.encoding = inner.encoding
        self.errors = inner.errors

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            # click probes a stream for bytes with write(b""): a text stream refuses them.
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._inner.write(mask(text))
        return len(text)

    def writable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return self._inner.closed

    def flush(self) -> None:
        self._inner.flush()

    def isatty(self) -> bool:
        return self._inner.isatty()

    def fileno(self) -> int:
        return self._inner.fileno()
