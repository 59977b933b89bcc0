"""A gallery of realistic existing ML repositories, built as committed git repos.

Each builder ``make_<name>(root)`` creates the directory ``root/<name>`` (``root`` is
created when missing; ``root/<name>`` must not exist), fills it with the files of a
repository mlrig did not create, commits everything on branch ``main`` and returns
the repository's path. ``GALLERY`` maps each name to its builder. Nothing is
downloaded; the builders take well under a second each (``large_data`` writes a
sparse 60 MB file, which git compresses to a few kilobytes).

What each repository is there to exercise (the "known-bad" parts are deliberate):

- ``github_matrix``: GitHub Actions with a Python-version matrix, a lint and a test
  job and a hand-written ``deploy`` job; unpinned actions (zizmor findings); pinned
  ``requirements-dev.txt``; no data checks, no training run, no metric gate.
- ``gitlab_include``: GitLab CI with ``include:``, ``extends:``, anchors and aliases,
  ``!reference``, custom stages and a scheduled training job; a local include that
  builds an image; a Dockerfile with hadolint findings; fully pinned requirements.
- ``no_ci``: a clean, tested package with no CI at all; its code holds look-alikes
  of secrets (environment lookups, placeholders) that must not be reported.
- ``requirements_only``: scripts and an unpinned ``requirements.txt``, no
  pyproject, no tests, and committed AWS credentials (fake).
- ``poetry``: a poetry project using torch with ``poetry.lock``, tests and
  CircleCI.
- ``notebooks``: notebook-heavy exploration repo, little source, no tests.
- ``large_data``: a 60 MB data file and a 12 MB model committed to git (plus a
  small CSV under the limit and a huge *gitignored* file that must not be
  reported); Jenkins CI.
- ``two_packages``: a uv workspace with two packages (``packages/features`` and
  ``packages/serving``), each with a pyproject and tests, ``uv.lock``, a clean
  Dockerfile and a GitHub workflow with a docker build and a schedule.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.templaterepo import commit_project, git

__all__ = [
    "FAKE_AWS_KEY_ID",
    "GALLERY",
    "LARGE_DATA_PATH",
    "LARGE_MODEL_PATH",
    "make_github_matrix",
    "make_gitlab_include",
    "make_large_data",
    "make_no_ci",
    "make_notebooks",
    "make_poetry",
    "make_requirements_only",
    "make_two_packages",
]

# Split so that no secret scanner flags this source file itself.
FAKE_AWS_KEY_ID = "AKIA" + "Q3EGRZLN5XJ7TW2P"
_FAKE_AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYzq8Hn3Lq2sWd"
LARGE_DATA_PATH = "data/raw/transactions.parquet"
LARGE_MODEL_PATH = "models/resnet18-finetuned.pt"
_MB = 1024 * 1024


def _repo(root: Path, name: str, files: dict[str, str]) -> Path:
    """Create ``root/name`` with ``files``, as a fresh git repo on ``main``."""
    repo = root / name
    repo.mkdir(parents=True)
    git(repo, "init", "--quiet", "--initial-branch=main")
    for rel, content in files.items():
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        if rel.endswith(".sh") or rel.startswith("scripts/"):
            target.chmod(0o755)
    return repo


def _finish(repo: Path, message: str = "Initial import") -> Path:
    commit_project(repo, message)
    return repo


def _notebook(*cells: tuple[str, str]) -> str:
    """An nbformat-4 notebook with ``(cell_type, source)`` cells."""
    body = []
    for index, (kind, source) in enumerate(cells):
        cell: dict[str, object] = {
            "cell_type": kind,
            "id": f"cell-{index}",
            "metadata": {},
            "source": source.splitlines(keepends=True),
        }
        if kind == "code":
            cell["execution_count"] = index + 1
            cell["outputs"] = []
        body.append(cell)
    notebook = {
        "cells": body,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "version": "3.11.9"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1) + "\n"


_GITIGNORE = """\
__pycache__/
*.py[cod]
.venv/
.pytest_cache/
.ruff_cache/
dist/
"""

_TRAIN_PY = '''\
"""Train the model on the prepared data and write it to {out}."""

import argparse
import pickle

from sklearn.linear_model import LogisticRegression

from {pkg}.data import load


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", type=int, default=None)
    args = parser.parse_args()
    features, labels = load(sample=args.sample)
    model = LogisticRegression(max_iter=500).fit(features, labels)
    with open("{out}", "wb") as handle:
        pickle.dump(model, handle)


if __name__ == "__main__":
    main()
'''

_DATA_PY = '''\
"""Load the training data."""

import pandas as pd


def load(sample: int | None = None) -> tuple[pd.DataFrame, pd.Series]:
    frame = pd.read_csv("data/train.csv")
    if sample is not None:
        frame = frame.head(sample)
    return frame.drop(columns=["label"]), frame["label"]
'''


def make_github_matrix(root: Path) -> Path:
    """A churn model with GitHub Actions: matrix tests, lint, a custom deploy job."""
    workflow = """\
# CI for the churn model. Keep the matrix in sync with requires-python.
name: CI

on:
  push:
    branches: [main]
  pull_request:

jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: pip install -r requirements-dev.txt
      # ruff replaces flake8 + isort since March
      - run: ruff check src tests

  test:
    runs-on: ubuntu-latest
    strategy:
      fail-fast: false
      matrix:
        python-version: ["3.10", "3.11", "3.12"]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: ${{ matrix.python-version }}
          cache: pip
      - name: Install
        run: |
          pip install -r requirements-dev.txt
          pip install -e .
      - name: Unit tests
        run: pytest -q --cov=churn tests

  deploy:
    # Hand-written by the platform team: do not touch without asking #ml-infra.
    if: github.ref == 'refs/heads/main'
    needs: [lint, test]
    runs-on: ubuntu-latest
    environment: production
    steps:
      - uses: actions/checkout@v4
      - name: Deploy
        run: ./scripts/deploy.sh "${{ github.event.head_commit.message }}"
        env:
          DEPLOY_TOKEN: ${{ secrets.DEPLOY_TOKEN }}
"""
    repo = _repo(
        root,
        "github_matrix",
        {
            ".github/workflows/ci.yml": workflow,
            ".gitignore": _GITIGNORE,
            ".python-version": "3.11\n",
            "README.md": "# churn-model\n\nPredicts customer churn. `make test` runs the tests.\n",
            "pyproject.toml": """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "churn-model"
version = "0.4.1"
description = "Customer churn prediction"
requires-python = ">=3.10"
dependencies = ["pandas>=2.0", "scikit-learn>=1.3"]

[tool.setuptools.packages.find]
where = ["src"]

[tool.ruff]
line-length = 100
""",
            "requirements-dev.txt": "pytest==8.3.3\npytest-cov==5.0.0\nruff==0.6.9\n",
            "Makefile": """\
.PHONY: install lint test train

install:
\tpip install -r requirements-dev.txt -e .

lint:
\truff check src tests

test:
\tpytest -q tests

train:
\tpython -m churn.train
""",
            "scripts/deploy.sh": """\
#!/usr/bin/env bash
set -euo pipefail
echo "deploying: $1"
curl -fsS -X POST -H "Authorization: Bearer ${DEPLOY_TOKEN}" https://deploy.example.invalid/churn
""",
            "src/churn/__init__.py": '"""Customer churn prediction."""\n',
            "src/churn/data.py": _DATA_PY,
            "src/churn/train.py": _TRAIN_PY.format(pkg="churn", out="model.pkl"),
            "tests/__init__.py": "",
            "tests/test_data.py": """\
from churn.data import load


def test_load_returns_features_and_labels():
    features, labels = load(sample=5)
    assert len(features) == len(labels) == 5


def test_label_is_not_a_feature():
    features, _ = load(sample=1)
    assert "label" not in features.columns
""",
            "data/train.csv": "tenure,monthly,label\n1,29.9,1\n34,56.9,0\n2,53.8,1\n45,42.3,0\n"
            "8,99.6,1\n22,89.1,0\n",
        },
    )
    return _finish(repo)


def make_gitlab_include(root: Path) -> Path:
    """A demand-forecast repo on GitLab CI: includes, extends, anchors, ``!reference``."""
    gitlab_ci = """\
# Pipeline for the demand forecaster.
# Templates come from the platform team's shared project.
include:
  - project: platform/ci-templates
    ref: v3.2.0
    file: /templates/python.yml
  - local: ci/docker.yml

stages:
  - quality
  - test
  - train
  - package

variables:
  PIP_CACHE_DIR: "$CI_PROJECT_DIR/.cache/pip"

.python: &python  # shared by every Python job
  image: python:3.11-slim
  before_script:
    - pip install -r requirements.txt
  cache: &pip_cache
    key: pip-$CI_COMMIT_REF_SLUG
    paths:
      - .cache/pip

lint:
  <<: *python
  stage: quality
  script:
    - ruff check forecast tests
    - mypy forecast

unit-tests:
  extends: .python
  stage: test
  script:
    - pytest -q --junitxml=report.xml tests
  artifacts:
    reports:
      junit: report.xml

nightly-train:
  extends: .python
  stage: train
  cache: *pip_cache
  script:
    - !reference [.python, before_script]
    - python -m forecast.train --epochs 1
  rules:
    - if: $CI_PIPELINE_SOURCE == "schedule"
"""
    docker_ci = """\
# Image build, kept apart so that it can be disabled per fork.
build-image:
  stage: package
  image: docker:27
  services:
    - docker:27-dind
  script:
    - docker build -t "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA" .
    - docker push "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHORT_SHA"
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
"""
    dockerfile = """\
FROM python:latest
RUN apt-get update && apt-get install -y libgomp1
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY forecast forecast
CMD ["python", "-m", "forecast.serve"]
"""
    repo = _repo(
        root,
        "gitlab_include",
        {
            ".gitlab-ci.yml": gitlab_ci,
            "ci/docker.yml": docker_ci,
            "Dockerfile": dockerfile,
            ".gitignore": _GITIGNORE,
            ".python-version": "3.11.9\n",
            "requirements.txt": "# pinned with pip-compile\nlightgbm==4.5.0\n"
            "numpy==1.26.4\npandas==2.2.3\n",
            "requirements-dev.txt": "-r requirements.txt\nmypy==1.11.2\npytest==8.3.3\n"
            "ruff==0.6.9\n",
            "Makefile": "test:\n\tpytest -q tests\n\ntrain:\n\tpython -m forecast.train\n",
            "forecast/__init__.py": "",
            "forecast/train.py": """\
import argparse


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=50)
    parser.parse_args()


if __name__ == "__main__":
    main()
""",
            "forecast/features.py": """\
def lag(values: list[float], steps: int) -> list[float | None]:
    return [None] * steps + values[:-steps]
""",
            "tests/test_features.py": """\
from forecast.features import lag


def test_lag_shifts_values():
    assert lag([1.0, 2.0, 3.0], 1) == [None, 1.0, 2.0]
""",
        },
    )
    return _finish(repo)


def make_no_ci(root: Path) -> Path:
    """A clean, tested iris classifier with no CI; it holds secret look-alikes."""
    repo = _repo(
        root,
        "no_ci",
        {
            ".gitignore": _GITIGNORE,
            "README.md": "# iris-clf\n\nSet `DB_PASSWORD` in the environment; never "
            "commit keys (they look like AKIA followed by 16 characters).\n",
            "pyproject.toml": """\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "iris-clf"
version = "1.0.0"
requires-python = ">=3.11"
dependencies = ["scikit-learn>=1.3", "sqlalchemy>=2"]

[project.optional-dependencies]
test = ["pytest>=8"]
""",
            "src/iris_clf/__init__.py": "",
            "src/iris_clf/db.py": '''\
"""Read labelled samples from the team database."""

import os

password = os.environ["DB_PASSWORD"]
token = os.environ.get("API_TOKEN", "")
api_key: str | None = None
SECRET_KEY = "${SECRET_KEY}"
DEFAULT_PASSWORD = "changeme"


def url(password: str = "") -> str:
    return f"postgresql://ml:{password}@db.internal/samples"
''',
            "src/iris_clf/model.py": """\
from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier


def train(depth: int = 3) -> DecisionTreeClassifier:
    data = load_iris()
    return DecisionTreeClassifier(max_depth=depth).fit(data.data, data.target)
""",
            "tests/test_model.py": """\
import pytest

from iris_clf.model import train


def test_train_fits():
    assert train().score is not None


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_depth_is_respected(depth):
    assert train(depth).get_depth() <= depth


class TestAccuracy:
    def test_training_accuracy(self):
        from sklearn.datasets import load_iris

        data = load_iris()
        assert train().score(data.data, data.target) > 0.9
""",
            "data/iris_sample.csv": "sepal_length,sepal_width,petal_length,petal_width,label\n"
            "5.1,3.5,1.4,0.2,0\n7.0,3.2,4.7,1.4,1\n6.3,3.3,6.0,2.5,2\n",
        },
    )
    return _finish(repo)


def make_requirements_only(root: Path) -> Path:
    """Training scripts with an unpinned requirements.txt and committed AWS keys."""
    repo = _repo(
        root,
        "requirements_only",
        {
            "README.md": "Run `pip install -r requirements.txt && python train.py`.\n",
            "requirements.txt": "pandas\nscikit-learn>=1.0\nboto3\nxgboost~=2.0\n",
            "train.py": """\
import boto3
import pandas as pd
from xgboost import XGBClassifier

from config import AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, BUCKET

s3 = boto3.client(
    "s3", aws_access_key_id=AWS_ACCESS_KEY_ID, aws_secret_access_key=AWS_SECRET_ACCESS_KEY
)
frame = pd.read_csv(f"s3://{BUCKET}/train.csv")
model = XGBClassifier().fit(frame.drop(columns="y"), frame["y"])
model.save_model("model.json")
""",
            "predict.py": """\
import sys

from xgboost import XGBClassifier

model = XGBClassifier()
model.load_model("model.json")
print(model.predict([[float(v) for v in sys.argv[1:]]]))
""",
            "config.py": f"""\
# TODO move to env vars before open-sourcing
AWS_ACCESS_KEY_ID = "{FAKE_AWS_KEY_ID}"
AWS_SECRET_ACCESS_KEY = "{_FAKE_AWS_SECRET}"
BUCKET = "acme-ml-training"
""",
        },
    )
    return _finish(repo)


def make_poetry(root: Path) -> Path:
    """A torch image classifier managed with poetry (lock file), tested, on CircleCI."""
    repo = _repo(
        root,
        "poetry",
        {
            ".gitignore": _GITIGNORE + "checkpoints/\n",
            ".python-version": "3.11\n",
            "pyproject.toml": """\
[tool.poetry]
name = "vision-model"
version = "0.2.0"
description = "Image classifier"
authors = ["ML Team <ml@example.invalid>"]
packages = [{ include = "vision_model", from = "src" }]

[tool.poetry.dependencies]
python = ">=3.10,<3.13"
torch = "^2.4"
torchvision = "^0.19"

[tool.poetry.group.dev.dependencies]
pytest = "^8.3"
ruff = "^0.6"

[build-system]
requires = ["poetry-core>=1.9"]
build-backend = "poetry.core.masonry.api"
""",
            "poetry.lock": """\
# This file is automatically @generated by Poetry 1.8.3 and should not be changed by hand.

[[package]]
name = "torch"
version = "2.4.1"
description = "Tensors and Dynamic neural networks in Python with strong GPU acceleration"
optional = false
python-versions = ">=3.8.0"
files = []

[[package]]
name = "torchvision"
version = "0.19.1"
description = "image and video datasets and models for torch deep learning"
optional = false
python-versions = ">=3.8"
files = []

[metadata]
lock-version = "2.0"
python-versions = ">=3.10,<3.13"
content-hash = "5c1bd2f5e7a0b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b"
""",
            ".circleci/config.yml": """\
version: 2.1

jobs:
  test:
    docker:
      - image: cimg/python:3.11
    steps:
      - checkout
      - run: pip install poetry && poetry install
      - run: poetry run ruff check src tests
      - run: poetry run pytest -q

workflows:
  main:
    jobs:
      - test
""",
            "Makefile": "test:\n\tpoetry run pytest -q\n\nlint:\n\tpoetry run ruff check .\n",
            "src/vision_model/__init__.py": "",
            "src/vision_model/net.py": """\
import torch
from torch import nn


class SmallNet(nn.Module):
    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, classes))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)
""",
            "tests/test_net.py": """\
import torch

from vision_model.net import SmallNet


def test_output_shape():
    assert SmallNet(3)(torch.zeros(2, 1, 28, 28)).shape == (2, 3)
""",
        },
    )
    return _finish(repo)


def make_notebooks(root: Path) -> Path:
    """An exploration repo: several notebooks, one helper module, no tests, no CI."""
    explore = _notebook(
        ("markdown", "# Exploring the claims data\n"),
        ("code", "import pandas as pd\nclaims = pd.read_csv('../data/claims_sample.csv')\n"),
        ("code", "claims.describe()\n"),
    )
    features = _notebook(
        ("markdown", "## Feature engineering\n"),
        ("code", "from src.utils import add_ratios\nframe = add_ratios(claims)\n"),
        (
            "code",
            "def bucket_age(age):\n    return min(age // 10, 8)\n\n"
            "frame['age_bucket'] = frame.age.map(bucket_age)\n",
        ),
    )
    train = _notebook(
        ("markdown", "## Train and evaluate\n"),
        (
            "code",
            "from sklearn.ensemble import GradientBoostingClassifier\n"
            "model = GradientBoostingClassifier().fit(X_train, y_train)\n",
        ),
        (
            "code",
            "from sklearn.metrics import roc_auc_score\n"
            "roc_auc_score(y_test, model.predict(X_test))\n",
        ),
    )
    repo = _repo(
        root,
        "notebooks",
        {
            ".gitignore": ".ipynb_checkpoints/\n__pycache__/\n",
            "README.md": "# claims-fraud\n\nOpen the notebooks in order.\n",
            "requirements.txt": "jupyterlab\npandas\nscikit-learn\nmatplotlib\n",
            "notebooks/01-explore.ipynb": explore,
            "notebooks/02-features.ipynb": features,
            "notebooks/03-train.ipynb": train,
            "notebooks/scratch/quick-look.ipynb": _notebook(("code", "1 + 1\n")),
            "src/__init__.py": "",
            "src/utils.py": """\
def add_ratios(frame):
    frame = frame.copy()
    frame["claim_ratio"] = frame.claimed / frame.insured
    return frame
""",
            "data/claims_sample.csv": "age,claimed,insured,fraud\n"
            "34,1200,10000,0\n51,9800,10000,1\n",
        },
    )
    return _finish(repo)


def _sparse(path: Path, size: int, head: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(size)


def make_large_data(root: Path) -> Path:
    """A fraud model that committed a 60 MB parquet file and a 12 MB checkpoint; Jenkins CI.

    Also has a 64 MB file in the gitignored ``data/interim/`` folder, which is not
    committed and must not be reported, and a small CSV under any size limit.
    """
    repo = _repo(
        root,
        "large_data",
        {
            ".gitignore": _GITIGNORE + "data/interim/\n",
            "Jenkinsfile": """\
pipeline {
    agent { label 'python' }
    stages {
        stage('Test') {
            steps {
                sh 'pip install -r requirements.txt'
                sh 'pytest -q'
            }
        }
    }
}
""",
            "requirements.txt": "pandas==2.2.3\npyarrow==17.0.0\ntorch==2.4.1\n",
            "pyproject.toml": '[project]\nname = "fraud"\nversion = "0.1.0"\n'
            'requires-python = ">=3.11"\n',
            "fraud/__init__.py": "",
            "fraud/train.py": "import pandas as pd\n\nframe = pd.read_parquet("
            f"{LARGE_DATA_PATH!r})\n",
            "tests/test_smoke.py": "def test_import():\n    import fraud  # noqa: F401\n",
            "data/labels.csv": "id,fraud\n" + "".join(f"{i},{i % 7 == 0:d}\n" for i in range(2000)),
        },
    )
    _sparse(repo / LARGE_DATA_PATH, 60 * _MB, b"PAR1")
    _sparse(repo / LARGE_MODEL_PATH, 12 * _MB, b"PK\x03\x04")
    _finish(repo)
    # Created after the commit and ignored: present on disk, never in git.
    _sparse(repo / "data/interim/features.parquet", 64 * _MB, b"PAR1")
    return repo


def make_two_packages(root: Path) -> Path:
    """A uv workspace with two packages, each with tests; GitHub CI with image build."""
    workflow = """\
name: CI

on:
  push:
    branches: [main]
  pull_request:
  schedule:
    - cron: "17 3 * * 1"

permissions:
  contents: read

jobs:
  checks:
    runs-on: ubuntu-latest
    timeout-minutes: 20
    strategy:
      matrix:
        package: [features, serving]
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - uses: astral-sh/setup-uv@v3
      - run: uv sync --frozen --all-packages
      - run: uv run ruff check packages/${{ matrix.package }}
      - run: uv run pytest packages/${{ matrix.package }}/tests

  image:
    runs-on: ubuntu-latest
    timeout-minutes: 20
    needs: checks
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - run: docker build -t serving:ci -f packages/serving/Dockerfile .
"""

    def package(name: str, module: str, depends: str) -> dict[str, str]:
        return {
            f"packages/{name}/pyproject.toml": f"""\
[project]
name = "{name}"
version = "0.3.0"
requires-python = ">=3.11"
dependencies = [{depends}]

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"
""",
            f"packages/{name}/src/{module}/__init__.py": "",
            f"packages/{name}/src/{module}/core.py": "def scale(x: float) -> float:\n"
            "    return x / 100\n",
            f"packages/{name}/tests/test_core.py": f"from {module}.core import scale\n\n\n"
            "def test_scale():\n    assert scale(50) == 0.5\n\n\n"
            "def test_scale_zero():\n    assert scale(0) == 0\n",
        }

    repo = _repo(
        root,
        "two_packages",
        {
            ".github/workflows/ci.yml": workflow,
            ".gitignore": _GITIGNORE,
            ".python-version": "3.12\n",
            "pyproject.toml": """\
[project]
name = "recsys"
version = "0.0.0"
requires-python = ">=3.11"

[tool.uv.workspace]
members = ["packages/*"]
""",
            "uv.lock": 'version = 1\nrequires-python = ">=3.11"\n\n[manifest]\n'
            'members = ["features", "serving"]\n',
            "Makefile": "test:\n\tuv run pytest packages\n",
            "packages/serving/Dockerfile": """\
FROM python:3.12-slim
WORKDIR /app
COPY packages/serving /app
RUN pip install --no-cache-dir .
USER 10001
CMD ["python", "-m", "serving"]
""",
            **package("features", "features", '"pandas>=2"'),
            **package("serving", "serving", '"features", "fastapi>=0.110"'),
        },
    )
    return _finish(repo)


GALLERY: dict[str, Callable[[Path], Path]] = {
    "github_matrix": make_github_matrix,
    "gitlab_include": make_gitlab_include,
    "no_ci": make_no_ci,
    "requirements_only": make_requirements_only,
    "poetry": make_poetry,
    "notebooks": make_notebooks,
    "large_data": make_large_data,
    "two_packages": make_two_packages,
}
