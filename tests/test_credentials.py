"""A token inside a template URL is never printed, never written to a report or answers file."""

from __future__ import annotations

import base64
import functools
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlrig._credentials import mask, without_credentials
from tests.configenv import isolate
from tests.conftest import run_cli
from tests.housetemplates import house_template
from tests.templaterepo import commit_project, git

TOKEN = "ghp_t0ps3cr3tT0k3n4711"


def _closed_port() -> int:
    # A port nothing listens on: git's connection is refused at once, offline.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def unreachable() -> str:
    """A template URL holding a token, on a local port that refuses connections."""
    return f"http://deploy:{TOKEN}@127.0.0.1:{_closed_port()}/acme/ml-template.git"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path)


def _project(root: Path, src_path: str) -> Path:
    """A committed project whose answers file records ``src_path`` (as an older mlrig did)."""
    root.mkdir()
    git(root, "init", "--quiet", "--initial-branch=main")
    (root / ".copier-answers.yml").write_text(
        f"# Written by copier; do not edit.\n_commit: v1.0.0\n_src_path: {src_path}\n"
    )
    commit_project(root, "init")
    return root


def _assert_hidden(*outputs: str) -> None:
    for output in outputs:
        assert TOKEN not in output
    assert any("***@127.0.0.1" in output for output in outputs), outputs


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://user:TOKEN@host/o/r.git", "https://***@host/o/r.git"),
        ("https://TOKEN@host/o/r.git@v1", "https://***@host/o/r.git@v1"),
        ("ssh://user:pw@host:22/o/r.git", "ssh://***@host:22/o/r.git"),
        ("git+https://u:p@ss@host/r.git", "git+https://***@host/r.git"),
        ("fatal: 'https://u:t@h/r.git/' not found", "fatal: 'https://***@h/r.git/' not found"),
        ("ssh://git@host/o/r.git", "ssh://git@host/o/r.git"),
        ("git@github.com:owner/repo.git", "git@github.com:owner/repo.git"),
        ("https://github.com/o/r.git@v1.0.0", "https://github.com/o/r.git@v1.0.0"),
    ],
)
def test_mask_hides_url_credentials_and_keeps_everything_else(text: str, shown: str) -> None:
    assert mask(text) == shown


def test_the_recorded_url_has_no_credentials() -> None:
    assert without_credentials("https://user:TOKEN@host/o/r.git") == "https://host/o/r.git"
    assert without_credentials("git+https://TOKEN@host:8443/r") == "git+https://host:8443/r"
    for kept in ("ssh://git@host/o/r.git", "git@host:o/r.git", "gh:o/r", "/srv/t.bundle"):
        assert without_credentials(kept) == kept


def test_new_never_prints_the_token(tmp_path: Path, unreachable: str) -> None:
    result = run_cli("new", str(tmp_path / "proj"), "--defaults", "--template", unreachable)

    assert result.exit_code == 3
    _assert_hidden(result.stdout, result.stderr)
    assert "credential helper" in result.stderr
    assert not (tmp_path / "proj").exists()


def test_update_never_prints_the_token(tmp_path: Path, unreachable: str) -> None:
    project = _project(tmp_path / "proj", unreachable)

    result = run_cli("update", str(project))

    assert result.exit_code == 3
    _assert_hidden(result.stdout, result.stderr)


@pytest.mark.parametrize("as_json", [[], ["--json"]])
def test_check_never_prints_the_token(tmp_path: Path, unreachable: str, as_json: list[str]) -> None:
    project = _project(tmp_path / "proj", unreachable)

    result = run_cli("check", str(project), *as_json)

    assert result.exit_code == 3
    _assert_hidden(result.stdout, result.stderr)


@pytest.mark.parametrize("as_json", [[], ["--json"]])
def test_doctor_never_prints_the_token(
    tmp_path: Path, unreachable: str, as_json: list[str]
) -> None:
    # Longer than doctor's table is wide: the text report breaks it across lines.
    long_url = unreachable.replace("/acme/", "/acme/" + "platform-team/" * 6)
    project = _project(tmp_path / "proj", long_url)

    result = run_cli("doctor", str(project), *as_json)

    _assert_hidden(result.stdout, result.stderr)
    if as_json:
        json.loads(result.stdout)  # masking keeps the report valid JSON


@pytest.mark.parametrize("as_json", [[], ["--json"]])
def test_fleet_check_never_prints_the_token(
    tmp_path: Path, unreachable: str, as_json: list[str]
) -> None:
    project = _project(tmp_path / "proj", unreachable)

    result = run_cli("fleet", "check", "-j", "1", str(project), *as_json)

    assert result.exit_code == 1
    _assert_hidden(result.stdout, result.stderr)
    if as_json:
        assert json.loads(result.stdout)["repos"][0]["status"] == "error"


def _mlrig(cwd: Path, *args: str, gitconfig: Path) -> subprocess.CompletedProcess[str]:
    # A separate process: copier's git (plumbum) reads the environment at import, so
    # GIT_CONFIG_GLOBAL must be set before mlrig starts.
    env = {**os.environ, "GIT_CONFIG_GLOBAL": str(gitconfig), "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mlrig", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def rewritten(tmp_path: Path) -> tuple[str, Path]:
    """A template URL with a token, and a git config that rewrites it to a local template.

    git's ``url.<base>.insteadOf`` stands in for a server that wants the token: the
    template is reached only through the URL exactly as given, token included.
    """
    template = house_template(tmp_path / "house-template")
    url = f"https://deploy:{TOKEN}@127.0.0.1:{_closed_port()}/acme/ml-template.git"
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text(f'[url "{template.as_uri()}"]\n\tinsteadOf = {url}\n')
    return url, gitconfig


@pytest.fixture
def login_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP git server that serves a house template only with a login.

    Yields the template's URL holding the login (``http://deploy:TOKEN@...``) and
    the template's working repository; :func:`publish` serves its new tags.
    """
    template = house_template(tmp_path / "house-template")
    served = tmp_path / "served"
    served.mkdir()
    git(served, "clone", "--quiet", "--bare", str(template), "ml-template.git")
    git(served / "ml-template.git", "update-server-info")
    login = "Basic " + base64.b64encode(f"deploy:{TOKEN}".encode()).decode()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.headers.get("Authorization") == login:
                super().do_GET()
                return
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="templates"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(served))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        yield f"http://deploy:{TOKEN}@127.0.0.1:{port}/ml-template.git", template
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def publish(template: Path, served: Path) -> None:
    """Release the next version of ``template`` (v1.1.0) and serve it."""
    readme = template / "project" / "README.md.jinja"
    readme.write_text(readme.read_text() + "\nVersion two.\n")
    git(template, "commit", "--quiet", "-am", "v1.1.0")
    git(template, "tag", "v1.1.0")
    git(template, "push", "--quiet", "--tags", str(served), "main")
    git(served, "update-server-info")


def test_new_records_the_url_without_its_token_and_git_logs_in_with_a_helper(
    tmp_path: Path, login_server: tuple[str, Path]
) -> None:
    url, template = login_server
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("")

    made = _mlrig(tmp_path, "new", "proj", "--defaults", "--template", url, gitconfig=gitconfig)

    assert made.returncode == 0, made.stderr
    assert TOKEN not in made.stdout + made.stderr
    project = tmp_path / "proj"
    answers = project / ".copier-answers.yml"
    assert f"_src_path: {without_credentials(url)}\n" in answers.read_text()
    for path in project.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            assert TOKEN not in path.read_text(errors="replace"), path
    assert TOKEN not in git(project, "log", "-p", "--all")
    # The project follows the URL without the token: without a login, the hint says how.
    publish(template, tmp_path / "served" / "ml-template.git")
    refused = _mlrig(project, "update", gitconfig=gitconfig)
    assert refused.returncode == 3
    assert "credential helper" in refused.stderr
    # With the hint followed, git logs in from the helper and the update goes through.
    store = tmp_path / "git-credentials"
    store.write_text(f"{url.removesuffix('/ml-template.git')}\n")
    gitconfig.write_text(f"[credential]\n\thelper = store --file {store}\n")
    updated = _mlrig(project, "update", gitconfig=gitconfig)
    assert updated.returncode == 0, updated.stderr
    assert "Version two." in (project / "README.md").read_text()
    assert TOKEN not in updated.stdout + updated.stderr + answers.read_text()


def test_template_test_report_never_holds_the_token(
    tmp_path: Path, rewritten: tuple[str, Path]
) -> None:
    url, gitconfig = rewritten
    report = tmp_path / "report.json"

    tested = _mlrig(
        tmp_path,
        "template",
        "test",
        url,
        "--sample",
        "1",
        "--json",
        "--report",
        str(report),
        gitconfig=gitconfig,
    )

    assert tested.returncode == 0, tested.stderr
    for output in (tested.stdout, tested.stderr, report.read_text()):
        assert TOKEN not in output
    assert json.loads(report.read_text())["template"] == mask(url)
    assert json.loads(tested.stdout)["template"] == mask(url)


def test_update_drops_a_recorded_token_from_the_answers_file(
    tmp_path: Path, rewritten: tuple[str, Path]
) -> None:
    url, gitconfig = rewritten
    made = _mlrig(tmp_path, "new", "proj", "--defaults", "--template", url, gitconfig=gitconfig)
    assert made.returncode == 0, made.stderr
    project = tmp_path / "proj"
    answers = project / ".copier-answers.yml"
    # As an mlrig before this fix recorded it.
    answers.write_text(answers.read_text().replace(without_credentials(url), url))
    git(project, "commit", "--quiet", "--allow-empty", "-am", "old record")
    template = tmp_path / "house-template"
    readme = template / "project" / "README.md.jinja"
    readme.write_text(readme.read_text() + "\nVersion two.\n")
    git(template, "commit", "--quiet", "-am", "v1.1.0")
    git(template, "tag", "v1.1.0")

    updated = _mlrig(project, "update", gitconfig=gitconfig)

    assert updated.returncode == 0, updated.stderr
    assert TOKEN not in updated.stdout + updated.stderr
    assert "Version two." in (project / "README.md").read_text()
    assert f"_src_path: {without_credentials(url)}\n" in answers.read_text()
    assert TOKEN not in answers.read_text()
