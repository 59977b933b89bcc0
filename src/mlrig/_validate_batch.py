"""One validator's run over the files of many rendered trees, its report split back by tree.

For :func:`mlrig.validate.validate_trees`: a file whose result depends only on its
path and content is checked once for every tree that has it (and, with ``known``,
once across calls); each tree then gets the messages its own run would report.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlrig._validators import Check, Spec

__all__ = ["Batch", "strip_prefix"]

# Where a relative path starts in a message: not inside a word or path, or after "://".
_PATH_START = r"(?:(?<=://)|(?<![\w./-]))"


@dataclass
class Batch:
    """One validator's run over the files of many trees; its report split back by path."""

    spec: Spec
    #: Results of files checked in earlier batches (see :func:`mlrig.validate.validate_trees`).
    known: dict[object, list[str]] | None
    #: Each argv path, with its file's key (its tree and path, or its path and
    #: content) and the prefix of the tree it was taken from.
    paths: dict[str, tuple[object, str]] = field(default_factory=dict)
    specs: dict[int, Spec] = field(default_factory=dict)
    #: Each tree's file keys, in the order of its targets.
    keys: dict[int, list[object]] = field(default_factory=dict)

    def add(self, index: int, root: Path, prefix: str, spec: Spec) -> None:
        self.specs[index] = spec
        self.keys[index] = []
        checked = {key for key, _ in self.paths.values()}
        for target in spec.targets:
            key: object = (index, target)
            if spec.dedupe:
                digest = hashlib.sha256((root / target).read_bytes()).hexdigest()
                key = (spec.tool, spec.group, target, digest)
            self.keys[index].append(key)
            if key not in checked and not (self.remembers and key in self.known_results):
                self.paths[prefix + target] = (key, prefix)
                checked.add(key)

    @property
    def remembers(self) -> bool:
        # Only a report that is whole whatever the exit code can stand for later runs.
        return self.known is not None and self.spec.dedupe and self.spec.fails is not None

    @property
    def known_results(self) -> dict[object, list[str]]:
        return self.known if self.known is not None else {}

    def check(self) -> Check:
        return Check(self.spec.tool, [*self.spec.head, *self.paths], self.spec.parse)

    def split(self, messages: list[str], prefixes: Sequence[str]) -> dict[int, list[str] | None]:
        """Each tree's messages, as its own run would report them; ``None``: run it alone."""
        trees = sorted(self.specs)
        results: dict[object, list[str]] = {key: [] for key, _ in self.paths.values()}
        pattern = _path_pattern(self.paths)
        for message in messages:
            match = pattern.search(message) if self.paths else None
            if match is None:
                # Not about one file (the tool failed as a whole).
                if len(trees) == 1 and len(self.paths) == len(self.keys[trees[0]]):
                    # The batch was this tree's own run.
                    own = [strip_prefix(m, prefixes[trees[0]]) for m in messages]
                    return {trees[0]: self.spec.own(own)}
                return dict.fromkeys(trees)
            key, prefix = self.paths[match.group("path")]
            results[key].append(strip_prefix(message, prefix))
        if self.remembers:
            self.known_results.update(results)
            results = self.known_results
        split: dict[int, list[str] | None] = {}
        for index in trees:
            tree_messages = [m for key in self.keys[index] for m in results[key]]
            if tree_messages and self.spec.fails is None:
                split[index] = None
            else:
                split[index] = self.spec.own(tree_messages)
        return split


def _path_pattern(paths: Iterable[str]) -> re.Pattern[str]:
    """Matches the first of ``paths`` named in a message, as a whole path."""
    names = "|".join(re.escape(p) for p in sorted(paths, key=len, reverse=True))
    return re.compile(rf"{_PATH_START}(?P<path>{names})(?![\w.-])")


def strip_prefix(message: str, prefix: str) -> str:
    """``message`` with the tree's ``prefix`` taken off the paths it names."""
    if not prefix:
        return message
    return re.sub(rf"{_PATH_START}{re.escape(prefix)}", "", message)
