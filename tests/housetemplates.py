"""A small house template, healthy or with one deliberate bug, as a tagged git repo.

Questions: ``ci`` (github / none), ``runner`` (ubuntu-latest / windows-latest, asked
only when ``ci`` is github) and ``docker`` (yes/no), so the full enumeration has
six combinations: four with ``ci`` github, two with ``ci`` none.
"""

from __future__ import annotations

from pathlib import Path

from tests.templaterepo import TemplateRepo

QUESTIONS = """\
project_name:
  type: str
  default: demo
ci:
  type: str
  choices: [github, none]
  default: github
runner:
  type: str
  choices: [ubuntu-latest, windows-latest]
  default: ubuntu-latest
  when: "{{ ci == 'github' }}"
docker:
  type: bool
  default: true
"""

WORKFLOW = """\
name: CI

on:
  push:
    branches: [main]

permissions: {}

concurrency:
  group: ci-${{ github.ref }}
  cancel-in-progress: true

jobs:
  hello:
    name: Hello
    runs-on: {{ runner }}
    timeout-minutes: TIMEOUT
    permissions:
      contents: read # nothing else
    steps:
      - name: Say hello
        run: echo hello
"""
HEALTHY_TIMEOUT = "10"

DOCKERFILE = """\
FROM python:3.12-slim
WORKDIR /app
COPY . /app
USER 65534
CMD ["python", "-c", "print('hello')"]
"""

README = "# {{ project_name }}\n\nA demo project.\n"

ALL_IDS = {
    "github-ubuntu-latest-docker",
    "github-ubuntu-latest-nodocker",
    "github-windows-latest-docker",
    "github-windows-latest-nodocker",
    "none-docker",
    "none-nodocker",
}


def house_template(
    root: Path,
    *,
    timeout: str = HEALTHY_TIMEOUT,
    dockerfile: str = DOCKERFILE,
    readme: str = README,
    questions: str = QUESTIONS,
) -> Path:
    """Create the template repository at ``root``, tagged v1.0.0, and return its path.

    ``timeout`` is the Jinja text of the workflow job's ``timeout-minutes``;
    ``dockerfile`` and ``readme`` are the Jinja sources of those files.
    """
    repo = TemplateRepo(root)
    repo.release(
        "v1.0.0",
        questions,
        {
            "{% if ci == 'github' %}.github{% endif %}/workflows/ci.yml.jinja": "{% raw %}"
            + WORKFLOW.replace("{{ runner }}", "{% endraw %}{{ runner }}{% raw %}").replace(
                "TIMEOUT", "{% endraw %}" + timeout + "{% raw %}"
            )
            + "{% endraw %}",
            "{% if docker %}Dockerfile{% endif %}.jinja": dockerfile,
            "README.md.jinja": readme,
        },
    )
    return root
