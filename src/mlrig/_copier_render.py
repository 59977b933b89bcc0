"""Faster, not different, renders for a process that renders one template many times.

``mlrig template test``'s render processes call :func:`prepare_render_process`
once; their renders then go through :func:`mlrig._copier.copy` as any other. It
replaces private steps of copier 9's render with cached or skipped ones. Each
replacement is made only when the private name it replaces exists: against a
copier that changed them, renders are as slow as plain copier's, never wrong.
"""

from __future__ import annotations

import copy as copy_module
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["prepare_render_process"]


def prepare_render_process() -> None:
    """Make this process's renders of one template cheaper, with the same output.

    For a process that renders one template at one commit with the same settings into
    fresh directories outside any git repository:

    - copier builds a new Jinja environment per render and compiles every file and
      path again: code compiled from the same text with the same settings is the
      same, so it is kept, keyed by what ``compile`` is given;
    - copier parses ``copier.yml`` again per render: the same file of the same
      checkout parses the same, so it is parsed once (each render gets a copy);
    - copier runs git three times per render to tell whether the template is a git
      repository or bundle (``get_repo``): the answer for a source is kept;
    - copier works out the answers to record (``_answers_to_remember``) per rendered
      file and path: they are settled before rendering, so once per render;
    - copier runs git once per rendered file to carry the executable bit into the
      destination's git index (``_sync_git_index_executable_bit``), a no-op outside
      a git repository: it is not run.
    """
    import copier._main
    import copier._template
    import jinja2

    _swap(jinja2.Environment, "compile", _compile_once)
    _swap(copier._template, "load_template_config", _load_once)
    _swap(copier._template, "get_repo", _memo)
    if hasattr(copier._main.Worker, "_answers_to_remember"):
        _swap(copier._main.Worker, "_render_template", _remember_once)
    _swap(copier._main.Worker, "_sync_git_index_executable_bit", lambda _: _no_index_sync)


def _swap(owner: object, name: str, make: Callable[[Any], Any]) -> None:
    """Replace ``owner.name`` by ``make(original)``; leave it alone when it is gone."""
    original = getattr(owner, name, None)
    if original is not None:
        setattr(owner, name, make(original))


def _memo(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    results: dict[Any, Any] = {}

    def once(key: Any) -> Any:
        if key not in results:
            results[key] = function(key)
        return results[key]

    return once


def _compile_once(original: Callable[..., Any]) -> Callable[..., Any]:
    compiled: dict[tuple[str, str | None, str | None, bool, bool], Any] = {}

    def compile_once(
        self: Any,
        source: Any,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        if not isinstance(source, str):  # a parsed template: compiled as given
            return original(self, source, name, filename, raw, defer_init)
        key = (source, name, filename, raw, defer_init)
        if key not in compiled:
            compiled[key] = original(self, source, name, filename, raw, defer_init)
        return compiled[key]

    return compile_once


def _load_once(original: Callable[..., Any]) -> Callable[..., Any]:
    loaded: dict[tuple[Path, bool], Any] = {}

    def load_once(conf_path: Path, quiet: bool = False) -> Any:
        key = (Path(conf_path).resolve(), quiet)
        if key not in loaded:
            loaded[key] = original(conf_path, quiet)
        return copy_module.deepcopy(loaded[key])

    return load_once


def _remember_once(original: Callable[[Any], None]) -> Callable[[Any], None]:
    def render_template(self: Any) -> None:
        remembered = dict(self._answers_to_remember())
        self._answers_to_remember = lambda: dict(remembered)
        try:
            original(self)
        finally:
            del self._answers_to_remember

    return render_template


def _no_index_sync(self: Any, dst_relpath: Path, src_mode: int) -> None:
    """The destination is no git repository: there is no index to sync."""
