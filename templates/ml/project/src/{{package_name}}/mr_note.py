"""Post the model gate's verdict as one note on a GitLab merge request.

The mr-note job of .gitlab-ci.yml runs it in merge request pipelines, after the train
job, with the standard library only (no install):

    PYTHONPATH=src python -m <package>.mr_note --metrics artifacts/metrics.json

It reads the baseline of the merge request's target branch through the API, has
evaluate.py write the verdict (quality and cost against that baseline, and a bar chart)
to --out, and posts it as a note, or updates the note it posted before: the first line
of the verdict is a hidden marker. The token is the CI/CD variable MLRIG_NOTE_TOKEN (a
project access token, role Reporter, scope api); it is removed from the environment
before evaluate.py runs. Exit 0 posted, 1 not posted (the reason is printed).
"""

import argparse
import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

TOKEN_VARIABLE = "MLRIG_NOTE_TOKEN"
#: GitLab's predefined variables of a merge request pipeline that the job needs.
NEEDED = (
    "CI_API_V4_URL",
    "CI_PROJECT_ID",
    "CI_MERGE_REQUEST_IID",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
)


class NoteError(Exception):
    """The note cannot be posted; the message says why and what to do."""


class Api:
    """The few GitLab REST calls of one project, authenticated with a token."""

    def __init__(self, url: str, project: str, token: str) -> None:
        self.base = f"{url.rstrip('/')}/projects/{urllib.parse.quote(project, safe='')}"
        self.token = token

    def call(self, method: str, path: str, body: str | None = None) -> tuple[bytes, str]:
        """The response's content and its X-Next-Page header; HTTPError on failure."""
        data = None if body is None else urllib.parse.urlencode({"body": body}).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"PRIVATE-TOKEN": self.token}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read(), response.headers.get("X-Next-Page", "")


def target_baseline(api: Api, branch: str, dest: Path) -> None:
    """Write the target branch's metrics/baseline.json to `dest`; remove `dest` if it has none."""
    ref = urllib.parse.quote(branch, safe="")
    try:
        content, _ = api.call("GET", f"/repository/files/metrics%2Fbaseline.json/raw?ref={ref}")
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise
        dest.unlink(missing_ok=True)
        print(f"the target branch {branch} has no metrics/baseline.json")
        return
    dest.write_bytes(content)


def existing_note(api: Api, iid: str, marker: str) -> int | None:
    """The id of the note that starts with `marker`, if one was posted before."""
    page = "1"
    while page:
        content, page = api.call("GET", f"/merge_requests/{iid}/notes?per_page=100&page={page}")
        for note in json.loads(content):
            if str(note.get("body", "")).startswith(marker):
                return int(note["id"])
    return None


def post(api: Api, iid: str, body: str) -> str:
    """Create the verdict note, or update the one found by its marker; say which."""
    marker = body.split("\n", 1)[0]
    note = existing_note(api, iid, marker)
    if note is None:
        api.call("POST", f"/merge_requests/{iid}/notes", body)
        return f"posted the verdict on merge request !{iid}"
    api.call("PUT", f"/merge_requests/{iid}/notes/{note}", body)
    return f"updated the verdict note {note} on merge request !{iid}"


def verdict(package: str, metrics: Path, baseline: Path, target: Path, out: Path) -> None:
    """Have evaluate.py write the verdict to `out` (a failing gate still writes it)."""
    env = {**os.environ, "PYTHONPATH": "src"}
    argv = [sys.executable, "-m", f"{package}.evaluate", "--metrics", str(metrics)]
    argv += ["--baseline", str(baseline), "--comment", str(out), "--target-baseline", str(target)]
    code = subprocess.run(argv, env=env, check=False).returncode
    if code not in (0, 1) or not out.is_file():
        raise NoteError(f"evaluate.py could not write the verdict (exit {code})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Post the gate's verdict on the merge request.")
    parser.add_argument("--metrics", type=Path, default=Path("artifacts/metrics.json"))
    parser.add_argument("--baseline", type=Path, default=Path("metrics/baseline.json"))
    parser.add_argument("--out", type=Path, default=Path("artifacts/comment.md"))
    args = parser.parse_args(argv)
    # Popped, so that evaluate.py (the merge request's own code) never sees the token.
    token = os.environ.pop(TOKEN_VARIABLE, "")
    try:
        if not token:
            raise NoteError(
                f"the CI/CD variable {TOKEN_VARIABLE} is not set: create a project access "
                "token (role Reporter, scope api) and store it as a masked variable of that "
                "name, environment scope mr-note (see README.md)"
            )
        missing = [name for name in NEEDED if not os.environ.get(name)]
        if missing:
            raise NoteError(f"not a merge request pipeline: {', '.join(missing)} not set")
        if not args.metrics.is_file():
            raise NoteError(f"no {args.metrics}: training failed before the gate")
        env = os.environ
        api = Api(env["CI_API_V4_URL"], env["CI_PROJECT_ID"], token)
        iid = env["CI_MERGE_REQUEST_IID"]
        args.out.parent.mkdir(parents=True, exist_ok=True)
        target = args.out.parent / "target-baseline.json"
        target_baseline(api, env["CI_MERGE_REQUEST_TARGET_BRANCH_NAME"], target)
        verdict(__package__ or "", args.metrics, args.baseline, target, args.out)
        print(post(api, iid, args.out.read_text(encoding="utf-8")))
    except NoteError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except urllib.error.HTTPError as error:
        hint = (
            f" (is {TOKEN_VARIABLE} a valid token with the api scope?)"
            if error.code in (401, 403)
            else ""
        )
        print(f"error: the GitLab API call {error.url} failed: {error}{hint}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as error:
        print(f"error: cannot post the verdict: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
