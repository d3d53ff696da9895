#!/usr/bin/env bash
# `npm test`: every test, on a fresh machine or a laptop. Sets up what is missing (node_modules, the
# Docker engine and Postgres images, code-server and Chromium), builds, then runs unit, integration,
# extension-host and end-to-end tests. Every stage runs; the last line is "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
log() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
started=$(date +%s)

if [ ! -x node_modules/.bin/mocha ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing dependencies (npm ci)"
  npm ci --no-audit --no-fund || exit 1
fi

log "test environment: Docker engine and Postgres images"
env_out=$(bash scripts/test-env.sh) || { echo "scripts/test-env.sh failed: the integration tests need Docker (see above)"; exit 1; }
eval "export $(echo "$env_out" | grep '^PGDB_TEST_IMAGE_' | tr '\n' ' ')"
echo "$env_out"

log "type check and build"
npx tsc --noEmit -p . || exit 1
node esbuild.js || exit 1

passed=0; failed=0; stages_failed=()
# Runs one stage, reading "N passing / N failing" (mocha) or "N passed, N failed" from its output.
stage() {
  local name=$1; shift
  log "$name"
  local out rc p f
  out=$(mktemp)
  "$@" 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  p=$( (grep -Eo '^ *[0-9]+ passing' "$out" | grep -Eo '[0-9]+'; grep -Eo '^[0-9]+ passed, [0-9]+ failed' "$out" | grep -Eo '^[0-9]+') | awk '{s+=$1} END {print s+0}')
  f=$( (grep -Eo '^ *[0-9]+ failing' "$out" | grep -Eo '[0-9]+'; grep -Eo '^[0-9]+ passed, [0-9]+ failed' "$out" | sed -E 's/.*, ([0-9]+) failed/\1/') | awk '{s+=$1} END {print s+0}')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  [ "$rc" -eq 0 ] || stages_failed+=("$name")
  rm -f "$out"
}

stage "unit tests" npx mocha 'test/unit/**/*.test.ts'
stage "import graph (dependency-cruiser: one direction, no loops)" bash -c 'npx depcruise src --config .dependency-cruiser.cjs && echo "1 passed, 0 failed"'
stage "code size (files up to 400 lines, functions up to 80)" node --import=tsx scripts/check-size.ts
stage "integration tests (real Docker, PostgreSQL ${PGDB_TEST_IMAGE_OLD##*:} and ${PGDB_TEST_IMAGE_NEW##*:})" \
  npx mocha --timeout 300000 --slow 15000 'test/integration/**/*.test.ts'
if [ "${PGDB_SKIP_VSCODE_TESTS:-}" = 1 ]; then
  log "PGDB_SKIP_VSCODE_TESTS=1: extension-host and end-to-end tests NOT run"
  stages_failed+=("vscode tests skipped by PGDB_SKIP_VSCODE_TESTS")
  failed=$((failed + 1))
else
  stage "extension-host tests (mocha inside code-server's extension host)" node --import=tsx test/host/run.ts
  stage "end-to-end tests (packaged .vsix in code-server, Playwright + Chromium)" node --import=tsx test/e2e/run.ts
  # the Remote Backups view against s3rver, with the .vsix the stage above packaged
  stage "end-to-end tests: Remote Backups view (s3rver)" env E2E_SKIP_PACKAGE=1 node --import=tsx test/e2e/run.ts remote
fi

log "summary ($(( $(date +%s) - started )) s)"
[ ${#stages_failed[@]} -eq 0 ] || echo "failed stages: ${stages_failed[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#stages_failed[@]} -eq 0 ]
