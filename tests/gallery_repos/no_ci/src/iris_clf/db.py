"""Read labelled samples from the team database."""

import os

password = os.environ["DB_PASSWORD"]
token = os.environ.get("API_TOKEN", "")
api_key: str | None = None
SECRET_KEY = "${SECRET_KEY}"
DEFAULT_PASSWORD = "changeme"


def url(password: str = "") -> str:
    return f"postgresql://ml:{password}@db.internal/samples"
