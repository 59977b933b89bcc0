#!/usr/bin/env bash
# Body of the download-artifact stub (see action.yml). Inputs arrive as NAME, DEST,
# RUN_ID, TOKEN and UNSUPPORTED; the test sets MLRIG_E2E_ARTIFACTS (and MLRIG_E2E_RUNS).
set -euo pipefail
# act 0.2.89 reads a step's output while the step runs and now and then missed
# the last line of one that exited at once (flaky CI): give it a moment.
fail() { echo "::error title=download-artifact stub::$*"; sleep 0.5; exit 1; }
[[ -z "${UNSUPPORTED// /}" ]] || fail "input(s) not implemented by the offline stub: $UNSUPPORTED"
[[ -n "$NAME" ]] || fail "the offline stub needs a name: downloading every artifact is not implemented"
if [[ -n "$RUN_ID" ]]; then
  [[ -n "$TOKEN" ]] || fail "run-id needs github-token (an artifact of another run)"
  [[ -n "${MLRIG_E2E_RUNS:-}" ]] || fail "MLRIG_E2E_RUNS must name the directory of earlier runs"
  source="$MLRIG_E2E_RUNS/$RUN_ID/$NAME"
else
  [[ -n "${MLRIG_E2E_ARTIFACTS:-}" ]] || fail "MLRIG_E2E_ARTIFACTS must name this run's artifacts"
  source="$MLRIG_E2E_ARTIFACTS/$NAME"
fi
[[ -d "$source" ]] || fail "Unable to download artifact(s): Artifact not found for name: $NAME"
mkdir -p "$DEST"
cp -R "$source"/. "$DEST"/
echo "download-path=$(cd "$DEST" && pwd)" >> "$GITHUB_OUTPUT"
echo "download-artifact stub: artifact '$NAME'${RUN_ID:+ of run $RUN_ID} copied to $DEST"
