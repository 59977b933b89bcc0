"""`mlrig fleet check|update`: a house template at v1 -> v2 and a fleet of projects made from it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlrig import new
from mlrig.commands.check import check as real_check
from mlrig.commands.fleet import RepoStatus, fleet_check, fleet_update, read_repo_list
from mlrig.errors import Interrupted, InvalidInputError
from mlrig.templates import template_versions
from tests.conftest import run_cli
from tests.templaterepo import TemplateRepo, commit_project, git, status

QUESTIONS = "project:\n  type: str\n  default: demo\n"
README = "# {{ project }}\n\n" + "".join(f"line {i}\n" for i in range(1, 11))
V1 = {"README.md.jinja": README, "settings.txt": "timeout = 10\nretries = 1\n"}
V2 = {
    "README.md.jinja": README.replace("line 9\n", "line 9 improved by v2\n"),
    "settings.txt": "timeout = 20\nretries = 1\n",
    "CONTRIBUTING.md": "Run the tests.\n",
}
REPORT_KEYS = {"repo", "status", "template", "from", "to", "branch", "commit", "conflicts"}


@pytest.fixture
def template(tmp_path: Path) -> TemplateRepo:
    repo = TemplateRepo(tmp_path / "template")
    repo.release("v1", QUESTIONS, V1)
    return repo


def release_v2(template: TemplateRepo) -> None:
    """The template moves on. ``template_versions`` is cached per process (a fleet
    shares one listing per template); this test process outlives a real run."""
    template.release("v2", QUESTIONS, V2)
    template_versions.cache_clear()


def make_project(template: TemplateRepo, dest: Path, ref: str = "v1") -> Path:
    new(dest, answers={"project": dest.name}, template=str(template.path), ref=ref)
    return dest


def head(repo: Path, ref: str = "HEAD") -> str:
    return git(repo, "rev-parse", ref)


def branches(repo: Path) -> list[str]:
    return git(repo, "branch", "--format=%(refname:short)").splitlines()


def by_name(report: dict[str, object]) -> dict[str, dict[str, object]]:
    repos = report["repos"]
    assert isinstance(repos, list)
    return {Path(str(entry["repo"])).name: entry for entry in repos}


def test_fleet_check_finds_the_repos_behind(tmp_path: Path, template: TemplateRepo) -> None:
    fleet = [make_project(template, tmp_path / "fleet" / name) for name in ("a", "b")]
    assert run_cli("fleet", "check", *map(str, fleet)).exit_code == 0

    release_v2(template)
    newest = make_project(template, tmp_path / "fleet" / "c", ref="v2")
    broken = tmp_path / "fleet" / "not-a-project"
    broken.mkdir()
    result = run_cli("fleet", "check", "--json", "--jobs", "2", *map(str, [*fleet, newest, broken]))

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["command"] == "check"
    assert report["ok"] is False
    assert report["counts"] == {
        "current": 1,
        "behind": 2,
        "updated": 0,
        "conflict": 0,
        "error": 1,
        "skipped": 0,
    }
    # Listed in the order given, whatever order they finished in.
    assert [Path(e["repo"]).name for e in report["repos"]] == ["a", "b", "c", "not-a-project"]
    entries = by_name(report)
    assert set(entries["a"]) == REPORT_KEYS | {"message"}
    assert entries["a"]["status"] == "behind"
    assert (entries["a"]["from"], entries["a"]["to"]) == ("v1", "v2")
    assert entries["a"]["template"] == str(template.path)
    assert entries["a"]["branch"] is None
    assert "run `mlrig fleet update`" in str(entries["a"]["message"])
    assert entries["c"]["status"] == "current"
    assert entries["not-a-project"]["status"] == "error"
    assert "has no .copier-answers.yml" in str(entries["not-a-project"]["message"])
    # Progress goes to stderr, one line per repository.
    assert sorted(line.split()[0] for line in result.stderr.splitlines()) == [
        "[1/4]",
        "[2/4]",
        "[3/4]",
        "[4/4]",
    ]
    # check changes nothing.
    assert all(status(repo) == [] and branches(repo) == ["main"] for repo in fleet)


def test_fleet_check_table(tmp_path: Path, template: TemplateRepo) -> None:
    project = make_project(template, tmp_path / "a")
    release_v2(template)
    result = run_cli("fleet", "check", str(project))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["REPO", "STATUS", "FROM", "TO", "MESSAGE"]
    assert lines[1].split()[1:4] == ["behind", "v1", "v2"]
    assert lines[-1] == "1 repositories: 1 behind."


def test_fleet_check_reports_a_bug_in_one_repo_and_goes_on(
    tmp_path: Path, template: TemplateRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    good, bad = (make_project(template, tmp_path / name) for name in ("good", "bad"))

    def buggy(dest: Path) -> object:
        if dest.name == "bad":
            raise KeyError("boom")
        return real_check(dest)

    monkeypatch.setattr("mlrig.commands.fleet.check", buggy)
    seen: list[RepoStatus] = []
    result = fleet_check([good, bad], jobs=2, on_result=seen.append)
    assert [r.status for r in result.repos] == ["current", "error"]
    assert "internal error (KeyError" in result.repos[1].message
    assert sorted(r.repo.name for r in seen) == ["bad", "good"]


@pytest.mark.slow
def test_fleet_update_brings_the_fleet_forward_on_branches(
    tmp_path: Path, template: TemplateRepo
) -> None:
    root = tmp_path / "fleet"
    clean = [make_project(template, root / name) for name in ("a", "b")]
    colliding = make_project(template, root / "collides")
    settings = colliding / "settings.txt"
    settings.write_text("timeout = 15\nretries = 1\n")
    commit_project(colliding, "our own timeout")
    dirty = make_project(template, root / "dirty")
    (dirty / "wip.txt").write_text("work in progress\n")
    release_v2(template)
    current = make_project(template, root / "current", ref="v2")
    broken = root / "not-git"
    broken.mkdir()
    fleet = [*clean, colliding, dirty, current, broken]
    before = {repo: head(repo) for repo in fleet[:-1]}

    result = run_cli("fleet", "update", "--json", "-j", "2", *map(str, fleet))

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["command"] == "update"
    assert report["counts"] == {
        "current": 1,
        "behind": 0,
        "updated": 2,
        "conflict": 1,
        "error": 1,
        "skipped": 1,
    }
    entries = by_name(report)
    for repo in clean:
        entry = entries[repo.name]
        assert entry["status"] == "updated"
        assert entry["branch"] == "mlrig/update-v2"
        assert entry["commit"] == head(repo, "mlrig/update-v2")
        # One commit on top of the original HEAD, holding the whole update.
        assert head(repo, "mlrig/update-v2~1") == before[repo]
        assert git(repo, "show", "mlrig/update-v2:settings.txt") == "timeout = 20\nretries = 1"
        assert git(repo, "show", "mlrig/update-v2:CONTRIBUTING.md") == "Run the tests."
        assert "_commit: v2" in git(repo, "show", "mlrig/update-v2:.copier-answers.yml")
        # The checked-out branch and the work tree are untouched.
        assert git(repo, "branch", "--show-current") == "main"
        assert head(repo) == before[repo]
        assert status(repo) == []
        assert not (repo / "CONTRIBUTING.md").exists()
        assert git(repo, "worktree", "list").count("\n") == 0  # no scratch worktree left
    conflict = entries["collides"]
    assert conflict["status"] == "conflict"
    assert conflict["conflicts"] == ["settings.txt"]
    assert conflict["branch"] is None
    assert conflict["commit"] is None
    assert "nothing committed" in str(conflict["message"])
    # Nothing committed, no branch, local work intact.
    assert branches(colliding) == ["main"]
    assert head(colliding) == before[colliding]
    assert status(colliding) == []
    assert settings.read_text() == "timeout = 15\nretries = 1\n"
    assert entries["dirty"]["status"] == "skipped"
    assert "uncommitted changes" in str(entries["dirty"]["message"])
    assert status(dirty) == ["?? wip.txt"]
    assert branches(dirty) == ["main"]
    assert entries["current"]["status"] == "current"
    assert branches(current) == ["main"]
    assert head(current) == before[current]
    assert entries["not-git"]["status"] == "error"
    assert "is not in a git repository" in str(entries["not-git"]["message"])

    # fleet check now tells the waiting update from a plain "behind".
    checked = by_name(json.loads(run_cli("fleet", "check", "--json", *map(str, clean)).stdout))
    assert checked["a"]["status"] == "behind"
    assert checked["a"]["branch"] == "mlrig/update-v2"
    assert checked["a"]["commit"] == entries["a"]["commit"]
    assert "waiting on branch mlrig/update-v2" in str(checked["a"]["message"])

    # Run again: the branch exists, so the repo is an error and the branch is kept.
    tip = head(clean[0], "mlrig/update-v2")
    again = run_cli("fleet", "update", str(clean[0]))
    assert again.exit_code == 1
    assert "mlrig/update-v2 exists already" in again.stdout
    assert head(clean[0], "mlrig/update-v2") == tip


@pytest.mark.slow
def test_fleet_update_exit_0_when_all_updated_or_current(
    tmp_path: Path, template: TemplateRepo
) -> None:
    behind = make_project(template, tmp_path / "behind")
    release_v2(template)
    current = make_project(template, tmp_path / "current", ref="v2")
    result = run_cli("fleet", "update", "--jobs", "1", str(behind), str(current))
    assert result.exit_code == 0, result.output
    assert [line.split()[1] for line in result.stdout.splitlines()[1:3]] == [
        "updated",
        "current",
    ]
    assert "mlrig/update-v2" in branches(behind)


@pytest.mark.slow
def test_interrupted_fleet_update_leaves_each_repo_whole_or_untouched(
    tmp_path: Path, template: TemplateRepo
) -> None:
    fleet = [make_project(template, tmp_path / name) for name in ("a", "b", "c")]
    release_v2(template)
    before = {repo: head(repo) for repo in fleet}

    def ctrl_c(_status: RepoStatus) -> None:
        raise KeyboardInterrupt

    with pytest.raises(Interrupted, match=r"interrupted after 1 of 3 .* not started"):
        fleet_update(fleet, jobs=1, on_result=ctrl_c)
    # One worker: Ctrl-C after the first repository; the others were never started.
    finished = [repo for repo in fleet if "mlrig/update-v2" in branches(repo)]
    assert finished == fleet[:1]
    for repo in fleet:
        assert head(repo) == before[repo]
        assert status(repo) == []
        assert git(repo, "worktree", "list").count("\n") == 0
        if repo in finished:
            assert "_commit: v2" in git(repo, "show", "mlrig/update-v2:.copier-answers.yml")


def test_bad_repo_lists_are_refused_up_front(tmp_path: Path, template: TemplateRepo) -> None:
    project = make_project(template, tmp_path / "fleet" / "a")
    release_v2(template)
    link = tmp_path / "link-to-a"
    link.symlink_to(project)
    cases = {
        "not a directory: ": [str(project), str(tmp_path / "missing")],
        "listed twice: ": [str(project), str(tmp_path / "fleet" / "." / "a")],
        "(same as ": [str(project), str(link)],
    }
    for expected, args in cases.items():
        for command in ("check", "update"):
            result = run_cli("fleet", command, *args)
            assert result.exit_code == 2, result.output
            assert expected in result.stderr
            assert len(result.stderr.strip().splitlines()) == 1
            assert result.stdout == ""
    assert branches(project) == ["main"]  # update never ran

    empty = run_cli("fleet", "update")
    assert empty.exit_code == 2
    assert "no repositories given" in empty.stderr
    unreadable = run_cli("fleet", "check", "--from", str(tmp_path / "no-such-list.txt"))
    assert unreadable.exit_code == 2
    assert "no-such-list.txt does not exist" in unreadable.stderr
    zero = run_cli("fleet", "update", "--jobs", "0", str(project))
    assert zero.exit_code == 2
    assert "--jobs" in zero.stderr
    with pytest.raises(InvalidInputError, match="--jobs must be at least 1"):
        fleet_check([project], jobs=0)


def test_from_file_with_comments_and_relative_paths(tmp_path: Path, template: TemplateRepo) -> None:
    fleet = [make_project(template, tmp_path / "fleet" / name) for name in ("a", "b")]
    listing = tmp_path / "fleet" / "repos.txt"
    listing.write_text(f"# our repositories\n\na\n  {fleet[1]}  \n# b is above\n")
    assert read_repo_list(listing) == (fleet[0], fleet[1])

    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)  # a relative --from path; its entries stay relative to the file
        result = run_cli("fleet", "check", "--json", "--from", "fleet/repos.txt")
    finally:
        os.chdir(cwd)
    assert result.exit_code == 0, result.output
    assert [e["repo"] for e in json.loads(result.stdout)["repos"]] == list(map(str, fleet))

    # Arguments and --from together; the same repo in both is a duplicate.
    both = run_cli("fleet", "check", str(fleet[0]), "--from", str(listing))
    assert both.exit_code == 2
    assert "listed twice" in both.stderr


@pytest.mark.slow
def test_a_template_with_tasks_needs_trust(tmp_path: Path, template: TemplateRepo) -> None:
    project = make_project(template, tmp_path / "a")
    template.release("v2", QUESTIONS + "_tasks:\n  - touch made-by-task.txt\n", V2)
    template_versions.cache_clear()

    refused = run_cli("fleet", "update", "--json", str(project))
    assert refused.exit_code == 1
    entry = json.loads(refused.stdout)["repos"][0]
    assert entry["status"] == "error"
    assert "unsafe" in str(entry["message"])
    assert branches(project) == ["main"]

    trusted = run_cli("fleet", "update", "--trust", "--json", str(project))
    assert trusted.exit_code == 0, trusted.output
    assert json.loads(trusted.stdout)["repos"][0]["status"] == "updated"
    assert "made-by-task.txt" in git(project, "ls-tree", "--name-only", "mlrig/update-v2")


def _die(_project: Path) -> RepoStatus:
    os._exit(9)  # what the OOM killer does to a worker


def test_a_dead_worker_process_is_an_error_not_a_crash(tmp_path: Path) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from mlrig.commands._fleet_pool import run_all

    paths = [tmp_path / name for name in ("a", "b", "c")]
    seen: list[RepoStatus] = []
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        results = run_all(pool, 1, _die, paths, seen.append, "update")
    assert [r.repo for r in results] == paths
    assert {r.status for r in results} == {"error"}
    assert "worker process died" in results[0].message
    assert len(seen) == 3


def test_interrupted_fleet_check_says_nothing_changed(
    tmp_path: Path, template: TemplateRepo
) -> None:
    fleet = [make_project(template, tmp_path / name) for name in ("a", "b", "c")]

    def ctrl_c(_status: RepoStatus) -> None:
        raise KeyboardInterrupt

    with pytest.raises(Interrupted, match=r"fleet check interrupted after \d of 3 .*nothing"):
        fleet_check(fleet, jobs=1, on_result=ctrl_c)


def test_a_merged_pipeline_that_does_not_validate_is_not_committed(
    tmp_path: Path, template: TemplateRepo
) -> None:
    project = make_project(template, tmp_path / "a")
    template.release("v2", QUESTIONS, {**V2, ".gitlab-ci.yml": "test:\n  script: [\n"})
    template_versions.cache_clear()

    result = run_cli("fleet", "update", "--json", str(project))

    assert result.exit_code == 1
    entry = json.loads(result.stdout)["repos"][0]
    assert entry["status"] == "conflict"
    assert "the merged pipeline does not validate: [yaml] .gitlab-ci.yml" in entry["message"]
    assert branches(project) == ["main"]
    assert status(project) == []
