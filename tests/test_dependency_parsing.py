"""Requirements read by ``packaging`` and pyproject.toml by tomllib: the repository
model's dependency names and doctor's pinned / declared verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrig._doctor_scan import Texts, dependencies
from mlrig._repo import scan
from tests.templaterepo import init_and_commit

HASH = "sha256:" + "0f1e2d3c4b5a6978" * 4


def make(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return init_and_commit(root, "files")


def test_requirement_lines_give_project_names_not_words(tmp_path: Path) -> None:
    repo = make(
        tmp_path / "r",
        {
            "requirements.txt": "-r requirements/base.txt\n"
            "-e .\n"
            "git+https://github.com/acme/featurelib.git#egg=featurelib\n"
            'scikit-learn>=1.3 ; python_version >= "3.10"  # the model\n'
            "Torch_Vision==0.19.0 \\\n"
            f"    --hash={HASH}\n"
            "./vendor/tokenizer-0.1.tar.gz\n",
            "setup.cfg": "[metadata]\nname = demo\nclassifiers =\n"
            "    Programming Language :: Python :: 3\n"
            "[options]\ninstall_requires =\n    pandas>=2\n",
            "environment.yml": "dependencies:\n  - numpy=1.26\n  - conda-forge::pytorch>=2\n"
            "  - pip:\n    - mlflow[extras]==2.9\n",
        },
    )
    names = set(scan(repo).dependencies)
    assert {"scikit-learn", "torch-vision", "pandas", "numpy", "pytorch", "mlflow"} <= names
    # Options, URLs, paths and classifier text are no dependencies.
    assert names.isdisjoint({"git", "r", "e", "programming", "vendor", "-r", "--hash"})


@pytest.mark.parametrize(
    ("requirements", "status", "loose"),
    [
        (f"numpy==1.26.4 \\\n    --hash={HASH}\npandas===2.2.0\n", "pinned", ()),
        ("featurelib @ https://example.org/featurelib-1.0-py3-none-any.whl\n", "pinned", ()),
        (
            "numpy==1.*\ntorch>=2 ; sys_platform == 'linux'\n",
            "unpinned",
            (
                "requirements.txt: numpy==1.*",
                "requirements.txt: torch>=2 ; sys_platform == 'linux'",
            ),
        ),
    ],
    ids=["hashes-and-arbitrary-equality", "direct-url", "wildcard-and-range"],
)
def test_pinned_means_exactly_one_version(
    tmp_path: Path, requirements: str, status: str, loose: tuple[str, ...]
) -> None:
    repo = make(tmp_path / "r", {"requirements.txt": requirements})
    found = dependencies(Texts(repo), ["requirements.txt"])
    assert (found.status, found.loose) == (status, loose)


@pytest.mark.parametrize(
    ("pyproject", "declared"),
    [
        ('[project]\nname = "m"\ndependencies = [\n  "numpy>=1",\n]\n', True),
        ('[tool.poetry.dependencies]\npython = "^3.11"\nnumpy = "^1.26"\n', True),
        # A test environment's tools, an empty list, or poetry's python alone declare nothing.
        (
            '[project]\nname = "m"\ndependencies = []\n'
            '[tool.hatch.envs.default]\ndependencies = ["pytest"]\n',
            False,
        ),
        ('[tool.poetry.dependencies]\npython = "^3.11"\n', False),
        ("[project\nbroken", False),
    ],
    ids=["pep621", "poetry", "hatch-env-only", "poetry-python-only", "unparsable"],
)
def test_pyproject_declares_dependencies_as_toml_says(
    tmp_path: Path, pyproject: str, declared: bool
) -> None:
    repo = make(tmp_path / "r", {"pyproject.toml": pyproject})
    found = dependencies(Texts(repo), ["pyproject.toml"])
    assert found.status == ("unpinned" if declared else "none")
