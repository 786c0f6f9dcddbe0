#!/usr/bin/env bash
# Provide a Docker engine on a Debian 12 machine with no container registry, and make the one
# asked for the one that answers:
#   bash .ci/install-docker.sh 28.5    Engine 28.5 (Debian forky), Compose v2 2.40, buildx 0.29
#   bash .ci/install-docker.sh 20.10   Engine 20.10 (Debian 12's own), Compose v2 2.26, buildx 0.13
# Compose v1 (Debian 12's docker-compose 1.29) and mmdebstrap come with both. Each engine keeps
# its own data root, so switching back and forth keeps each one's images. Idempotent: what is
# installed is not installed again, and an engine that already answers is kept.
#
# The 28.5 plugins live in the system plugin folder; the 20.10 ones in a DOCKER_CONFIG of their
# own, so a client with DOCKER_CONFIG=/opt/docker-20.10/config uses them (see .ci/run).
set -euo pipefail

step() { printf '=> %s\n' "$*"; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

engine=${1:-28.5}
case "$engine" in
    28.5|20.10) ;;
    *) die "engine '$engine' is not one this script provides; use 28.5 or 20.10" ;;
esac
[ "$(id -u)" = 0 ] || die "must run as root (installs packages and starts dockerd)"
export DEBIAN_FRONTEND=noninteractive

ENGINE_28=/opt/docker-28.5
CONFIG_20=/opt/docker-20.10/config
SYSTEM_PLUGINS=/usr/local/lib/docker/cli-plugins

# --- Debian 12 packages: Engine 20.10, Compose v1, mmdebstrap, runc; the release tests' registry
# (CNCF distribution) and load generator; rsync for gitlab-ci-local ----------------------------
# dpkg-query, not `command -v`: the preinstalled /usr/local/bin/docker client would hide a
# missing engine.
missing=()
for pkg in docker.io docker-compose mmdebstrap docker-registry hey rsync; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    step "apt-get install ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# gitlab-ci-local runs the generated GitLab pipeline; later releases need Node.js 22 (this is 20).
GITLAB_CI_LOCAL=4.64.0
if [ "$(gitlab-ci-local --version 2>/dev/null)" != "$GITLAB_CI_LOCAL" ]; then
    step "npm install -g gitlab-ci-local@$GITLAB_CI_LOCAL"
    npm install -g --silent "gitlab-ci-local@$GITLAB_CI_LOCAL"
fi

# --- Packages of a newer Debian suite, unpacked, never installed -------------------------------
# fetch SUITE DIR PACKAGE...: download the packages from the machine's own mirror (the first
# stanza of its sources, with another suite) and unpack them into DIR. `dpkg -i` would replace
# Debian 12's own docker.io and the v1 /usr/bin/docker-compose.
fetch() {
    local suite=$1 into=$2 work
    shift 2
    work=$(mktemp -d)
    local sources=/etc/apt/sources.list.d/debian.sources
    [ -r "$sources" ] || die "$sources not found: cannot tell which Debian mirror to use"
    awk 'BEGIN{RS=""; ORS="\n"} NR==1{print; exit}' "$sources" \
        | sed -E "s/^Suites:.*/Suites: $suite/" >"$work/$suite.sources"
    mkdir -p "$work/lists/partial" "$work/debs" "$into"
    # The mirror is a dated snapshot: newer suites' Release files have expired.
    local apt_opts=(-o "Dir::Etc::SourceList=$work/$suite.sources" -o Dir::Etc::SourceParts=/dev/null
                    -o "Dir::State::Lists=$work/lists" -o APT::Sandbox::User=root
                    -o Acquire::Check-Valid-Until=false)
    apt-get "${apt_opts[@]}" update -qq
    (cd "$work/debs" && apt-get "${apt_opts[@]}" download -qq "$@")
    for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$into"; done
    rm -rf "$work"
}

if [ ! -x "$SYSTEM_PLUGINS/docker-compose" ] || [ ! -x "$ENGINE_28/bin/dockerd" ]; then
    step "Engine 28.5, Compose v2 2.40 and buildx 0.29 from Debian forky"
    fetch forky "$ENGINE_28/root" docker.io containerd docker-compose docker-buildx
    mkdir -p "$ENGINE_28/bin" "$SYSTEM_PLUGINS"
    # forky's runc needs glibc 2.38: Debian 12's runc stays on PATH.
    cp "$ENGINE_28"/root/usr/sbin/{dockerd,docker-proxy} \
       "$ENGINE_28"/root/usr/bin/{containerd,containerd-shim-runc-v2} "$ENGINE_28/bin/"
    install -m 0755 "$ENGINE_28"/root/usr/libexec/docker/cli-plugins/* "$SYSTEM_PLUGINS/"
    rm -rf "$ENGINE_28/root"
fi
if [ ! -x "$CONFIG_20/cli-plugins/docker-compose" ]; then
    step "Compose v2 2.26 and buildx 0.13 for Engine 20.10, from Debian trixie"
    fetch trixie /tmp/trixie-plugins.$$ docker-compose docker-buildx
    mkdir -p "$CONFIG_20/cli-plugins"
    install -m 0755 /tmp/trixie-plugins.$$/usr/libexec/docker/cli-plugins/* "$CONFIG_20/cli-plugins/"
    rm -rf /tmp/trixie-plugins.$$
fi

# --- The engine asked for -----------------------------------------------------------------------
running=$(docker version -f '{{.Server.Version}}' 2>/dev/null || true)
if [[ "$running" == "$engine".* ]]; then
    step "Engine $running already answering"
else
    for pidfile in /var/run/docker-*.pid /var/run/docker.pid; do
        [ -s "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        if kill -0 "$pid" 2>/dev/null; then
            step "stopping Engine ${running:-that does not answer} (pid $pid)"
            kill "$pid"
            for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
            kill -0 "$pid" 2>/dev/null && die "dockerd (pid $pid) did not stop within 60 s"
        fi
    done
    path=$PATH
    [ "$engine" = 28.5 ] && path=$ENGINE_28/bin:$PATH
    log=/var/log/dockerd-$engine.log
    step "starting Engine $engine (data root /var/lib/docker-$engine, log $log)"
    # setsid and no inherited descriptors: the daemon outlives this script and its caller.
    PATH=$path setsid dockerd --data-root "/var/lib/docker-$engine" --exec-root "/var/run/docker-$engine" \
        --pidfile "/var/run/docker-$engine.pid" >"$log" 2>&1 </dev/null &
    for _ in $(seq 1 120); do
        docker version -f '{{.Server.Version}}' >/dev/null 2>&1 && break
        sleep 0.5
    done
    if ! docker version >/dev/null 2>&1; then
        tail -n 40 "$log" >&2
        die "Engine $engine did not answer within 60 s"
    fi
fi

config=()
[ "$engine" = 20.10 ] && config=(env DOCKER_CONFIG="$CONFIG_20")
echo "engine:     $(docker version -f '{{.Server.Version}} (API {{.Server.APIVersion}})')"
echo "compose v2: $("${config[@]}" docker compose version --short)"
echo "buildx:     $("${config[@]}" docker buildx version | awk '{print $2}')"
echo "compose v1: $(docker-compose version --short)"
