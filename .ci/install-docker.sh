#!/usr/bin/env bash
# Provide a working Docker engine, Compose v1 + v2, buildx and mmdebstrap on a
# Debian 12 machine with no container registry.
# Idempotent: every step is skipped when its result is already there, so a warm
# run costs a few `docker ... version` calls.
set -euo pipefail

step() { printf '=> %s\n' "$*"; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (installs packages and starts dockerd)"

PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
DOCKERD_LOG=/var/log/dockerd.log
export DEBIAN_FRONTEND=noninteractive

# --- Debian packages -------------------------------------------------------
# dpkg-query instead of `command -v`: /usr/local/bin/docker (client only) is
# preinstalled and would hide a missing engine.
missing=()
for pkg in docker.io docker-compose mmdebstrap; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
        || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    step "apt-get install ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
        || apt-get install -y --no-install-recommends "${missing[@]}"  # rerun to show why
else
    step "docker.io, docker-compose, mmdebstrap already installed"
fi

# --- Compose v2 and buildx CLI plugins --------------------------------------
# Bookworm has neither; trixie's are static Go binaries that run on bookworm's
# libc. We only unpack them: `dpkg -i` of trixie's docker-compose would replace
# the v1 /usr/bin/docker-compose that the Makefiles also support.
if docker compose version >/dev/null 2>&1 && docker buildx version >/dev/null 2>&1; then
    step "compose v2 and buildx plugins already present"
else
    step "fetching compose v2 and buildx plugins from Debian trixie"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    # Reuse the machine's own mirror (first stanza of debian.sources) so this
    # works wherever the system's apt works; apt reads deb822 only from *.sources.
    src=/etc/apt/sources.list.d/debian.sources
    [ -r "$src" ] || die "$src not found: cannot tell which Debian mirror to use"
    awk 'BEGIN{RS=""; ORS="\n"} NR==1{print; exit}' "$src" \
        | sed -E 's/^Suites:.*/Suites: trixie/' >"$work/trixie.sources"
    mkdir -p "$work/lists/partial" "$work/debs"
    apt_opts=(-o "Dir::Etc::SourceList=$work/trixie.sources"
              -o Dir::Etc::SourceParts=/dev/null
              -o "Dir::State::Lists=$work/lists"
              # the _apt user cannot write into our private mktemp dirs
              -o APT::Sandbox::User=root)
    apt-get "${apt_opts[@]}" update -qq
    (cd "$work/debs" && apt-get "${apt_opts[@]}" download -qq docker-compose docker-buildx)
    mkdir -p "$work/root" "$PLUGIN_DIR"
    for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$work/root"; done
    install -m 0755 "$work"/root/usr/libexec/docker/cli-plugins/* "$PLUGIN_DIR/"
fi

# --- Engine -----------------------------------------------------------------
if docker info >/dev/null 2>&1; then
    step "dockerd already answering"
else
    if pgrep -x dockerd >/dev/null; then
        # A daemon that is still starting (e.g. a concurrent run of this
        # script): a second one would only fail on the pid file.
        step "dockerd running but not answering yet, waiting"
    else
        step "starting dockerd (log: $DOCKERD_LOG)"
        # setsid + redirected stdio: the daemon must outlive this script and
        # the CI step's shell without holding its pipes open.
        setsid dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
    fi
    for _ in $(seq 1 120); do
        docker info >/dev/null 2>&1 && break
        sleep 0.5
    done
    if ! docker info >/dev/null 2>&1; then
        echo "---- last lines of $DOCKERD_LOG ----" >&2
        tail -n 40 "$DOCKERD_LOG" >&2 || true
        die "dockerd did not answer 'docker info' within 60 s"
    fi
fi

# --- Summary ----------------------------------------------------------------
echo "engine:     $(docker version -f '{{.Server.Version}} (API {{.Server.APIVersion}})')"
echo "compose v1: $(docker-compose version --short 2>/dev/null)"
echo "compose v2: $(docker compose version --short)"
echo "buildx:     $(docker buildx version | awk '{print $2}')"
