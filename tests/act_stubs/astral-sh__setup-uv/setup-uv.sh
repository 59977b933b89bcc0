#!/usr/bin/env bash
# Body of the setup-uv stub (see action.yml). Inputs arrive as WANT_UV, WANT_PYTHON,
# ACTIVATE, VENV_PATH, NO_PROJECT, WORKDIR and UNSUPPORTED (names of set inputs the stub
# cannot honour); the test sets MLRIG_E2E_*.
set -euo pipefail
# act 0.2.89 reads a step's output while the step runs and now and then missed
# the last line of one that exited at once (flaky CI): give it a moment.
fail() { echo "::error title=setup-uv stub::$*"; sleep 0.5; exit 1; }
if [[ -n "${UNSUPPORTED// /}" ]]; then
  fail "input(s) not implemented by the offline stub: $UNSUPPORTED"
fi
[[ -x "${MLRIG_E2E_UV:-}" ]] || fail "MLRIG_E2E_UV must name the uv executable to use"
[[ -x "${MLRIG_E2E_PYTHON:-}" ]] || fail "MLRIG_E2E_PYTHON must name the Python to use"
uv_version=$("$MLRIG_E2E_UV" --version | cut -d' ' -f2)
if [[ -n "$WANT_UV" && "$WANT_UV" != "$uv_version" ]]; then
  fail "the workflow asks for uv $WANT_UV; this host offers uv $uv_version"
fi
host_python=$("$MLRIG_E2E_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [[ -n "$WANT_PYTHON" && "$WANT_PYTHON" != "$host_python" ]]; then
  fail "the workflow asks for Python $WANT_PYTHON; this host offers $host_python ($MLRIG_E2E_PYTHON)"
fi
# A directory of its own, so that only uv (not the rest of the test's
# environment) lands on the job's PATH.
bin="$RUNNER_TEMP/setup-uv-stub"
mkdir -p "$bin"
ln -sf "$MLRIG_E2E_UV" "$bin/uv"
echo "$bin" >> "$GITHUB_PATH"
{
  echo "UV_PYTHON=$MLRIG_E2E_PYTHON"
  echo "UV_PYTHON_DOWNLOADS=never"
} >> "$GITHUB_ENV"
{
  echo "uv-version=$uv_version"
  echo "uv-path=$bin/uv"
  echo "python-version=$host_python"
} >> "$GITHUB_OUTPUT"
# activate-environment, as the real action does it: `uv venv` in the working directory
# (with the Python the action exported as UV_PYTHON), then the venv's bin first on PATH
# and VIRTUAL_ENV for the steps that follow.
case "${ACTIVATE:-}" in
  "" | false | False | FALSE) ;;
  true | True | TRUE)
    if [[ -n "${UV_NO_MODIFY_PATH+set}" ]]; then
      fail "UV_NO_MODIFY_PATH and activate-environment cannot be used together."
    fi
    venv_args=(venv "${VENV_PATH:-.venv}" --directory "$WORKDIR")
    if [[ "${NO_PROJECT:-}" == true ]]; then venv_args+=(--no-project); fi
    UV_PYTHON="$MLRIG_E2E_PYTHON" UV_PYTHON_DOWNLOADS=never "$MLRIG_E2E_UV" "${venv_args[@]}"
    venv=$(cd "$WORKDIR" && realpath -m "${VENV_PATH:-.venv}")
    echo "$venv/bin" >> "$GITHUB_PATH"
    echo "VIRTUAL_ENV=$venv" >> "$GITHUB_ENV"
    echo "venv=$venv" >> "$GITHUB_OUTPUT"
    ;;
  *) fail "activate-environment must be true or false, not '$ACTIVATE'" ;;
esac
echo "setup-uv stub: uv $uv_version, Python $host_python at $MLRIG_E2E_PYTHON;" \
  "no cache service, uv cache at ${UV_CACHE_DIR:-its default directory}"
