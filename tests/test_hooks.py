"""The pre-commit hook definition points at a real command."""

from __future__ import annotations

import shlex
from pathlib import Path

from ruamel.yaml import YAML

from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent


def test_pre_commit_hook_runs_mlrig_check(tmp_path: Path) -> None:
    hooks = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "mlrig-check"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
    program, *args = shlex.split(hook["entry"])
    assert program == "mlrig"
    project = tmp_path / "proj"
    assert run_cli("new", str(project), "--defaults").exit_code == 0
    result = run_cli(*args, str(project))
    assert result.exit_code == 0, result.output
    assert "newest template version" in result.stdout
