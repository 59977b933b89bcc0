#!/usr/bin/env bash
set -euo pipefail
echo "deploying: $1"
curl -fsS -X POST -H "Authorization: Bearer ${DEPLOY_TOKEN}" https://deploy.example.invalid/churn
