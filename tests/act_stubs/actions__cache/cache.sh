#!/usr/bin/env bash
# Body of the cache stub (see action.yml): every lookup is a miss.
set -euo pipefail
echo "cache stub: no cache service offline; key $KEY is a miss"
if [[ "$FAIL_ON_MISS" == "true" ]]; then
  echo "::error title=cache stub::cache miss for $KEY and fail-on-cache-miss is true"
  exit 1
fi
