#!/usr/bin/env bash
# Body of the create-pull-request stub (see action.yml). Inputs arrive as BRANCH, TITLE,
# BODY_PATH, COMMIT_MESSAGE and UNSUPPORTED; the test sets MLRIG_E2E_ARTIFACTS.
set -euo pipefail
# act 0.2.89 now and then misses the last line of a step that exits at once.
fail() { echo "::error title=create-pull-request stub::$*"; sleep 0.5; exit 1; }
if [[ -n "${UNSUPPORTED// /}" ]]; then
  fail "input(s) not implemented by the offline stub: $UNSUPPORTED"
fi
[[ -n "$BRANCH" && -n "$TITLE" && -n "$COMMIT_MESSAGE" ]] || fail "branch, title and commit-message are required"
[[ -f "$BODY_PATH" ]] || fail "body-path $BODY_PATH is not a file"
[[ -n "$(git status --porcelain --untracked-files=all)" ]] || fail "nothing to commit"
git checkout --quiet -B "$BRANCH"
git add --all
git -c user.name=stub -c user.email=stub@example.invalid commit --quiet -m "$COMMIT_MESSAGE"
git push --quiet --force origin "HEAD:refs/heads/$BRANCH"
mkdir -p "$MLRIG_E2E_ARTIFACTS"
"$MLRIG_E2E_PYTHON" - "$MLRIG_E2E_ARTIFACTS/pull-request.json" <<'PY'
import json, os, pathlib, sys
payload = {
    "head": os.environ["BRANCH"],
    "title": os.environ["TITLE"],
    "body": pathlib.Path(os.environ["BODY_PATH"]).read_text(encoding="utf-8"),
    "commit_message": os.environ["COMMIT_MESSAGE"],
}
pathlib.Path(sys.argv[1]).write_text(json.dumps(payload), encoding="utf-8")
PY
echo "create-pull-request stub: pushed $BRANCH to origin; pull request \"$TITLE\" recorded"
