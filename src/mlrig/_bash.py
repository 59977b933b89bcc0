"""bash, the one place mlrig runs it: ``bash -n`` parses shell text and never runs it.

The answers model refuses a stage command bash cannot parse; the repository model
drops command candidates that do not parse. Both ask here, many texts at a time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable

# One bash reads the texts NUL-separated on stdin and prints, NUL-separated, nothing for
# a text that parses and "!" plus the first line of bash's message for one that does not.
_DRIVER = (
    'while IFS= read -r -d "" c; do '
    'if out=$(bash --noprofile --norc -n -c "$c" 2>&1); then printf "\\0"; '
    "else printf '!%s\\0' \"${out%%$'\\n'*}\"; fi; done"
)
_TIMEOUT = 30  # seconds, for all the texts together


def syntax_errors(texts: Iterable[str]) -> dict[str, str | None] | None:
    """For each text, bash's first error line ('' when bash gives none) or ``None``
    when the text parses; ``None`` altogether when bash is not installed or fails.
    """
    unique = list(dict.fromkeys(texts))
    bash = shutil.which("bash")
    if bash is None:
        return None
    if not unique:
        return {}
    try:
        proc = subprocess.run(
            [bash, "--noprofile", "--norc", "-c", _DRIVER],
            input="".join(f"{text}\0" for text in unique),
            capture_output=True,
            text=True,
            check=False,
            timeout=_TIMEOUT,
            env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    verdicts = proc.stdout.split("\0")[:-1]
    if len(verdicts) != len(unique):
        return None
    return {
        text: re.sub(r"^bash: -c: ", "", verdict[1:]) if verdict.startswith("!") else None
        for text, verdict in zip(unique, verdicts, strict=True)
    }
