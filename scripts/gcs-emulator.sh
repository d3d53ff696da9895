#!/usr/bin/env bash
# Installs the Cloud Storage emulator of firebase-tools (pinned) into .cache/firebase-tools for the gs://
# tests. Only its storage routes are used, in-process, by scripts/gcs-test-server.cjs: no Java rules
# runtime, no download beyond the npm registry. A no-op when it is already there.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
VERSION=15.34.2
DIR=${GCS_EMULATOR_DIR:-$here/.cache/firebase-tools}
if [ -f "$DIR/node_modules/firebase-tools/package.json" ] &&
  [ "$(node -p "require('$DIR/node_modules/firebase-tools/package.json').version")" = "$VERSION" ]; then
  exit 0
fi
echo "[gcs-emulator] installing firebase-tools@$VERSION into $DIR" >&2
mkdir -p "$DIR"
[ -f "$DIR/package.json" ] || printf '{ "name": "gcs-emulator-cache", "private": true }\n' >"$DIR/package.json"
(cd "$DIR" && npm install --no-audit --no-fund --ignore-scripts --loglevel=error "firebase-tools@$VERSION" >&2)
