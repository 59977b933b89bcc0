"""The built-in template's questions, as ``templates/ml/copier.yml`` states them.

Generated from copier.yml by scripts/gen_questions.py: do not edit, run the script
(a test fails while this module and copier.yml disagree).
"""

# ruff: noqa: E501 -- help texts are copied whole from copier.yml.

from __future__ import annotations

from typing import NamedTuple


class QuestionData(NamedTuple):
    """One question of copier.yml: copier's type, its help text, default and choices."""

    name: str
    type: str
    help: str
    default: str | bool | float | tuple[str, ...]
    choices: tuple[str, ...]


QUESTIONS: tuple[QuestionData, ...] = (
    QuestionData(
        "project_name",
        "str",
        "Project name (a letter first, then letters, digits, '-' or '_'; at most 64 characters)",
        "{{ _copier_conf.dst_path | basename }}",
        (),
    ),
    QuestionData(
        "description",
        "str",
        "One-line description of the project",
        "A small machine-learning project",
        (),
    ),
    QuestionData(
        "python_version",
        "str",
        "Python version for CI, the Docker image, requires-python and .python-version",
        "3.14",
        ("3.10", "3.11", "3.12", "3.13", "3.14"),
    ),
    QuestionData(
        "ci_provider", "str", "Where the pipeline runs", "github", ("github", "gitlab", "both")
    ),
    QuestionData("package_manager", "str", "How dependencies are installed", "uv", ("uv", "pip")),
    QuestionData(
        "framework",
        "str",
        "Machine-learning framework of the starter model",
        "sklearn",
        ("sklearn", "pytorch", "none"),
    ),
    QuestionData("docker", "bool", "Build a Docker image in CI", True, ()),
    QuestionData(
        "gpu_runner",
        "str",
        "Label of a self-hosted GPU runner for the GPU job (tests and training on the GPU), or 'none'",
        "none",
        (),
    ),
    QuestionData(
        "monitoring_schedule",
        "str",
        "Cron schedule (5 fields, UTC) of the model-monitoring run, or 'none'",
        "0 6 * * 1",
        (),
    ),
    QuestionData(
        "gate_metric", "str", "Metric that gates a model in CI", "accuracy", ("accuracy", "f1")
    ),
    QuestionData(
        "gate_threshold", "float", "Minimum value of the gate metric (between 0 and 1)", 0.8, ()
    ),
    QuestionData(
        "data_versioning",
        "str",
        "How the dataset is versioned ('dvc' = tracked by DVC, pulled from a remote in CI)",
        "none",
        ("none", "dvc"),
    ),
    QuestionData(
        "install_command",
        "str",
        "Command that installs the dependencies ('' = the starter's, 'none' = no install step; existing repositories only)",
        "",
        (),
    ),
    QuestionData(
        "lint_command",
        "str",
        "Command of the lint stage ('' = the starter's, 'none' = no lint stage)",
        "",
        (),
    ),
    QuestionData(
        "test_command",
        "str",
        "Command of the test stage ('' = the starter's, 'none' = no test stage)",
        "",
        (),
    ),
    QuestionData(
        "data_command",
        "str",
        "Command of the data stage ('' = the starter's, 'none' = no data stage)",
        "",
        (),
    ),
    QuestionData(
        "train_command",
        "str",
        "Command of the train stage ('' = the starter's, 'none' = no train stage)",
        "",
        (),
    ),
    QuestionData(
        "evaluate_command",
        "str",
        "Command of the evaluate stage ('' = the starter's, 'none' = no evaluate stage)",
        "",
        (),
    ),
    QuestionData(
        "existing_repo",
        "bool",
        "A repository mlrig did not create; render only the pipelines and .mlrig/",
        False,
        (),
    ),
    QuestionData(
        "metrics_file",
        "str",
        "JSON metrics file the train command writes, gated by .mlrig/gate.py ('' = no gate)",
        "",
        (),
    ),
    QuestionData("template_sync", "bool", "Render the template-sync pipeline", True, ()),
    QuestionData(
        "own_files",
        "yaml",
        "Files of the template that stay the repository's own (never rendered)",
        (),
        (),
    ),
    QuestionData(
        "own_jobs",
        "yaml",
        "Jobs of mlrig's pipelines that are not rendered (the repository's own)",
        (),
        (),
    ),
)
