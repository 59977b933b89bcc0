"""The answers model: parsing, validation, defaults, and its agreement with copier.yml."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from mlrig import QUESTIONS, InvalidInputError, builtin_template, load_answers_file
from mlrig.answers import RECORDED, default_python
from tests.conftest import make_answers


@pytest.mark.parametrize(
    "name",
    ["a", "my-model", "My_Model2", "x" * 64, "churn-predictor-v2"],
)
def test_valid_project_names(name: str) -> None:
    assert make_answers(project_name=name).project_name == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "2fast",
        "my model",
        "my.model",
        "a/b",
        "..",
        "../escape",
        "name!",
        "x" * 65,
        "-dash",
        "json",  # shadows the standard library
        "class",  # a Python keyword
    ],
)
def test_invalid_project_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInputError, match="project_name"):
        make_answers(project_name=name)


def test_derived_names() -> None:
    answers = make_answers(project_name="Churn-Model_2")
    assert answers.package_name == "churn_model_2"
    assert answers.image_name == "churn-model_2"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("yes", True), ("No", False), ("true", True), ("0", False), (True, True)],
)
def test_booleans(raw: object, expected: bool) -> None:
    assert make_answers(docker=raw).docker is expected


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("docker", "maybe"),
        ("framework", "tensorflow"),
        ("ci_provider", "jenkins"),
        ("python_version", "3.9"),
        ("python_version", 3.1),  # YAML reads an unquoted 3.10 as 3.1
        ("gate_threshold", "1.5"),
        ("gate_threshold", "nan"),
        ("gate_threshold", "high"),
        ("description", "bell\x07 in text"),
        ("gpu_runner", "gpu runner"),
        ("gpu_runner", "${{ secrets.X }}"),
        ("monitoring_schedule", "daily"),
        ("monitoring_schedule", "61 * * * *"),
        ("monitoring_schedule", "0 6 * *"),
        ("monitoring_schedule", "*/0 * * * *"),
        ("monitoring_schedule", "0 6 * * 1; rm -rf /"),
    ],
)
def test_invalid_values_name_the_question(key: str, value: object) -> None:
    with pytest.raises(InvalidInputError, match=f"invalid answer: {key}:"):
        make_answers(**{key: value})


@pytest.mark.parametrize(
    "cron", ["0 6 * * 1", "*/15 2 1-7 JAN,JUL MON-FRI", "30  4 *  * *", "none"]
)
def test_valid_schedules(cron: str) -> None:
    assert make_answers(monitoring_schedule=cron).monitoring_schedule == " ".join(cron.split())


def test_unknown_keys_are_listed() -> None:
    with pytest.raises(InvalidInputError, match="unknown question 'colour'"):
        make_answers(colour="red")


def test_missing_answers_without_a_prompt_are_listed() -> None:
    from mlrig import resolve_answers

    with pytest.raises(InvalidInputError, match="no answer for project_name, description"):
        resolve_answers({}, project_default="x", use_defaults=False)


def test_ask_is_called_for_each_missing_answer() -> None:
    from mlrig import resolve_answers

    asked: list[str] = []

    def ask(question: object, default: object) -> object:
        asked.append(question.name)  # type: ignore[attr-defined]
        return default

    # pytorch: with a framework that has no GPU path gpu_runner is not asked (test_gpu.py).
    answers = resolve_answers(
        {"framework": "pytorch"}, project_default="proj", use_defaults=False, ask=ask
    )
    assert "framework" not in asked
    assert len(asked) == len([q for q in QUESTIONS if not q.advanced]) - 1
    assert answers.project_name == "proj"


def test_model_matches_copier_yml() -> None:
    """The Python model and the template's copier.yml must ask the same questions."""
    spec = YAML(typ="safe").load((builtin_template() / "copier.yml").read_text())
    asked = {k: v for k, v in spec.items() if not k.startswith("_") and v.get("when") is not False}
    assert list(asked) == [q.name for q in QUESTIONS] + list(RECORDED)
    for question in QUESTIONS:
        entry = asked[question.name]
        assert tuple(entry.get("choices", ())) == question.choices, question.name
        if question.name == "python_version":
            # copier cannot see mlrig's interpreter: it takes the newest, default_python's cap.
            assert entry["default"] == default_python((99, 0)), question.name
        elif question.name != "project_name":
            assert entry["default"] == question.default, question.name
    for name in RECORDED:
        assert (asked[name]["type"], asked[name]["default"]) == ("yaml", []), name


class TestAnswersFile:
    def test_reads_a_copier_answers_file(self, tmp_path: Path) -> None:
        path = tmp_path / "answers.yml"
        path.write_text("_src_path: gh:x/y\n_commit: v1\nframework: none\ndocker: false\n")
        assert load_answers_file(path) == {"framework": "none", "docker": False}

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            ("framework: [unclosed\n", "not valid YAML"),
            ("framework: none\nframework: sklearn\n", "not valid YAML"),
            ("- a\n- b\n", "must be a YAML mapping"),
            ("", "must be a YAML mapping"),
        ],
        ids=["syntax-error", "duplicate-key", "a-list", "empty"],
    )
    def test_malformed_files_are_refused(self, tmp_path: Path, content: str, message: str) -> None:
        path = tmp_path / "answers.yml"
        path.write_text(content)
        with pytest.raises(InvalidInputError, match=message):
            load_answers_file(path)

    def test_missing_file(self, tmp_path: Path) -> None:
        with pytest.raises(InvalidInputError, match="does not exist"):
            load_answers_file(tmp_path / "nope.yml")

    def test_binary_file(self, tmp_path: Path) -> None:
        path = tmp_path / "answers.yml"
        path.write_bytes(b"\xff\xfe\x00garbage")
        with pytest.raises(InvalidInputError, match="cannot read"):
            load_answers_file(path)


def test_stage_commands_are_never_asked_and_default_to_the_starters() -> None:
    from mlrig import resolve_answers

    asked: list[str] = []

    def ask(question: object, default: object) -> object:
        asked.append(question.name)  # type: ignore[attr-defined]
        return default

    answers = resolve_answers({}, project_default="proj", use_defaults=False, ask=ask)
    assert not {"install_command", "test_command", "train_command"} & set(asked)
    assert (answers.install_command, answers.test_command) == ("", "")


EXISTING = {
    "existing_repo": True,
    "install_command": "pip install -r requirements.txt",
    "lint_command": "none",
    "test_command": "pytest -q",
    "data_command": "none",
    "train_command": "none",
    "monitoring_schedule": "none",
}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            {"test_command": "if [ -f x ]; then\n  pytest"},
            "test_command: not valid shell (bash -n: line 3: syntax error: unexpected end of file)",
        ),
        (
            {"evaluate_command": 'eval "$(ssh-agent -s)'},
            "evaluate_command: not valid shell (bash -n: line 1: unexpected EOF while looking "
            "for matching `\"'",
        ),
        ({"lint_command": "echo ${{ github.head_ref }}"}, "lint_command: must not hold '${{'"),
        ({"data_command": "make data\x1b[31m"}, "data_command: must not hold control characters"),
        ({"install_command": "none"}, "install_command: dependencies must be installed"),
        (
            dict.fromkeys(("lint", "test", "data", "train"), "none"),
            "at least one stage must run",
        ),
        (
            {**EXISTING, "test_command": "none"},
            "no lint, test, data or train command of the repository's own was found; give at "
            "least one, e.g. -d test_command='pytest -q'",
        ),
        (
            {**EXISTING, "lint_command": ""},
            "lint_command: '' runs the starter project's command, which a repository mlrig did "
            "not create lacks",
        ),
        (
            {**EXISTING, "monitoring_schedule": "0 6 * * 1", "metrics_file": "m.json"},
            "monitoring_schedule: monitoring a repository mlrig did not create runs its evaluate "
            "command and gates the metrics file it writes; set evaluate_command too",
        ),
        ({"metrics_file": "../outside.json"}, "metrics_file: '../outside.json' is not a relative"),
        ({"metrics_file": "-rf.json"}, "metrics_file: '-rf.json' is not a relative"),
        ({"metrics_file": "out dir/m.json"}, "metrics_file: 'out dir/m.json' is not a relative"),
        ({"own_files": ["../x"]}, "own_files: '../x' is not a relative path"),
        ({"own_jobs": "lint, bad job"}, "own_jobs: 'bad job' is not a job name"),
    ],
    ids=[
        "unclosed-if",
        "cut-mid-quote",
        "github-expression",
        "control-character",
        "no-install",
        "no-stage",
        "existing-no-stage",
        "existing-starter-command",
        "existing-monitoring-without-evaluate",
        "metrics-outside",
        "metrics-option",
        "metrics-space",
        "own-file-outside",
        "own-job-name",
    ],
)
def test_bad_stage_commands_are_refused_in_one_line(given: dict[str, object], message: str) -> None:
    from mlrig import resolve_answers

    if "lint" in given and "existing_repo" not in given:
        given = {f"{stage}_command": value for stage, value in given.items()}
    with pytest.raises(InvalidInputError, match=re.escape(message)) as raised:
        resolve_answers(given, project_default="proj", use_defaults=True)
    assert "\n" not in str(raised.value)


def test_multi_line_commands_are_kept_whole() -> None:
    """A whole install sequence, with a line continuation, stays as it is (trailing blanks cut)."""
    install = "python -m pip install --upgrade pip  \npip install \\\n  -r requirements.txt\n"
    answers = make_answers(**{**EXISTING, "install_command": install})

    assert answers.install_command == (
        "python -m pip install --upgrade pip\npip install \\\n  -r requirements.txt"
    )
    assert answers.existing_repo is True


def test_every_supported_python_and_the_list_answers() -> None:
    assert make_answers(python_version="3.14").python_version == "3.14"
    answers = make_answers(own_files="README.md,.github/dependabot.yml", own_jobs=["test"])
    assert answers.own_files == ("README.md", ".github/dependabot.yml")
    assert answers.to_data()["own_jobs"] == ["test"]


@pytest.mark.parametrize(
    ("running", "expected"),
    [((3, 9), "3.10"), ((3, 11), "3.11"), ((3, 14), "3.14"), ((3, 15), "3.14"), ((4, 0), "3.14")],
)
def test_python_default_is_the_running_interpreter_capped_to_what_frameworks_support(
    running: tuple[int, int], expected: str
) -> None:
    assert default_python(running) == expected


def test_the_python_default_is_this_interpreter_when_it_is_offered() -> None:
    this = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert make_answers().python_version == default_python()
    assert default_python() == (this if this in QUESTIONS[2].choices else "3.14")


@pytest.mark.parametrize("key", ["description", "test_command", "install_command"])
def test_a_lone_surrogate_is_refused_in_one_line(key: str, tmp_path: Path) -> None:
    """What undecodable bytes become (argv) or a YAML escape gives: no file can hold it."""
    with pytest.raises(InvalidInputError, match=f"{key}: is not valid UTF-8") as caught:
        make_answers(**{key: "echo \udcff"})
    assert "\n" not in str(caught.value)
    answers = tmp_path / "answers.yml"
    answers.write_text(f'{key}: "echo \\udcff"\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match=f"{key}: is not valid UTF-8"):
        make_answers(**load_answers_file(answers))


def test_a_description_holds_only_words_the_answers_file_can_fold() -> None:
    with pytest.raises(InvalidInputError, match=r"description: the word 'x{20}\.\.\.' is 150"):
        make_answers(description="x" * 150)
    assert make_answers(description="y" * 64).description == "y" * 64
