"""A stand-in for the few GitLab REST calls of a generated project's mr-note job.

It serves one project's merge request notes and one file of the target branch on
127.0.0.1, keeps the notes in memory, and records every request, so that tests can
run ``mr_note.py`` (directly or in a gitlab-ci-local job) with the posting call
stubbed and inspect what it would have posted.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PROJECT_ID = "42"
MR_IID = "7"
TARGET_BRANCH = "main"


@dataclass(frozen=True)
class Request:
    """One request the stand-in received."""

    method: str
    path: str
    token: str | None
    body: str | None


@dataclass
class FakeGitlab:
    """The state of the stand-in: notes, the target branch's baseline, the requests seen."""

    url: str = ""
    #: Content of metrics/baseline.json on the target branch; None answers 404.
    target_baseline: str | None = None
    notes: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    @property
    def api(self) -> str:
        """The value of CI_API_V4_URL that points the job at this stand-in."""
        return f"{self.url}/api/v4"

    def handle(
        self, method: str, raw_path: str, token: str | None, body: str | None
    ) -> tuple[int, str]:
        """Answer one request: (status, JSON or file content)."""
        self.requests.append(Request(method, raw_path, token, body))
        path = urlsplit(raw_path).path
        project = f"/api/v4/projects/{PROJECT_ID}"
        notes = f"{project}/merge_requests/{MR_IID}/notes"
        if method == "GET" and path == f"{project}/repository/files/metrics%2Fbaseline.json/raw":
            if self.target_baseline is None:
                return 404, json.dumps({"message": "404 File Not Found"})
            return 200, self.target_baseline
        if method == "GET" and path == notes:
            return 200, json.dumps(self.notes)
        if method == "POST" and path == notes and body is not None:
            note = {"id": 100 + len(self.notes), "body": body}
            self.notes.append(note)
            return 201, json.dumps(note)
        if method == "PUT" and path.startswith(f"{notes}/") and body is not None:
            for note in self.notes:
                if path == f"{notes}/{note['id']}":
                    note["body"] = body
                    return 200, json.dumps(note)
        return 404, json.dumps({"message": f"404 {method} {path} is not stubbed"})


@contextmanager
def fake_gitlab(target_baseline: str | None = None) -> Iterator[FakeGitlab]:
    """Serve a FakeGitlab on a free port of 127.0.0.1 for the duration of the block."""
    state = FakeGitlab(target_baseline=target_baseline)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode()) if length else {}
            body = form["body"][0] if "body" in form else None
            status, content = state.handle(
                self.command, self.path, self.headers.get("PRIVATE-TOKEN"), body
            )
            data = content.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Next-Page", "")
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the requests are recorded in ``state.requests``."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
