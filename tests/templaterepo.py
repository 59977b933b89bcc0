"""Build copier template repositories with tagged versions in ``tmp_path``."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}
ANSWERS_TEMPLATE = "# Written by copier; do not edit.\n{{ _copier_answers|to_nice_yaml -}}\n"


def git(cwd: Path, *args: str) -> str:
    """Run git with a fixed identity; fail the test on error."""
    proc = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        env=GIT_ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"git {args}: {proc.stderr}"
    return proc.stdout.strip()


class TemplateRepo:
    """A copier template in a git repository; each :meth:`release` is a tagged version."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        git(path, "init", "--quiet", "--initial-branch=main")

    def release(self, tag: str, copier_yml: str, files: Mapping[str, str | bytes]) -> None:
        """Replace the template's content with ``files`` (text, or bytes as they are) and tag it."""
        for entry in self.path.iterdir():
            if entry.name != ".git":
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        (self.path / "copier.yml").write_text(
            "_subdirectory: project\n_answers_file: .copier-answers.yml\n"
            "_templates_suffix: .jinja\n" + copier_yml
        )
        project = self.path / "project"
        files = {"{{_copier_conf.answers_file}}.jinja": ANSWERS_TEMPLATE, **files}
        for name, content in files.items():
            target = project / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
        git(self.path, "add", "--all")
        git(self.path, "commit", "--quiet", "--allow-empty", "-m", f"release {tag}")
        git(self.path, "tag", tag)


def commit_project(project: Path, message: str = "change") -> None:
    """Commit everything in a generated project."""
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "-m", message)


def init_and_commit(repo: Path, message: str) -> Path:
    """Make the folder ``repo`` a git repository on ``main`` holding all its files, as is.

    ``core.autocrlf`` is off, so that git stores CRLF files as they are. Returns ``repo``.
    """
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "config", "core.autocrlf", "false")
    commit_project(repo, message)
    return repo


def status(project: Path) -> list[str]:
    """``git status --porcelain`` lines of a project."""
    return git(project, "status", "--porcelain", "--untracked-files=all").splitlines()
