#!/usr/bin/env bash
# Body of the download-artifact stub (see action.yml). Inputs arrive as NAME, DEST and
# UNSUPPORTED; the test sets MLRIG_E2E_ARTIFACTS.
set -euo pipefail
# act 0.2.89 now and then misses the last line of a step that exits at once.
fail() { echo "::error title=download-artifact stub::$*"; sleep 0.5; exit 1; }
if [[ -n "${UNSUPPORTED// /}" ]]; then
  fail "input(s) not implemented by the offline stub: $UNSUPPORTED"
fi
[[ -n "${MLRIG_E2E_ARTIFACTS:-}" ]] ||
  fail "MLRIG_E2E_ARTIFACTS must name the directory that holds the artifacts"
[[ -n "$NAME" ]] || fail "the stub needs the input name"
source="$MLRIG_E2E_ARTIFACTS/$NAME"
[[ -d "$source" ]] || fail "Unable to download artifact(s): Artifact not found for name: $NAME"
mkdir -p "$DEST"
cp -R "$source"/. "$DEST"/
echo "download-path=$(cd "$DEST" && pwd)" >> "$GITHUB_OUTPUT"
echo "download-artifact stub: artifact '$NAME' copied to $DEST"
