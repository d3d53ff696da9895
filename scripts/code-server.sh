#!/usr/bin/env bash
# Installs code-server (a real VS Code: workbench + Node extension host, here VS Code 1.100 on
# Node 20) from the npm registry into a cache folder of the project, for the end-to-end tests.
# Also installs Debian's Chromium (driven by playwright-core) and the build dependencies of
# code-server's native modules. A fast no-op when already installed (marker file).
#
#   bash scripts/code-server.sh          # prints the path of code-server's entry.js as its last line
#
# Environment:
#   CODE_SERVER_DIR      cache folder (default: <project>/.cache/code-server)
#   CODE_SERVER_VERSION  npm version of code-server (default: 4.100.3)
#   CODE_SERVER_FORCE=1  reinstall even when the marker file is there
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
VERSION=${CODE_SERVER_VERSION:-4.100.3}
DIR=${CODE_SERVER_DIR:-$here/.cache/code-server}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
CS="$DIR/node_modules/code-server"
ENTRY="$CS/out/node/entry.js"
MARKER="$DIR/.installed-$VERSION"
LOG="$DIR/install.log"

log() { printf '[code-server] %s\n' "$*" >&2; }
is_root() { [ "$(id -u)" = 0 ]; }
have() { command -v "$1" >/dev/null 2>&1; }
die() { log "$*"; exit 1; }

# ---- 0. Debian packages (only the missing ones) ---------------------------------------------
pkg_installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
missing=()
for p in libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config ripgrep; do
  if have dpkg-query; then pkg_installed "$p" || missing+=("$p"); fi
done
have rg || { [[ " ${missing[*]-} " == *" ripgrep "* ]] || missing+=(ripgrep); }
[ -x /usr/bin/chromium ] || missing+=(chromium)
# build tools for the native modules (node-gyp)
for t in make g++ python3; do have "$t" || missing+=("$( [ "$t" = python3 ] && echo python3 || echo build-essential)"); done
if [ ${#missing[@]} -gt 0 ]; then
  if is_root && have apt-get; then
    log "apt-get install ${missing[*]}"
    # an update only when the package lists are empty (a fresh box); apt-get install says so otherwise
    if ! ls /var/lib/apt/lists/*Packages* >/dev/null 2>&1; then DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || die "apt-get install ${missing[*]} failed"
  else
    die "missing: ${missing[*]}. Install them (Debian/Ubuntu: sudo apt-get install -y ${missing[*]}) and run again."
  fi
fi

# ---- fast path ------------------------------------------------------------------------------
if [ -f "$MARKER" ] && [ -f "$ENTRY" ] && [ -z "${CODE_SERVER_FORCE:-}" ]; then
  echo "$ENTRY"
  exit 0
fi

# ---- 1. code-server from npm ----------------------------------------------------------------
have node && have npm || die "node and npm are needed"
t0=$(date +%s)
: >"$LOG"
run() { # run a step, its output to the log; on failure show the log's tail
  log "$*"
  if ! "$@" >>"$LOG" 2>&1; then tail -40 "$LOG" >&2; die "failed: $* (full log: $LOG)"; fi
}
rm -f "$DIR"/.installed-*
# its own package.json, so that npm installs here and not into the project above
[ -f "$DIR/package.json" ] || printf '{ "name": "code-server-cache", "private": true }\n' >"$DIR/package.json"
export npm_config_yes=true npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
# node-gyp must not download Node's headers (no network but the registry): use the local ones
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi

cd "$DIR"
run npm install --no-save --ignore-scripts "code-server@$VERSION"
[ -f "$ENTRY" ] || die "code-server@$VERSION installed no $ENTRY"

# ---- 2. VS Code's own dependencies, native modules built from source ------------------------
cd "$CS/lib/vscode"
run npm install --omit=dev --ignore-scripts
mkdir -p node_modules/@vscode/ripgrep/bin
ln -sf "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
run npm rebuild --foreground-scripts   # native modules; @vscode/ripgrep sees bin/ and skips its download
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sf code-linux.sh code-server)
(cd bin/helpers && ln -sf browser-linux.sh browser.sh)
(cd extensions && run npm install --omit=dev)
cd "$DIR"
run npm rebuild --foreground-scripts argon2

# ---- 3. check that the native modules load (a rebuild that ran no scripts leaves none) --------
check_native() { # $1 folder  $2.. module names (each must require() without error)
  local dir=$1; shift
  (cd "$dir" && node -e '
    const bad = [];
    for (const m of process.argv.slice(1)) { try { require(m); } catch (e) { bad.push(m + ": " + e.message.split("\n")[0]); } }
    if (bad.length) { console.error(bad.join("\n")); process.exit(1); }' "$@") \
    || die "native modules did not build (see $LOG); is a C++ toolchain (build-essential, python3) installed?"
}
check_native "$CS/lib/vscode" node-pty @vscode/spdlog @parcel/watcher native-watchdog kerberos
check_native "$CS" argon2

echo "$VERSION installed $(date -u +%FT%TZ) in $(( $(date +%s) - t0 ))s" >"$MARKER"
log "installed code-server $VERSION in $(( $(date +%s) - t0 ))s"
echo "$ENTRY"
