"""The one model of a repository and its pipelines: what it is and what it really runs.

:func:`scan` reads a bounded set of small, well-known files of the repository
(pyproject.toml, setup.*, requirement and environment files, task-runner files,
``dvc.yaml`` and the CI pipelines) and returns a :class:`Repo`: its files, layout,
packages, build, package manager, Python, task runners, CI jobs with their whole
resolved scripts, and one :class:`Command` per pipeline stage that the
repository's own code provides. doctor, adopt, add and the answer inference all
read this model; none keeps its own idea of what a pipeline is.

Only files git would commit are read (tracked, and untracked files that are not
ignored; a folder that is not a git work tree is walked, skipping hidden and
virtual-environment folders), through :mod:`mlrig._files`' bounded reader: files
over :data:`MAX_BYTES`, devices, FIFOs and symlinks that lead out of the repository
are never read (:attr:`Repo.unread` names them), and YAML aliases that stand for
too many values are refused before they are built. Nothing of the repository is
executed: commands are checked with ``bash -n`` (parse only), all in one process.

Classification is by what a command runs (``pytest`` is a test, ``ruff`` a lint,
``python -m pkg.train`` or ``dvc repro`` a training run), following task-runner
calls (``make test``, ``just lint``, ``poe test`` ...) into their recipes, never by
job names or words in paths. Deploy, publish and cleanup lines (``ssh``, ``scp``,
``rm -rf``, ``twine upload``, ``kubectl``, ``eval "$(ssh-agent -s)"`` ...) and
every line of a deploy job (one with an ``environment:``) are never a stage
command.

Stage commands are chosen in this order: the repository's CI (what it really
runs, in file order: GitHub workflows, then GitLab CI, then other CI), then its
task runners (make, just, mise, pixi, hatch, poe, pdm, tox, nox, invoke), then DVC
(``dvc repro`` trains), then ``[project.scripts]``. The install is the whole
install sequence of the job whose test (or lint) command was chosen, else one
derived from the package manager; tools the lint and test commands need that no
dependency list declares are installed after it.

The package, by kind of knowledge: :mod:`._records` (the typed records),
:mod:`._listing` (the file listing, bounded reads, TOML and YAML lookups),
:mod:`._shell` (shell text without a shell), :mod:`._classify` (what a command
runs), :mod:`._tasks` (task runners and DVC stages), :mod:`._ci` (GitHub and the
plain-text providers) and :mod:`._gitlab`, :mod:`._project` (dependencies, package
manager, build, layout, Python), :mod:`._install` and :mod:`._stages` (the commands
chosen per stage), :mod:`._scan` (all of it put together).
"""

from __future__ import annotations

from mlrig._repo._listing import get_path, list_files, parse_toml
from mlrig._repo._records import (
    MAX_BYTES,
    STAGES,
    Build,
    CiJob,
    Command,
    Manager,
    Python,
    Repo,
    RepoFiles,
    Task,
)
from mlrig._repo._scan import scan
from mlrig._repo._shell import bash_valid
from mlrig._repo._stages import left_out

__all__ = [
    "MAX_BYTES",
    "STAGES",
    "Build",
    "CiJob",
    "Command",
    "Manager",
    "Python",
    "Repo",
    "RepoFiles",
    "Task",
    "bash_valid",
    "get_path",
    "left_out",
    "list_files",
    "parse_toml",
    "scan",
]
