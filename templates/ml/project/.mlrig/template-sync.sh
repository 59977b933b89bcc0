#!/usr/bin/env bash
# Template sync, shared by the GitHub workflow (.github/workflows/template-sync.yml) and
# the GitLab job (template-sync in .gitlab-ci.yml); written by mlrig.
#
#   bash .mlrig/template-sync.sh OUT_DIR
#
# 1. Installs the mlrig pinned in .mlrig/sync-requirements.txt into a fresh virtual
#    environment, verified by hash (pip --require-hashes). No hash, no install: this job
#    holds write access, so it never runs an unverified package.
# 2. Runs `mlrig update --conflict inline --summary OUT_DIR/request.md` and reads its
#    exit code: 0 = updated or already current, 1 = conflicts left as inline markers,
#    2 = invalid input, 3 = environment problem, 130 = interrupted. A Python crash
#    also exits 1, so 1 counts as "conflicts" only when the summary's title says so.
# 3. Exits 0 when there is nothing to do (mlrig wrote no summary); exits 0 with
#    OUT_DIR/title and OUT_DIR/body.md (the summary's line 1, and its lines 3 on) when
#    a pull or merge request should open; any other exit code (with the reason as the
#    last ERROR line) is a failed job.
set -euo pipefail

out=${1:?usage: template-sync.sh OUT_DIR}
requirements=.mlrig/sync-requirements.txt

error() {
  if [ "${GITHUB_ACTIONS:-}" = true ]; then
    echo "::error title=Template sync::$*"
  else
    echo "ERROR: $*" >&2
  fi
  exit 1
}

# --- 1. The pinned, verified mlrig ------------------------------------------------
if [ ! -f "$requirements" ]; then
  error "no verified pin: $requirements is missing; run \`mlrig update\` by hand to restore it"
fi
if ! grep -q -- '--hash=sha256:' "$requirements"; then
  error "no verified pin: $requirements names mlrig without a --hash, and this job installs nothing unverified; add the hashes with the command at the top of that file, commit, and run again"
fi
venv=$(mktemp -d)/mlrig
python3 -m venv "$venv"
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  --require-hashes --only-binary :all: -r "$requirements"; then
  error "cannot install the mlrig pinned in $requirements (a hash mismatch, a release missing from the index, or no network); pip's output above says which"
fi
"$venv/bin/mlrig" --version
# mlrig writes this job's request text since 0.5.0 (--summary); an older pin cannot.
if ! "$venv/bin/mlrig" update --help | grep -q -- '--summary'; then
  error "the mlrig pinned in $requirements is older than this script, which needs mlrig 0.5.0 or newer (mlrig update --summary): bump the pin with the command at the top of that file, commit, and run again"
fi

# --- 2. mlrig update: the request's text is mlrig's ----------------------------------
mkdir -p "$out"
summary="$out/request.md"
status=0
"$venv/bin/mlrig" update --conflict inline --summary "$summary" || status=$?
case "$status" in
  0 | 1) ;;
  2) error "mlrig update: invalid input (exit code 2), such as a damaged .copier-answers.yml; see its message above" ;;
  3) error "mlrig update: environment problem (exit code 3), such as a dirty tree or a template that is gone; see its message above" ;;
  130) error "mlrig update was interrupted (exit code 130)" ;;
  *) error "mlrig update failed with exit code $status; see its output above" ;;
esac
title=""
if [ -f "$summary" ]; then IFS= read -r title < "$summary"; fi
if [ "$status" = 1 ] && [[ "$title" != *"(conflicts to resolve in"* ]]; then
  error "mlrig update exited 1 without leaving conflicts: it crashed, or the merged pipeline files do not validate; see its output above, and run \`mlrig update\` by hand to fix it"
fi
if [ ! -f "$summary" ]; then
  echo "Already up to date with the template: no request to open."
  exit 0
fi

# --- 3. The request ---------------------------------------------------------------
printf '%s\n' "$title" > "$out/title"
tail -n +3 "$summary" > "$out/body.md"
