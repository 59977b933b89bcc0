#!/usr/bin/env bash
# Body of the cache stub (see action.yml): every lookup is a miss.
set -euo pipefail
echo "cache stub: no cache service offline; key $KEY is a miss"
if [[ "$FAIL_ON_MISS" == "true" ]]; then
  echo "::error title=cache stub::cache miss for $KEY and fail-on-cache-miss is true"
  # act 0.2.89 reads a step's output while the step runs and now and then missed
  # the last line of one that exited at once (flaky CI): give it a moment.
  sleep 0.5
  exit 1
fi
