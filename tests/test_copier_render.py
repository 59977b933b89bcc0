"""_copier_render: a render process's cached renders are byte-identical to plain copier's."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlrig import _copier, _copier_render
from mlrig.templates import builtin_data, builtin_template

# Answer sets that reach most of the template's conditions between them, rendered
# one after the other in one process, as template test's processes do.
ANSWERS: list[dict[str, object]] = [
    {},
    {"ci_provider": "gitlab", "docker": False, "framework": "pytorch", "data_versioning": "dvc"},
    {"ci_provider": "both", "package_manager": "pip", "monitoring_schedule": "none"},
]


def _tree(root: Path) -> dict[str, tuple[bytes, bool]]:
    """Every file under ``root``: its bytes and whether it is executable."""
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), bool(path.stat().st_mode & 0o100))
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_prepared_process_renders_what_plain_copier_renders(tmp_path: Path) -> None:
    source = tmp_path / "template"
    shutil.copytree(builtin_template(), source)
    script = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from mlrig import _copier, _copier_render
        _copier_render.prepare_render_process()
        source, out, answers = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
        for index, data in enumerate(answers):
            _copier.copy(source, out / str(index), data=data, ref=None, template="t")
        """
    )
    data: list[dict[str, object]] = [
        {**builtin_data(), "project_name": "demo", **a} for a in ANSWERS
    ]
    prepared = tmp_path / "prepared"
    subprocess.run(
        [sys.executable, "-c", script, str(source), str(prepared), json.dumps(data)], check=True
    )
    for index, answers in enumerate(data):
        plain = tmp_path / "plain" / str(index)
        _copier.copy(str(source), plain, data=answers, ref=None, template="t")
        assert _tree(prepared / str(index)) == _tree(plain), ANSWERS[index]


def test_a_private_name_copier_no_longer_has_is_left_alone() -> None:
    class Changed:
        kept = "copier's own"

    _copier_render._swap(Changed, "gone", lambda original: pytest.fail("nothing to wrap"))
    _copier_render._swap(Changed, "kept", lambda original: original + ", wrapped")
    assert not hasattr(Changed, "gone")
    assert Changed.kept == "copier's own, wrapped"
