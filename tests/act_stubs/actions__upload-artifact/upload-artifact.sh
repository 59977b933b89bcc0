#!/usr/bin/env bash
# Body of the upload-artifact stub (see action.yml). Inputs arrive as NAME, PATHS,
# IF_NO_FILES_FOUND, OVERWRITE and INCLUDE_HIDDEN; the test sets MLRIG_E2E_ARTIFACTS.
set -euo pipefail
shopt -s nullglob globstar dotglob
# act 0.2.89 reads a step's output while the step runs and now and then missed
# the last line of one that exited at once (flaky CI): give it a moment.
fail() { echo "::error title=upload-artifact stub::$*"; sleep 0.5; exit 1; }
[[ -n "${MLRIG_E2E_ARTIFACTS:-}" ]] ||
  fail "MLRIG_E2E_ARTIFACTS must name the directory that receives the artifacts"
case "$NAME" in
  "" | . | .. | */* | *\\*) fail "invalid artifact name: '$NAME'" ;;
esac
dest="$MLRIG_E2E_ARTIFACTS/$NAME"
if [[ -e "$dest" && "$OVERWRITE" != "true" ]]; then
  fail "an artifact named '$NAME' was already uploaded in this run"
fi
rm -rf "$dest"
mkdir -p "$dest"
while IFS= read -r pattern; do
  [[ -n "${pattern//[[:space:]]/}" ]] || continue
  [[ "$pattern" != '!'* ]] || fail "exclude patterns are not implemented: $pattern"
  IFS=$'\n'
  for match in $pattern; do
    if [[ -d "$match" ]]; then
      cp -R "$match"/. "$dest"/
    elif [[ -f "$match" ]]; then
      cp "$match" "$dest"/
    fi
  done
  unset IFS
done <<< "$PATHS"
if [[ "$INCLUDE_HIDDEN" != "true" ]]; then
  find "$dest" -mindepth 1 -name '.*' -prune -exec rm -rf {} +
fi
count=$(find "$dest" -type f | wc -l)
if (( count == 0 )); then
  rmdir "$dest"
  message="No files were found with the provided path: $PATHS. No artifacts will be uploaded."
  case "$IF_NO_FILES_FOUND" in
    error) fail "$message" ;;
    ignore) echo "$message" ;;
    *) echo "::warning title=upload-artifact stub::$message" ;;
  esac
  exit 0
fi
echo "artifact-url=file://$dest" >> "$GITHUB_OUTPUT"
echo "upload-artifact stub: artifact '$NAME', $count file(s) copied to $dest"
