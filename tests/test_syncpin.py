"""The template-sync job's pin of mlrig (.mlrig/sync-requirements.txt), as `new` writes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrig import builtin_template, new
from mlrig._syncpin import SYNC_REQUIREMENTS, lock_sync_pin, pin_sync_tool
from mlrig._version import __version__
from mlrig.errors import EnvironmentProblem
from tests.conftest import make_answers


def test_new_pins_this_mlrig_and_says_the_pin_has_no_hashes(tmp_path: Path) -> None:
    """From a checkout, the index's files are not known to be this mlrig: no hash, a warning."""
    answers = make_answers(python_version="3.13")
    result = new(tmp_path / "p", answers=answers, template=builtin_template(), git=False)
    text = (tmp_path / "p" / SYNC_REQUIREMENTS).read_text()
    assert f"\nmlrig=={__version__}\n" in text
    assert "--hash=" not in text
    # The one command that adds the hashes, for the project's Python.
    assert f'echo "mlrig=={__version__}" | uv pip compile - --universal --generate-hashes' in text
    assert "--python-version 3.13" in text
    [warning] = [w for w in result.warnings if str(SYNC_REQUIREMENTS) in w]
    assert "not installed from the package index" in warning
    assert "template-sync job fails" in warning
    # The version is data for the render, never an answer to record.
    assert "mlrig_version" not in (tmp_path / "p" / ".copier-answers.yml").read_text()


def test_no_sync_pin_without_the_template_sync(tmp_path: Path) -> None:
    answers = make_answers(template_sync=False)
    result = new(tmp_path / "p", answers=answers, template=builtin_template(), git=False)
    assert not (tmp_path / "p" / ".mlrig").exists()
    assert not any(str(SYNC_REQUIREMENTS) in w for w in result.warnings)


def test_a_hashed_pin_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / SYNC_REQUIREMENTS
    path.parent.mkdir()
    text = "mlrig==1.0.0 \\\n    --hash=sha256:" + "a" * 64 + "\n"
    path.write_text(text)
    assert pin_sync_tool(tmp_path, "3.12") is None
    assert path.read_text() == text


def test_lock_without_uv_says_so_and_keeps_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / SYNC_REQUIREMENTS
    path.parent.mkdir()
    path.write_text("# pin\nmlrig==1.0.0\n")
    # The test session's mlrig finds no uv (tests/conftest.py).
    with pytest.raises(EnvironmentProblem, match="uv is not installed"):
        lock_sync_pin(tmp_path, "3.12")
    assert path.read_text() == "# pin\nmlrig==1.0.0\n"
