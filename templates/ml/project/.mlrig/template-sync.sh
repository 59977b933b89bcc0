#!/usr/bin/env bash
# Template sync, shared by the GitHub workflow (.github/workflows/template-sync.yml) and
# the GitLab job (template-sync in .gitlab-ci.yml); written by mlrig.
#
#   bash .mlrig/template-sync.sh OUT_DIR
#
# 1. Installs the mlrig pinned in .mlrig/sync-requirements.txt into a fresh virtual
#    environment, verified by hash (pip --require-hashes). No hash, no install: this job
#    holds write access, so it never runs an unverified package.
# 2. Runs `mlrig update --conflict inline` and reads its exit code: 0 = updated or
#    already current, 1 = conflicts left as inline markers, 2 = invalid input,
#    3 = environment problem, 130 = interrupted. A Python crash also exits 1, so 1
#    counts as "conflicts" only when the update left conflict markers.
# 3. Exits 0 when there is nothing to do; exits 0 with OUT_DIR/title and OUT_DIR/body.md
#    written when a pull or merge request should open; any other exit code (with the
#    reason as the last ERROR line) is a failed job.
set -euo pipefail

out=${1:?usage: template-sync.sh OUT_DIR}
requirements=.mlrig/sync-requirements.txt
marker='^(<<<<<<<|>>>>>>>) (before|after) updating'

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

# --- 2. mlrig update ----------------------------------------------------------------
status=0
"$venv/bin/mlrig" update --conflict inline || status=$?
case "$status" in
  0 | 1) ;;
  2) error "mlrig update: invalid input (exit code 2), such as a damaged .copier-answers.yml; see its message above" ;;
  3) error "mlrig update: environment problem (exit code 3), such as a dirty tree or a template that is gone; see its message above" ;;
  130) error "mlrig update was interrupted (exit code 130)" ;;
  *) error "mlrig update failed with exit code $status; see its output above" ;;
esac

changed=$(git status --porcelain --untracked-files=all)
conflicts=""
if [ -n "$changed" ]; then
  # Only files the update wrote can hold its markers.
  conflicts=$({ git diff HEAD --name-only -z; git ls-files --others --exclude-standard -z; } |
    xargs -0 -r grep -lE "$marker" -- 2> /dev/null || true)
fi
if [ "$status" = 1 ] && [ -z "$conflicts" ]; then
  error "mlrig update exited 1 without leaving conflict markers: it crashed, or the merged pipeline files do not validate; see its output above, and run \`mlrig update\` by hand to fix it"
fi
if [ -z "$changed" ]; then
  echo "Already up to date with the template: no request to open."
  exit 0
fi

# --- 3. The request ---------------------------------------------------------------
mkdir -p "$out"
title="Update from the mlrig template"
{
  echo "\`mlrig update\` brought this repository up to date with the newest version of its mlrig template."
  echo "Review the changes and let the pipeline run before merging."
} > "$out/body.md"
if [ -n "$conflicts" ]; then
  count=$(printf '%s\n' "$conflicts" | wc -l)
  noun="files"
  if [ "$count" -eq 1 ]; then noun="file"; fi
  title="$title (conflicts to resolve in $count $noun)"
  {
    echo
    echo "## Conflicts to resolve ($count $noun)"
    echo
    echo "The template changed lines that were also changed in this repository:"
    echo
    # shellcheck disable=SC2016 # the backticks are Markdown, for sed to print
    printf '%s\n' "$conflicts" | sed -n '1,50s/.*/- `&`/p'
    if [ "$count" -gt 50 ]; then echo "- and $((count - 50)) more"; fi
    echo
    echo "In each file keep your version (between \`<<<<<<< before updating\` and \`=======\`),"
    echo "the template's (between \`=======\` and \`>>>>>>> after updating\`), or a mix of both;"
    echo "then delete the three marker lines, run the tests and push. Do not merge while"
    echo "\`git grep -nE '^(<<<<<<<|=======|>>>>>>>)( |\$)'\` lists markers. The next run rebuilds"
    echo "this branch from the default branch, so merge (or close) this request before then."
  } >> "$out/body.md"
  echo "WARNING: conflict markers left in $count $noun:"
  printf '%s\n' "$conflicts"
fi
printf '%s\n' "$title" > "$out/title"
