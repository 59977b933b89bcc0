"""Keep the real user's mlrig and copier settings out of tests: everything in ``tmp_path``."""

from __future__ import annotations

from pathlib import Path

import pytest


def isolate(monkeypatch: pytest.MonkeyPatch, root: Path) -> Path:
    """Point HOME, XDG_CONFIG_HOME and XDG_CACHE_HOME below ``root``; unset MLRIG_CONFIG.

    Returns the XDG config directory; the user config file is ``<it>/mlrig/config.yml``.
    """
    home = root / "home"
    config = root / "xdg-config"
    for directory in (home, config, root / "xdg-cache"):
        directory.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setenv("XDG_CACHE_HOME", str(root / "xdg-cache"))
    monkeypatch.delenv("MLRIG_CONFIG", raising=False)
    monkeypatch.delenv("COPIER_CACHE_DIR", raising=False)
    return config


def write_user_config(config_home: Path, text: str) -> Path:
    """Write the user config file under the XDG config directory ``config_home``."""
    path = config_home / "mlrig" / "config.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
