#!/usr/bin/env bash
# Body of the setup-python stub (see action.yml). Inputs arrive as WANT_PYTHON and
# UNSUPPORTED (names of set inputs the stub cannot honour); the test sets MLRIG_E2E_PYTHON.
set -euo pipefail
# act 0.2.89 reads a step's output while the step runs and now and then missed
# the last line of one that exited at once (flaky CI): give it a moment.
fail() { echo "::error title=setup-python stub::$*"; sleep 0.5; exit 1; }
if [[ -n "${UNSUPPORTED// /}" ]]; then
  fail "input(s) not implemented by the offline stub: $UNSUPPORTED"
fi
[[ -x "${MLRIG_E2E_PYTHON:-}" ]] || fail "MLRIG_E2E_PYTHON must name the Python to use"
host_python=$("$MLRIG_E2E_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if [[ "$WANT_PYTHON" != "$host_python" ]]; then
  fail "the workflow asks for Python ${WANT_PYTHON:-<none>}; this host offers $host_python ($MLRIG_E2E_PYTHON)"
fi
venv="$RUNNER_TEMP/setup-python-stub"
"$MLRIG_E2E_PYTHON" -m venv "$venv"
echo "$venv/bin" >> "$GITHUB_PATH"
echo "pythonLocation=$venv" >> "$GITHUB_ENV"
{
  echo "python-version=$host_python"
  echo "python-path=$venv/bin/python"
} >> "$GITHUB_OUTPUT"
echo "setup-python stub: Python $host_python in a fresh venv at $venv;" \
  "no cache service, pip cache at ${PIP_CACHE_DIR:-its default directory}"
