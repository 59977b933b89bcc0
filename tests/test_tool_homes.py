"""One home per outside tool: git runs only from mlrig._git, YAML only goes through
mlrig._yaml, copier is called only from mlrig._copier and mlrig._copier_questions.

Each check reads the source's syntax tree (so comments and messages that mention
git or YAML do not count), and is fed a known-bad snippet of every form it looks
for, to prove it would catch one.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "mlrig"
GIT_HOME = SRC / "_git.py"
YAML_HOME = SRC / "_yaml.py"
YAML_LIBRARIES = {"yaml", "ruamel", "jinja2_ansible_filters"}


def _sources(home: Path) -> list[Path]:
    found = sorted(p for p in SRC.rglob("*.py") if p != home)
    assert len(found) > 20, "the source tree was not found"
    return found


def _is_git(node: ast.AST) -> bool:
    """``"git"``, ``find_git()``, ``shutil.which("git")`` or a variable ``git``: an argv head."""
    if isinstance(node, ast.Constant):
        return node.value == "git"
    if isinstance(node, ast.Name):
        return node.id in {"git", "git_exe"}
    if isinstance(node, ast.Call):
        name = _name(node.func)
        if name == "find_git":
            return True
        if name == "which" and node.args:
            return _is_git(node.args[0])
    return False


def git_runs(source: str) -> list[int]:
    """Lines of ``source`` that run git or build its environment, as only mlrig._git may."""
    hits = []
    for node in ast.walk(ast.parse(source)):
        # An argv: ["git", ...], [find_git(), ...], (shutil.which("git"), ...).
        if isinstance(node, (ast.List, ast.Tuple)) and node.elts and _is_git(node.elts[0]):
            hits.append(node.lineno)
        # A shell line: os.system("git status"), subprocess.run(f"git {x}", shell=True).
        elif isinstance(node, ast.Call) and _name(node.func) in _RUNNERS and node.args:
            head = node.args[0]
            if isinstance(head, ast.JoinedStr) and head.values:
                head = head.values[0]
            if isinstance(head, ast.Constant) and str(head.value).startswith("git "):
                hits.append(node.lineno)
        # plumbum's local["git"].
        elif isinstance(node, ast.Subscript) and _name(node.value) == "local":
            if _is_git(node.slice):
                hits.append(node.lineno)
        # A second non-interactive environment (GIT_TERMINAL_PROMPT, GIT_SSH_COMMAND...).
        elif isinstance(node, ast.Constant) and str(node.value).startswith("GIT_"):
            hits.append(node.lineno)
    return sorted(set(hits))


_RUNNERS = {"system", "popen", "run", "Popen", "call", "check_call", "check_output", "getoutput"}


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def yaml_imports(source: str) -> list[int]:
    """Lines of ``source`` that import a YAML library, as only mlrig._yaml may."""
    hits = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif (
            isinstance(node, ast.Call)
            and _name(node.func) in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names = [str(node.args[0].value)]
        else:
            continue
        if any(name.split(".")[0] in YAML_LIBRARIES for name in names):
            hits.append(node.lineno)
    return hits


def test_nothing_outside_mlrig_git_runs_git() -> None:
    found = {
        path.relative_to(SRC).as_posix(): lines
        for path in _sources(GIT_HOME)
        if (lines := git_runs(path.read_text(encoding="utf-8")))
    }
    assert found == {}, "run git through mlrig._git (git, run_git, start_git)"


def test_nothing_outside_mlrig_yaml_imports_a_yaml_library() -> None:
    found = {
        path.relative_to(SRC).as_posix(): lines
        for path in _sources(YAML_HOME)
        if (lines := yaml_imports(path.read_text(encoding="utf-8")))
    }
    assert found == {}, "load and dump YAML through mlrig._yaml"


def test_the_homes_themselves_do_what_the_checks_look_for() -> None:
    """The checks recognise the real thing: the homes are where it is found."""
    assert git_runs(GIT_HOME.read_text(encoding="utf-8"))
    assert yaml_imports(YAML_HOME.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "snippet",
    [
        'import subprocess\nsubprocess.run(["git", "status"], check=False)\n',
        "import subprocess\nfrom mlrig._git import find_git\nsubprocess.run([find_git(), 'log'])\n",
        "import shutil, subprocess\nsubprocess.Popen((shutil.which('git'), 'grep'))\n",
        "import subprocess\ngit = '/usr/bin/git'\nsubprocess.run([git, 'ls-files'])\n",
        "import os\nos.system('git ls-remote origin')\n",
        'import subprocess\nsubprocess.run(f"git show {ref}", shell=True)\n',
        "from plumbum import local\nlocal['git']('status')\n",
        'import os\nenv = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}\n',
    ],
    ids=[
        "argv",
        "find_git",
        "which",
        "variable",
        "shell",
        "shell-f-string",
        "plumbum",
        "environment",
    ],
)
def test_the_git_check_catches(snippet: str) -> None:
    assert git_runs(snippet) == [len(snippet.splitlines())]


def test_the_git_check_lets_words_about_git_pass() -> None:
    snippet = (
        '# git runs in mlrig._git\nHINT = "run `git init && git add -A` first"\n'
        'RISKY = {"git": {"push", "tag"}}\nFIX = f"git add -f {path}"\nprint(RISKY["git"])\n'
    )
    assert git_runs(snippet) == []


@pytest.mark.parametrize(
    "snippet",
    [
        "import yaml\n",
        "from ruamel.yaml import YAML\n",
        "def load():\n    from yaml import safe_load\n",
        "import ruamel.yaml.comments as comments\n",
        "from jinja2_ansible_filters.core_filters import to_nice_yaml\n",
        "import importlib\nimportlib.import_module('yaml')\n",
    ],
    ids=["import", "from", "lazy", "submodule", "to_nice_yaml", "importlib"],
)
def test_the_yaml_check_catches(snippet: str) -> None:
    assert yaml_imports(snippet) == [len(snippet.splitlines())]


def test_the_yaml_check_lets_its_own_home_be_imported() -> None:
    assert yaml_imports("from mlrig._yaml import load\nfrom mlrig import _yaml\n") == []


# copier, and plumbum, the process library through which copier runs git (its errors).
# A second module calling copier is how copier's private API, its error mapping and
# its rules once spread over six modules.
COPIER_MODULES = ("copier", "plumbum")
#: The home of copier, by kind of knowledge: rendering, updating and trust; the questionnaire.
COPIER_HOME = ("_copier.py", "_copier_questions.py", "_copier_render.py")


def _imported(path: Path) -> set[str]:
    """The top-level packages ``path`` imports, anywhere in the module (functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def copier_importers(root: Path) -> list[str]:
    """The modules under ``root`` outside copier's home that import copier or plumbum."""
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*.py")
        if path.relative_to(root).as_posix() not in COPIER_HOME
        and _imported(path) & set(COPIER_MODULES)
    )


def test_nothing_outside_copier_home_imports_copier() -> None:
    assert copier_importers(SRC) == [], f"import copier only in {', '.join(COPIER_HOME)}"


def test_the_home_is_where_copier_is_imported() -> None:
    """The control case: the scan sees copier's imports inside functions, in each module."""
    for module in COPIER_HOME:
        assert set(COPIER_MODULES) & _imported(SRC / module), module


def test_the_copier_check_catches_an_import_beside_the_home(tmp_path: Path) -> None:
    """Only the home modules may import copier: not a third ``_copier_*`` module, nor
    a module of the same name in a subpackage."""
    tree = {
        "_copier.py": "from copier import run_copy\n",
        "_copier_questions.py": "def f() -> None:\n    from copier._main import Worker\n",
        "_copier_extra.py": "import copier\n",
        "commands/_copier.py": "from plumbum import ProcessExecutionError\n",
        "commands/new.py": "def f() -> None:\n    import copier.errors\n",
        "commands/update.py": "from mlrig import _copier\nfrom mlrig._copier import copy\n",
    }
    for name, text in tree.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert copier_importers(tmp_path) == [
        "_copier_extra.py",
        "commands/_copier.py",
        "commands/new.py",
    ]


def test_starting_the_cli_does_not_import_copier() -> None:
    """copier takes most of a second to import: `mlrig --help` and `mlrig check` skip it."""
    code = "import sys, mlrig.cli, mlrig.commands.check; print('copier' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"
