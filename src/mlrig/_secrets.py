"""The secret scan of ``mlrig doctor``: git greps, detect-secrets decides.

``git grep`` (threaded, in C, binary files skipped, over tracked and untracked,
unignored files) picks the lines that could hold a credential; Yelp's
detect-secrets (the only place mlrig calls it) decides which of them do, with its
own detectors and its own false-positive filters, and mlrig adds its placeholder
rule on top (``changeme``, ``<your-key>``, ``${VAR}``, values without a digit).
Nothing leaves the machine: detect-secrets' network verification is never called
(only each detector's ``analyze_string``), and the value found is never kept.

A ``KEY=value`` line of an environment file (``.env``, ``.env.local``,
``prod.env``, ``.envrc``) or an ``export KEY=value`` line anywhere is read the way
detect-secrets reads a configuration file: no quotes needed around the value.
"""

from __future__ import annotations

import functools
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from detect_secrets.filters import heuristic
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.base import BasePlugin, RegexBasedDetector
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.keyword import (
    CONFIG_DENYLIST_REGEX_TO_GROUP,
    DENYLIST,
    QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
    REGEX_BY_FILETYPE,
    KeywordDetector,
)
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.util.filetype import determine_file_type

from mlrig._git import start_git

__all__ = ["SECRET_SCAN_MAX_BYTES", "Secret", "secrets", "start_secret_scan"]

#: Text files bigger than this are not searched for secrets.
SECRET_SCAN_MAX_BYTES = 1024 * 1024
# Only the head of a longer line (minified code, data) is searched: bounded work.
_MAX_LINE = 4096
# Binary formats, and lock files (full of hashes), are not searched for secrets.
_SKIP_FILE = re.compile(
    r"\.(?:png|jpe?g|gif|bmp|ico|webp|pdf|zip|gz|tgz|bz2|xz|zst|7z|tar|whl|so|dll|dylib|exe|bin"
    r"|pt|pth|ckpt|onnx|h5|hdf5|pkl|pickle|joblib|npy|npz|parquet|feather|arrow|avro|orc|db"
    r"|sqlite|mp3|mp4|wav|woff2?|ttf|safetensors|tflite|pb|lock)$",
    re.IGNORECASE,
)


class _TokenKeyword(RegexBasedDetector):
    """A value assigned to a ``*token*`` name (``HF_TOKEN=...``, ``api_token: "..."``).

    detect-secrets' keyword list leaves ``token`` out; ML teams' credentials
    (Hugging Face, Weights & Biases, Neptune ...) are mostly named so.
    """

    secret_type = "Token Keyword"
    denylist = (
        re.compile(
            r"(?i)(?:^|[\s{,;(])(?:export\s+)?[\"']?\w*token\w*[\"']?\s*[:=]\s*[\"']?"
            r"([^\s\"'`,;#]{8,200})"
        ),
    )


_KEYWORD_KIND = "hard-coded password or key"


@dataclass(frozen=True)
class _Detector:
    """A detect-secrets detector, the kind it reports, and its hint: a line without a
    match of the hint (case-insensitive, both a Python and a POSIX extended regex)
    cannot hold what the detector finds, so it is never asked."""

    plugin: BasePlugin
    kind: str
    hint: str
    keyword: bool = False

    @functools.cached_property
    def hinted(self) -> re.Pattern[str]:
        return re.compile(self.hint, re.IGNORECASE)


# The detectors mlrig runs, in the order a line is named by.
_DETECTORS = (
    _Detector(PrivateKeyDetector(), "private key", r"private key|putty-user-key"),
    _Detector(AWSKeyDetector(), "AWS access key", r"akia|asia|abia|acca|a3t|aws"),
    _Detector(GitHubTokenDetector(), "GitHub token", r"gh[pousr]_|github_pat_"),
    _Detector(GitLabTokenDetector(), "GitLab token", r"gl[a-z]*-|gr1348941"),
    _Detector(SlackDetector(), "Slack token", r"xox|hooks\.slack\.com"),
    _Detector(OpenAIDetector(), "OpenAI key", r"t3blbkfj"),
    _Detector(StripeDetector(), "Stripe key", r"k_live_"),
    _Detector(PypiTokenDetector(), "PyPI token", r"pypi-"),
    _Detector(NpmDetector(), "npm token", r"_authtoken"),
    _Detector(SendGridDetector(), "SendGrid key", r"sg\."),
    _Detector(BasicAuthDetector(), "password in a URL", r"://[^ /]+:[^ /]*@"),
    # detect-secrets' own keyword list (password, api_?key, secret ...).
    _Detector(KeywordDetector(), _KEYWORD_KIND, "|".join(DENYLIST), keyword=True),
    _Detector(_TokenKeyword(), _KEYWORD_KIND, "token"),
)
# git grep's cheap first pass: a line that may interest any detector.
_HINT = "|".join(detector.hint for detector in _DETECTORS)
# A value that is a placeholder, a template or a reference, not a credential.
_PLACEHOLDER = re.compile(
    r"(?i)example|change.?me|placeholder|dummy|sample|your|redacted|xxxx|\*\*\*|\$\{|\{\{|%\(|<|"
    r"\{\w*\}|^(?:password|secret|token)"
)
_ENV_FILE = re.compile(r"(?:^|/)(?:\.env(?:\.[^/]+)?|[^/]+\.env|\.envrc)$")
_NOT_ENV_FILE = re.compile(r"\.(?:example|sample|template|dist|tmpl)$", re.IGNORECASE)


@dataclass(frozen=True)
class Secret:
    """Where something that looks like a credential is; the value itself is never kept."""

    path: str
    line: int
    kind: str


def start_secret_scan(root: Path, size_of: dict[str, int]) -> subprocess.Popen[bytes]:
    """Start ``git grep`` for lines that may hold a credential; see :func:`secrets`.

    git greps tracked and untracked, unignored text files (binary ones skipped)
    in parallel, in C; files over :data:`SECRET_SCAN_MAX_BYTES` are left out.
    """
    too_big = [f":(exclude,literal){p}" for p, s in size_of.items() if s > SECRET_SCAN_MAX_BYTES]
    return start_git(
        root,
        # A user's grep settings must not change the output format.
        *("-c", "grep.column=false", "-c", "grep.fullName=false"),
        *("grep", "-I", "-n", "-z", "-i", "-E", "--untracked", "--no-color"),
        *("-e", _HINT, "--", ".", *too_big),
    )


def secrets(scan: subprocess.Popen[bytes]) -> list[Secret]:
    """Lines that look like committed credentials, at most one finding per line.

    ``scan`` comes from :func:`start_secret_scan`; each of its candidate lines goes
    through the detectors (the first that finds one names the line), and what
    detect-secrets' filters or mlrig's placeholder rule call harmless is dropped.
    """
    output, _ = scan.communicate()
    found: list[Secret] = []
    # Records are `path NUL number NUL text`, one per line.
    for record in output.split(b"\n"):
        path, _, rest = record.partition(b"\0")
        number, separator, data = rest.partition(b"\0")
        name = path.decode("utf-8", "surrogateescape")
        if not separator or not number.isdigit() or _SKIP_FILE.search(name):
            continue
        line = data[:_MAX_LINE].decode("utf-8", "replace")
        kind = next(_kinds(name, line), None)
        if kind is not None:
            found.append(Secret(name, int(number), kind))
    return sorted(found, key=lambda s: (s.path, s.line))


def _kinds(path: str, line: str) -> Iterator[str]:
    """The kind of each credential the detectors find in ``line`` of ``path``."""
    if heuristic.is_lock_file(path):
        return
    for detector in _DETECTORS:
        if not detector.hinted.search(line):
            continue
        if detector.keyword:
            export = line.lstrip().startswith("export ")
            regexes = _keyword_regexes(path, export)
            keyword = cast(KeywordDetector, detector.plugin)
            values = keyword.analyze_string(line, denylist_regex_to_group=regexes)
        else:
            values = detector.plugin.analyze_string(line)
        for value in values:
            if not _harmless(value, line, detector):
                yield detector.kind


@functools.lru_cache(maxsize=1024)
def _keyword_regexes(path: str, export: bool) -> dict[re.Pattern[str], int]:
    """detect-secrets' keyword regexes for a line of ``path``: those of configuration
    files (no quotes needed) for an environment file or an ``export`` line, else those
    its file type takes."""
    if export or (_ENV_FILE.search(path) is not None and _NOT_ENV_FILE.search(path) is None):
        return CONFIG_DENYLIST_REGEX_TO_GROUP
    return REGEX_BY_FILETYPE.get(determine_file_type(path), QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP)


def _harmless(value: str, line: str, detector: _Detector) -> bool:
    """Whether a value found is a placeholder, a reference or a made-up string."""
    if detector.kind == "AWS access key" and value.endswith("EXAMPLE"):
        return True
    if detector.kind in {_KEYWORD_KIND, "password in a URL"}:
        # Without a digit, only a long mixed-case value has a credential's shape (a
        # Hugging Face token is letters only); a word or a name has not.
        wordlike = not re.search(r"\d", value) and (
            len(value) < 20 or value.islower() or value.isupper()
        )
        if (
            wordlike
            or len(set(value)) < 5
            or _PLACEHOLDER.search(value) is not None
            or heuristic.is_not_alphanumeric_string(value)
        ):
            return True
    return (
        heuristic.is_templated_secret(value)
        or heuristic.is_prefixed_with_dollar_sign(value)
        or heuristic.is_sequential_string(value)
        or heuristic.is_potential_uuid(value)
        or heuristic.is_likely_id_string(value, line, detector.plugin)
        or heuristic.is_indirect_reference(line)
    )
