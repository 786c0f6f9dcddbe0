#!/usr/bin/env bash
# Builds the registry-free stand-ins for the public images the generated
# projects use (see README.md):
#   offline/debian-base:bookworm   mmdebstrap rootfs, `docker import`ed
#   offline/python:3.11-bookworm   ~ python:3.11-slim, trusts the host's CAs
#   offline/mariadb:10.11-bookworm ~ mariadb:10.11 / mysql entrypoint contract
# Each image carries a label with a hash of its inputs; an image whose label
# matches is not rebuilt, so a warm run only costs a few `docker` calls.
# Env: FORCE=1 rebuilds everything; DOCKER_BUILDKIT=0 forces the legacy
# builder (the Dockerfiles work with both).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SUITE=bookworm
BASE_IMAGE=offline/debian-base:bookworm
PYTHON_IMAGE=offline/python:3.11-bookworm
MARIADB_IMAGE=offline/mariadb:10.11-bookworm
HASH_LABEL=offline-images.inputs-hash
# Where the images' apt sources come from: the machine's own mirror, so the
# build works wherever the host's apt works.
APT_SOURCES=${OFFLINE_IMAGES_APT_SOURCES:-/etc/apt/sources.list.d/debian.sources}
# The CA bundle the python image trusts: the host's, which holds any CA that
# re-signs HTTPS on this network (corporate proxy / CI mirror).
CA_BUNDLE=${OFFLINE_IMAGES_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
FORCE=${FORCE:-0}

step() { printf '=> %s\n' "$*"; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

start=$SECONDS
work=$(mktemp -d "${TMPDIR:-/var/tmp}/offline-images.XXXXXX")
trap 'rm -rf "$work"' EXIT

command -v docker >/dev/null || die "docker not found (run .ci/install-docker.sh)"
docker info >/dev/null 2>&1 || die "no Docker engine answers (run .ci/install-docker.sh)"
[ -r "$CA_BUNDLE" ] || die "CA bundle $CA_BUNDLE not readable"

image_hash() { docker image inspect -f "{{index .Config.Labels \"$HASH_LABEL\"}}" "$1" 2>/dev/null || true; }
image_id()   { docker image inspect -f '{{.Id}}' "$1"; }
# Hash of a directory's files (names relative, so any checkout path gives the same).
dir_hash()   { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum); }
up_to_date() { [ "$FORCE" != 1 ] && [ "$(image_hash "$1")" = "$2" ]; }

# --- base rootfs ------------------------------------------------------------
# One rootfs for both images: python is needed by one and harmless in the
# other, and a second mmdebstrap run would cost ~25 s.
mm_args=(--variant=minbase --include=ca-certificates,python3,python3-venv,python3-pip
         --aptopt='Acquire::Languages "none"'
         --dpkgopt='path-exclude=/usr/share/man/*'
         --dpkgopt='path-exclude=/usr/share/doc/*'
         --dpkgopt='path-include=/usr/share/doc/*/copyright'
         --dpkgopt='path-exclude=/usr/share/locale/*')
# Snapshot-style mirrors serve Release files past their Valid-Until; follow the
# host's apt here so apt inside the images accepts what the host accepts.
if [ "$(apt-config dump Acquire::Check-Valid-Until 2>/dev/null | awk '{print $2}')" = '"false";' ]; then
    mm_args+=(--aptopt='Acquire::Check-Valid-Until "false"' --aptopt='Acquire::Check-Date "false"')
fi
mirror=()
[ -r "$APT_SOURCES" ] && mirror=("$APT_SOURCES")

base_hash=$( { echo "recipe v1 $SUITE"; printf '%s\n' "${mm_args[@]}";
               [ "${#mirror[@]}" -gt 0 ] && cat "$APT_SOURCES"; true; } | sha256sum | cut -c1-64)
if up_to_date "$BASE_IMAGE" "$base_hash"; then
    step "$BASE_IMAGE up to date"
else
    command -v mmdebstrap >/dev/null || die "mmdebstrap not found (run .ci/install-docker.sh)"
    step "mmdebstrap $SUITE rootfs (~25 s)"
    mmdebstrap --quiet "${mm_args[@]}" "$SUITE" "$work/rootfs.tar" "${mirror[@]}"
    step "docker import $BASE_IMAGE"
    docker import \
        --change "LABEL $HASH_LABEL=$base_hash" \
        --change 'LABEL org.opencontainers.image.description="Debian bookworm minbase + python3, built by offline-images/build.sh"' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["bash"]' \
        "$work/rootfs.tar" "$BASE_IMAGE" >/dev/null
    rm -f "$work/rootfs.tar"
fi
base_id=$(image_id "$BASE_IMAGE")

# --- images on top of it ----------------------------------------------------
# build IMAGE CONTEXT_DIR HASH DESCRIPTION
build() {
    local image=$1 context=$2 hash=$3 description=$4
    if up_to_date "$image" "$hash"; then
        step "$image up to date"
        return
    fi
    step "docker build $image"
    local t0=$SECONDS
    local log="$work/build-${image//[\/:]/_}.log"
    if ! docker build \
            --build-arg "BASE=$BASE_IMAGE" \
            --label "$HASH_LABEL=$hash" \
            --label "org.opencontainers.image.description=$description" \
            -t "$image" "$context" >"$log" 2>&1; then
        tail -n 60 "$log" >&2
        die "docker build $image failed"
    fi
    step "built $image in $((SECONDS - t0)) s"
}

# The python image's context needs the CA bundle: assemble it in a temp dir so
# the repository never holds a copy of the host's certificates.
mkdir -p "$work/python"
cp -a "$HERE/python/." "$work/python/"
cp "$CA_BUNDLE" "$work/python/host-ca-certificates.crt"
python_hash=$( { echo "$base_id"; dir_hash "$work/python"; } | sha256sum | cut -c1-64)
build "$PYTHON_IMAGE" "$work/python" "$python_hash" \
    "Stand-in for python:3.11-slim (Debian bookworm python3, host CA bundle), built by offline-images/build.sh"

mariadb_hash=$( { echo "$base_id"; dir_hash "$HERE/mariadb"; } | sha256sum | cut -c1-64)
build "$MARIADB_IMAGE" "$HERE/mariadb" "$mariadb_hash" \
    "Stand-in for mariadb:10.11 (Debian bookworm mariadb-server, official entrypoint contract), built by offline-images/build.sh"

# Rebuilt tags leave their previous images dangling; drop only ours.
docker image prune -f --filter "label=$HASH_LABEL" >/dev/null 2>&1 || true

step "offline images ready in $((SECONDS - start)) s"
docker image ls --format '{{.Repository}}:{{.Tag}}  {{.ID}}  {{.Size}}' --filter reference='offline/*' | sed 's/^/   /'
