# TODO move to env vars before open-sourcing
AWS_ACCESS_KEY_ID = "@FAKE_AWS_KEY_ID@"
AWS_SECRET_ACCESS_KEY = "@FAKE_AWS_SECRET@"
BUCKET = "acme-ml-training"
