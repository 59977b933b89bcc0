"""doctor's secret scan (git grep, then detect-secrets) on the forms a team commits.

Every fake credential is assembled at run time from pieces, so that no secret
scanner flags this repository (as tests/gallery.py does with FAKE_AWS_KEY_ID).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlrig._secrets import Secret, secrets, start_secret_scan
from mlrig.cli.doctor import render
from mlrig.commands.doctor import doctor
from tests.templaterepo import init_and_commit

# Fake values with a credential's shape: letters and digits, nothing a filter calls a placeholder.
FAKE_VALUE = "q7Rz" + "K2mW9x" + "Lp4Tn8"
FAKE_HF = "hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH"
PASSWORD_URL = "postgres://ml:" + FAKE_VALUE + "@db.internal:5432/features"


def scan(root: Path, files: dict[str, str]) -> list[tuple[str, int, str]]:
    """The secret scan's findings in a committed repository holding ``files``."""
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    init_and_commit(root, "files")
    found: list[Secret] = secrets(start_secret_scan(root, {}))
    return [(s.path, s.line, s.kind) for s in found]


KEYWORD = "hard-coded password or key"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # A tracked .env: KEY=value with no quotes, as every .env is written.
        ({".env": f"DEBUG=1\nAPI_KEY={FAKE_VALUE}\n"}, [(".env", 2, KEYWORD)]),
        ({"config/prod.env": f"DB_PASSWORD={FAKE_VALUE}\n"}, [("config/prod.env", 1, KEYWORD)]),
        ({".envrc": f"export SECRET_KEY={FAKE_VALUE}\n"}, [(".envrc", 1, KEYWORD)]),
        # export KEY=value in any shell file.
        (
            {"scripts/run.sh": f"#!/bin/sh\nexport DB_PASSWORD={FAKE_VALUE}\n"},
            [("scripts/run.sh", 2, KEYWORD)],
        ),
        # A token-named variable (detect-secrets' own keywords leave `token` out).
        ({".env": f"HF_TOKEN={FAKE_HF}\n"}, [(".env", 1, KEYWORD)]),
        ({"train.py": f'WANDB_TOKEN = "{FAKE_VALUE}"\n'}, [("train.py", 1, KEYWORD)]),
        # A password inside a connection URL.
        ({".env": f"DATABASE_URL={PASSWORD_URL}\n"}, [(".env", 1, "password in a URL")]),
    ],
    ids=["dotenv", "named-env", "envrc", "export", "hf-token", "token-name", "url-password"],
)
def test_env_and_export_forms_are_caught(
    tmp_path: Path, files: dict[str, str], expected: list[tuple[str, int, str]]
) -> None:
    assert scan(tmp_path / "r", files) == expected


def test_env_look_alikes_are_not_secrets(tmp_path: Path) -> None:
    found = scan(
        tmp_path / "r",
        {
            ".env": "API_KEY=${API_KEY}\n"
            "DB_PASSWORD=$DB_PASSWORD\n"
            "SECRET_KEY=\n"
            "HF_TOKEN=changeme123\n"
            "PASSWORD=<set-me-1>\n"
            "export PATH=$PATH:/opt/bin\n",
            # A template of the .env, with the names only: read as the code it is.
            ".env.example": f"API_KEY={FAKE_VALUE}\n",
            "scripts/run.sh": 'export DB_PASSWORD="$(cat /run/secrets/db)"\n'
            "export TOKEN=${CI_JOB_TOKEN}\n",
            "db.py": 'url = f"postgresql://ml:{password}@db.internal/samples"\n',
        },
    )
    assert found == []


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("key = 'sk_" + "live_" + "a1B2c3D4e5F6g7H8i9J0k1L2'\n", "Stripe key"),
        (
            "OPENAI = 'sk-" + "a1B2c3D4e5F6g7H8i9J0" + "T3Blbk" + "FJ" + "k1L2m3N4o5P6q7R8s9T0'\n",
            "OpenAI key",
        ),
        (
            "//registry.npmjs.org/:_auth" + "Token=npm_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8\n",
            "npm token",
        ),
        (
            "SENDGRID = 'SG."
            + "a1B2c3D4e5F6g7H8i9J0k1"
            + "."
            + "a" * 21
            + "B2c3D4e5F6g7H8i9J0k1L2'\n",
            "SendGrid key",
        ),
        ("PYPI = 'pypi-" + "AgEIcHlwaS5vcmc" + "a1B2c3D4e5" * 8 + "'\n", "PyPI token"),
    ],
    ids=["stripe", "openai", "npm", "sendgrid", "pypi"],
)
def test_detect_secrets_token_formats_pass_the_first_pass(
    tmp_path: Path, text: str, kind: str
) -> None:
    assert scan(tmp_path / "r", {"settings.cfg": text}) == [("settings.cfg", 1, kind)]


def test_doctor_reports_a_tracked_env_file_without_its_value(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    (repo / "README.md").write_text("model\n")
    (repo / ".env").write_text(f"export API_KEY={FAKE_VALUE}\n")
    init_and_commit(repo, "env")
    report = doctor(repo)
    assert [(s.path, s.line) for s in report.secrets] == [(".env", 1)]
    finding = next(f for f in report.findings if f.id == "committed-secrets")
    assert finding.severity == "high"
    assert ".env:1" in finding.detail
    assert FAKE_VALUE not in json.dumps(report.as_dict())
    assert FAKE_VALUE not in render(report)
