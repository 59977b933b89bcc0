"""The suite runs with its own user settings, not the developer's (tests/conftest.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mlrig.config import user_config_path


def test_user_config_is_the_sessions_own(isolated_user: Path) -> None:
    path, required = user_config_path()
    assert not required
    assert path.is_relative_to(isolated_user)


def test_git_sees_only_the_test_identity() -> None:
    name = subprocess.run(
        ["git", "config", "--global", "user.name"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert name == "mlrig tests"
    shown = subprocess.run(
        ["git", "config", "--show-origin", "--list"], capture_output=True, text=True, check=True
    ).stdout
    assert "file:/etc/gitconfig" not in shown
    assert str(Path.home() / ".gitconfig") not in shown
