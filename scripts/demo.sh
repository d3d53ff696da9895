#!/usr/bin/env bash
# `npm run demo`: a demo stack (Postgres with the Chinook sample + an app container, one compose project).
# Image: PGDB_DEMO_IMAGE, else postgres:16 when it is here or can be pulled, else the locally built test image.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x node_modules/.bin/esbuild ] || npm ci --no-audit --no-fund
[ -f dist/cli.js ] || node esbuild.js
image=${PGDB_DEMO_IMAGE:-}
if [ -z "$image" ]; then
  if docker image inspect postgres:16 >/dev/null 2>&1 || docker pull -q postgres:16 >/dev/null 2>&1; then
    image=postgres:16
  else
    image=$(bash scripts/test-env.sh | sed -n 's/^PGDB_TEST_IMAGE_NEW=//p')
  fi
fi
node dist/cli.js demo --image "$image"
