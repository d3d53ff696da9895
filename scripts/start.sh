#!/usr/bin/env bash
# `npm start`: build, package, and open a real VS Code with the extension against local Docker:
# desktop VS Code through its `code` CLI when present, otherwise code-server (installed by
# scripts/code-server.sh into .cache/) on 127.0.0.1, printing the URL.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x node_modules/.bin/esbuild ] || npm ci --no-audit --no-fund
npm run --silent package >/dev/null
vsix=$PWD/pg-docker-backup.vsix
if command -v code >/dev/null 2>&1 && [ -z "${PGDB_USE_CODE_SERVER:-}" ]; then
  code --install-extension "$vsix" --force
  exec code --new-window "$PWD"
fi
entry=$(bash scripts/code-server.sh | tail -n 1)
data=${PGDB_START_DIR:-$PWD/.cache/start}
mkdir -p "$data/extensions" "$data/user-data/User"
[ -f "$data/user-data/User/settings.json" ] || printf '{\n  "workbench.startupEditor": "none",\n  "telemetry.telemetryLevel": "off"\n}\n' > "$data/user-data/User/settings.json"
node "$entry" --extensions-dir "$data/extensions" --user-data-dir "$data/user-data" --install-extension "$vsix" --force >/dev/null
port=${PORT:-8080}
echo "Open http://127.0.0.1:$port/?folder=$PWD  (code-server; Ctrl-C stops it)"
exec node "$entry" --auth none --bind-addr "127.0.0.1:$port" --disable-telemetry --disable-update-check --disable-workspace-trust \
  --extensions-dir "$data/extensions" --user-data-dir "$data/user-data" --config "$data/config.yaml" "$PWD"
