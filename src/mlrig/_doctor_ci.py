"""Which CI a repository has and which stages of an ML pipeline its jobs cover.

A view of the repository model (:mod:`mlrig._repo`) in doctor's terms: a job
covers a stage when one of its resolved commands runs that stage (``pytest`` is
tests, ``docker build`` an image build, ``make test`` whatever that target's
recipe runs), never because of its name. A deploy job covers nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlrig._repo import Repo

__all__ = ["STAGES", "CiJob", "CiReport", "find_ci"]

#: Pipeline stages, in the order of mlrig's own pipeline, with their display names.
STAGES: dict[str, str] = {
    "lint": "lint",
    "tests": "tests",
    "data_checks": "data checks",
    "train_smoke": "training smoke run",
    "metric_gate": "metric gate",
    "image_build": "image build",
    "schedule": "scheduled run",
}
#: The model's stage (:data:`mlrig._repo.STAGES`) behind each of doctor's stages.
MODEL_STAGE = {
    "lint": "lint",
    "tests": "test",
    "data_checks": "data",
    "train_smoke": "train",
    "metric_gate": "evaluate",
    "image_build": "image",
}


@dataclass(frozen=True)
class CiJob:
    """One CI job and the pipeline stages it covers."""

    file: str
    name: str
    covers: tuple[str, ...]


@dataclass(frozen=True)
class CiReport:
    """The CI systems of a repository, their files and their jobs.

    ``problems`` are pipeline files that could not be parsed (one line each).
    ``remote_includes`` counts GitLab includes from other projects or URLs, whose
    jobs cannot be seen offline.
    """

    providers: tuple[str, ...]
    files: tuple[str, ...]
    jobs: tuple[CiJob, ...]
    scheduled: tuple[str, ...]
    problems: tuple[str, ...]
    remote_includes: int

    def covered(self, stage: str) -> tuple[str, ...]:
        """Names of the jobs (or, for ``schedule``, the files) that cover ``stage``."""
        if stage == "schedule":
            return self.scheduled
        return tuple(job.name for job in self.jobs if stage in job.covers)

    @property
    def missing(self) -> tuple[str, ...]:
        """The stages no job covers, in pipeline order."""
        return tuple(stage for stage in STAGES if not self.covered(stage))


def find_ci(repo: Repo) -> CiReport:
    """The CI report of the repository model ``repo``."""
    by_model = {model: stage for stage, model in MODEL_STAGE.items()}
    jobs = tuple(
        CiJob(job.file, job.name, tuple(by_model[s] for s in job.covers if s in by_model))
        for job in repo.ci_jobs
    )
    return CiReport(
        providers=repo.ci_providers,
        files=repo.ci_files,
        jobs=jobs,
        scheduled=repo.scheduled,
        problems=repo.ci_problems,
        remote_includes=repo.remote_includes,
    )
