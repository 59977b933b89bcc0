"""mlrig's own release workflow (.github/workflows/release.yml), checked like every
workflow mlrig writes: the validators of mlrig.validate find nothing in it, and each
known-bad copy of it is caught, so the check can fail. The workflow and its bad copies
are validated as one batch, each a subtest of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from mlrig.validate import validate_trees

RELEASE = Path(__file__).resolve().parent.parent / ".github" / "workflows" / "release.yml"
_PIN = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")


def _tree(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".github" / "workflows" / "release.yml"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    return tmp_path


def _jobs() -> dict[str, dict[str, object]]:
    data = yaml.safe_load(RELEASE.read_text(encoding="utf-8"))
    jobs: dict[str, dict[str, object]] = data["jobs"]
    return jobs


def test_only_the_publish_job_may_mint_an_oidc_token() -> None:
    jobs = _jobs()
    minting = [name for name, job in jobs.items() if "id-token" in str(job.get("permissions"))]
    assert minting == ["publish"]
    assert jobs["publish"]["environment"] == {
        "name": "pypi",
        "url": "https://pypi.org/project/mlrig/",
    }
    uses = [str(step.get("uses", "")) for step in jobs["publish"]["steps"]]  # type: ignore[attr-defined]
    assert [u.partition("@")[0] for u in uses] == [
        "actions/download-artifact",
        "actions/attest-build-provenance",
        "pypa/gh-action-pypi-publish",
    ]


def test_the_wheel_is_tested_before_anything_is_published() -> None:
    jobs = _jobs()
    assert jobs["test-wheel"]["needs"] == "build"
    assert jobs["publish"]["needs"] == "test-wheel"
    script = "\n".join(str(s.get("run", "")) for s in jobs["test-wheel"]["steps"])  # type: ignore[attr-defined]
    assert "pip install dist/*.whl" in script
    assert 'mlrig" new smoke --defaults' in script


def test_every_action_is_pinned_by_commit_with_its_version() -> None:
    lines = [line.strip() for line in RELEASE.read_text(encoding="utf-8").splitlines()]
    uses = [line.removeprefix("uses: ") for line in lines if line.startswith("uses: ")]
    assert len(uses) == 8
    for ref in uses:
        assert _PIN.match(ref), ref


#: Known-bad copies of the workflow, by name: (text replaced, its replacement, the finding).
BAD_COPIES: dict[str, tuple[str, str, str]] = {
    # A moving ref instead of a commit.
    "unpinned": (
        "pypa/gh-action-pypi-publish@81e9d935c883d0b210363ab89cf05f3894778450 # v1.8.14",
        "pypa/gh-action-pypi-publish@release/v1",
        "unpinned-uses",
    ),
    # Every job may mint a token.
    "workflow-id-token": (
        "permissions: {}\n\n# A tag",
        "permissions:\n  id-token: write # to publish\n\n# A tag",
        "id-token: write is overly broad at the workflow level",
    ),
    # The tag name pasted into the shell.
    "injection": (
        'if [ "v$version" != "$GITHUB_REF_NAME" ]',
        'if [ "v$version" != "${{ github.ref_name }}" ]',
        "template-injection",
    ),
    # A job without a timeout.
    "no-timeout": (
        "    timeout-minutes: 10\n    permissions: {}\n",
        "    permissions: {}\n",
        "'timeout-minutes' is a required property",
    ),
}


def test_the_workflow_passes_every_validator_and_each_known_bad_copy_is_caught(
    tmp_path: Path, subtests: pytest.Subtests
) -> None:
    text = RELEASE.read_text(encoding="utf-8")
    roots = [_tree(tmp_path / "release", text)]
    for name, (old, new, _) in BAD_COPIES.items():
        assert old in text, name
        roots.append(_tree(tmp_path / name, text.replace(old, new)))
    clean, *bad = validate_trees(roots)
    with subtests.test("release.yml"):
        assert not clean, "\n".join(map(str, clean))
    for (name, (_, _, finding)), findings in zip(BAD_COPIES.items(), bad, strict=True):
        with subtests.test(name):
            assert any(finding in str(f) for f in findings), "\n".join(map(str, findings))
