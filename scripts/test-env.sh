#!/usr/bin/env bash
# Brings up what the tests need, on a bare Debian machine or a developer's laptop:
#   1. a Docker engine that answers (installs docker.io and starts dockerd when root on Debian), and
#      systemd-analyze (Debian's systemd package, not started) for the schedule tests;
#   2. two Postgres images of different majors, named by PGDB_TEST_IMAGE_OLD / PGDB_TEST_IMAGE_NEW
#      (defaults pg-docker-backup-test/postgres:15 and :17), pulled from a registry when one answers,
#      otherwise built from Debian's PostgreSQL packages with debootstrap and cached by tag; they carry the
#      zstd and lz4 tools (restores decompress in the container where its tools allow);
#   3. the Cloud Storage emulator for the gs:// tests (scripts/gcs-emulator.sh; S3's s3rver is an npm devDependency);
#   4. the reference `age` CLI (age, age-keygen) and the zstd/lz4 CLIs on this machine, for the interop tests.
# Everything is a no-op when it is already there. Prints the image names at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
OLD=${PGDB_TEST_IMAGE_OLD:-pg-docker-backup-test/postgres:15}
NEW=${PGDB_TEST_IMAGE_NEW:-pg-docker-backup-test/postgres:17}
log() { printf '[test-env] %s\n' "$*" >&2; }
is_root() { [ "$(id -u)" = 0 ]; }
have() { command -v "$1" >/dev/null 2>&1; }
apt_updated=
apt_install() {
  is_root && have apt-get || { log "cannot install $* (needs root and apt-get); install it and run again"; exit 1; }
  [ -n "$apt_updated" ] || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ---- 1. Docker engine -------------------------------------------------------------------------
docker_ok() { docker info >/dev/null 2>&1; }
if ! docker_ok; then
  if [ -n "${DOCKER_HOST:-}" ]; then log "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST"; exit 1; fi
  if ! have dockerd; then log "installing docker.io"; apt_install docker.io iptables ca-certificates; fi
  if ! have docker; then apt_install docker.io; fi
  if is_root; then
    log "starting dockerd"
    nohup dockerd >/var/log/dockerd.log 2>&1 &
    for _ in $(seq 1 60); do docker_ok && break; sleep 1; done
  fi
  docker_ok || { log "the Docker engine does not answer; start it (Docker Desktop, or: sudo dockerd) and run again. Log: /var/log/dockerd.log"; exit 1; }
fi
log "docker engine $(docker version --format '{{.Server.Version}}') answers"

# ---- systemd-analyze: the schedule tests check the generated timer and service with it ----------
if ! have systemd-analyze; then log "installing systemd (for systemd-analyze)"; apt_install systemd; fi

# ---- 2. Postgres images -------------------------------------------------------------------------
build_debian_base() { # $1 base tag  $2 postgres major  $3 debian suite
  local tag=$1 major=$2 suite=$3 rootfs mirror
  have debootstrap || apt_install debootstrap
  mirror=$(grep -h -m1 '^URIs:' /etc/apt/sources.list.d/debian.sources 2>/dev/null | awk '{print $2}')
  [ -n "$mirror" ] || mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
  rootfs=$(mktemp -d /tmp/pgroot.XXXXXX)
  log "building $tag: debootstrap $suite with postgresql-$major (about 2 minutes)"
  debootstrap --variant=minbase --include="postgresql-$major,$BASE_PACKAGES" "$suite" "$rootfs" "$mirror" >/tmp/debootstrap-$major.log 2>&1 \
    || { log "debootstrap failed, see /tmp/debootstrap-$major.log"; tail -5 /tmp/debootstrap-$major.log >&2; exit 1; }
  # the package's own cluster is not used: the entrypoint makes one in $PGDATA like the official image
  rm -rf "$rootfs/var/lib/postgresql/$major" "$rootfs/etc/postgresql/$major" "$rootfs/var/cache/apt/archives/"*.deb
  mkdir -p "$rootfs/docker-entrypoint-initdb.d"
  tar -C "$rootfs" -c . | docker import \
    -c "ENV PATH=/usr/lib/postgresql/$major/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    -c 'ENV PGDATA=/var/lib/postgresql/data' -c 'ENV LANG=C.UTF-8' -c 'EXPOSE 5432' \
    - "$tag" >/dev/null
  rm -rf "$rootfs"
  log "built $tag"
}
# What the base images carry besides Postgres. Changing this list means a new BASE_REV: the base tags
# (postgres-base:<major>-<rev>) and the final images' label change, so cached images rebuild. The new
# image is complete before `docker build -t` moves the final tag to it; old images are left alone (tests
# running meanwhile keep theirs).
BASE_PACKAGES=gzip,procps,zstd,lz4
BASE_REV=2
# The entrypoint goes in a thin layer of its own, so changing it rebuilds in a second, not minutes.
entrypoint="$here/test/fixtures/pg-image/docker-entrypoint.sh"
entry_sha=$(sha256sum "$entrypoint" | cut -c1-16)-base$BASE_REV
finish_image() { # $1 final tag  $2 base tag
  local ctx
  ctx=$(mktemp -d)
  cp "$entrypoint" "$ctx/docker-entrypoint.sh"
  printf 'FROM %s\nCOPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh\nRUN chmod 0755 /usr/local/bin/docker-entrypoint.sh\nLABEL pg-docker-backup-test.entrypoint=%s\nSTOPSIGNAL SIGINT\nENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]\nCMD ["postgres"]\n' "$2" "$entry_sha" > "$ctx/Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q -t "$1" "$ctx" 2>&1 >/dev/null | grep -v -e DEPRECATED -e "legacy builder" -e BuildKit -e "^ *$" >&2 || true
  rm -rf "$ctx"
  [ "$(docker image inspect -f '{{ index .Config.Labels "pg-docker-backup-test.entrypoint" }}' "$1" 2>/dev/null)" = "$entry_sha" ] \
    || { log "building $1 on $2 failed"; exit 1; }
  log "image $1 ready"
}
ensure_image() { # $1 tag  $2 major  $3 debian suite
  local tag=$1 major=$2 suite=$3 base have_sha
  if [[ "$tag" != pg-docker-backup-test/* ]]; then
    docker image inspect "$tag" >/dev/null 2>&1 && { log "image $tag is there"; return; }
    docker pull -q "$tag" >/dev/null 2>&1 && { log "pulled $tag"; return; }
    log "cannot pull $tag"; exit 1
  fi
  have_sha=$(docker image inspect -f '{{ index .Config.Labels "pg-docker-backup-test.entrypoint" }}' "$tag" 2>/dev/null || true)
  if [ "$have_sha" = "$entry_sha" ] || [ "$have_sha" = official ]; then log "image $tag is there"; return; fi
  base="pg-docker-backup-test/postgres-base:$major-$BASE_REV"
  if ! docker image inspect "$base" >/dev/null 2>&1; then
    if docker pull -q "postgres:$major" >/dev/null 2>&1; then
      printf 'FROM postgres:%s\nLABEL pg-docker-backup-test.entrypoint=official\n' "$major" | DOCKER_BUILDKIT=0 docker build -q -t "$tag" - >/dev/null
      log "pulled postgres:$major as $tag"; return
    fi
    build_debian_base "$base" "$major" "$suite"
  fi
  finish_image "$tag" "$base"
}
# debootstrap is installed once, before the two builds run in parallel (they are network- and disk-bound).
if ! docker image inspect "pg-docker-backup-test/postgres-base:15-$BASE_REV" >/dev/null 2>&1 || ! docker image inspect "pg-docker-backup-test/postgres-base:17-$BASE_REV" >/dev/null 2>&1; then
  if ! have debootstrap && is_root && have apt-get; then apt_install debootstrap; fi
fi
ensure_image "$OLD" 15 bookworm & p1=$!
ensure_image "$NEW" 17 trixie & p2=$!
wait $p1; wait $p2

# ---- 3. Remote storage servers ------------------------------------------------------------------
# S3: s3rver is a devDependency (scripts/s3-test-server.cjs); GCS: firebase-tools' storage emulator.
bash "$here/scripts/gcs-emulator.sh" || log "installing the GCS emulator (firebase-tools) failed; the gs:// tests will fail and say so"

# ---- 4. age, zstd and lz4 on this machine (interop tests) ----------------------------------------
missing=()
for tool in age:age age-keygen:age zstd:zstd lz4:lz4; do have "${tool%%:*}" || missing+=("${tool#*:}"); done
if [ ${#missing[@]} -gt 0 ]; then
  if is_root && have apt-get; then
    pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
    log "installing $pkgs"; apt_install $pkgs 2>/dev/null
  else
    log "the interop tests need: ${missing[*]} (Debian/Ubuntu: sudo apt-get install age zstd lz4; macOS: brew install age zstd lz4; others: https://github.com/FiloSottile/age/releases)"
  fi
fi
echo "PGDB_TEST_IMAGE_OLD=$OLD"
echo "PGDB_TEST_IMAGE_NEW=$NEW"
