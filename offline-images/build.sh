#!/usr/bin/env bash
# Builds registry-free stand-ins for the public images the generated projects default to, under
# those images' names (see README.md). Usage: build.sh [IMAGE...] (default: all of them);
# build.sh --list prints their names, one a line.
#
# Each image is a Debian rootfs made by mmdebstrap with its packages already installed, `docker
# import`ed as offline/rootfs:<name>, plus a small Dockerfile (config, entrypoint, metadata).
# Every stand-in carries the label offline-images.stand-in; a tag on the engine without it is a
# real image and is never replaced.
# The rootfs tarballs are cached on disk under the hash of their recipe, so building on another
# engine (data root) costs only the import and the Dockerfile build. Every image is labelled
# with the hash of its inputs and skipped when that label matches.
# Env: FORCE=1 rebuilds the images (not the cached tarballs: delete $OFFLINE_IMAGES_CACHE for
# that); DOCKER_BUILDKIT=0 selects the legacy builder (the Dockerfiles work with both).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HASH_LABEL=offline-images.inputs-hash
STAND_IN_LABEL=offline-images.stand-in
RECIPE_VERSION=2 # bump to invalidate every cached rootfs
CACHE=${OFFLINE_IMAGES_CACHE:-/var/cache/offline-images}
# The Debian mirror: the one the host's apt uses, so the build works wherever the host's apt does.
APT_SOURCES=${OFFLINE_IMAGES_APT_SOURCES:-/etc/apt/sources.list.d/debian.sources}
# The CA bundle the python images trust: the host's, which holds any CA that re-signs HTTPS on
# this network (corporate proxy, CI mirror).
CA_BUNDLE=${OFFLINE_IMAGES_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
FORCE=${FORCE:-0}

PYTHON_PACKAGES=ca-certificates,python3,python3-venv,python3-pip,python-is-python3
# systemd-standalone-sysusers: mysql-server needs a sysusers implementation, not all of systemd.
MYSQL_PACKAGES=mysql-server,mysql-client,systemd-standalone-sysusers
# The CI job images of the generated GitLab pipeline: Engine 28.5, Compose 2.40, buildx 0.29;
# rsync for gitlab-ci-local, whose helper image docker:28 stands in for.
DOCKER_CLI_PACKAGES=ca-certificates,docker-cli,docker-compose,docker-buildx,bash,git,make,rsync
# The one list of the stand-ins: the root Makefile, the tests and the bench take the images'
# names from here (build.sh --list) or from the generated project's defaults, which these are.
# image, Debian suite, packages, folder (build context, rootfs-hook.sh), Dockerfile
IMAGES=(
	"python:3.11-slim bookworm $PYTHON_PACKAGES python Dockerfile"
	"python:3.13-slim trixie $PYTHON_PACKAGES python Dockerfile"
	"mariadb:11.8 trixie mariadb-server,mariadb-client db mariadb.Dockerfile"
	"mysql:9.7 sid $MYSQL_PACKAGES db mysql.Dockerfile"
	"nginx:1.30 sid nginx-light nginx Dockerfile"
	"docker:28 forky $DOCKER_CLI_PACKAGES docker Dockerfile"
	"docker:28-dind forky $DOCKER_CLI_PACKAGES,docker.io,containerd,runc,iptables docker dind.Dockerfile"
)
if [ "${1:-}" = --list ]; then
	printf '%s\n' "${IMAGES[@]%% *}"
	exit 0
fi
MMDEBSTRAP_OPTIONS=(
	--variant=minbase
	--aptopt='Acquire::Languages "none"'
	# The mirror may be a dated snapshot: newer suites' Release files are past their Valid-Until.
	--aptopt='Acquire::Check-Valid-Until "false"'
	--dpkgopt=force-unsafe-io
	--dpkgopt='path-exclude=/usr/share/man/*'
	--dpkgopt='path-exclude=/usr/share/info/*'
	--dpkgopt='path-exclude=/usr/share/locale/*'
	--dpkgopt='path-exclude=/usr/share/doc/*'
	--dpkgopt='path-include=/usr/share/doc/*/copyright'
)

step() { printf '=> %s\n' "$*"; }
die() {
	printf 'ERROR: %s\n' "$*" >&2
	exit 1
}
sha() { sha256sum | cut -c1-64; }
label() { docker image inspect -f "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true; }
up_to_date() { [ "$(label "$1" "$HASH_LABEL")" = "$2" ]; }
# Names and contents of a folder's files, independent of where the checkout is.
dir_hash() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha); }

# apt sources for SUITE from the host's mirror (and security mirror, if it has one).
mirror=$(awk '$1 == "URIs:" { print $2; exit }' "$APT_SOURCES" 2>/dev/null || true)
security=$(awk '$1 == "URIs:" && /security/ { print $2; exit }' "$APT_SOURCES" 2>/dev/null || true)
sources() {
	echo "deb ${mirror:-http://deb.debian.org/debian} $1 main"
	if [ "$1" != sid ]; then
		echo "deb ${mirror:-http://deb.debian.org/debian} $1-updates main"
		if [ -n "$security" ]; then echo "deb $security $1-security main"; fi
	fi
}

names="${IMAGES[*]%% *}"
for image in "$@"; do
	printf '%s\n' "${IMAGES[@]%% *}" | grep -qxF -- "$image" ||
		die "there is no stand-in for $image; build.sh builds: $names"
done
start=$SECONDS
work=$(mktemp -d "${TMPDIR:-/var/tmp}/offline-images.XXXXXX")
trap 'rm -rf "$work"' EXIT
command -v docker >/dev/null || die "docker not found (run .ci/install-docker.sh)"
docker info >/dev/null 2>&1 || die "no Docker engine answers (run .ci/install-docker.sh)"
[ -r "$CA_BUNDLE" ] || die "CA bundle $CA_BUNDLE not readable"
mkdir -p "$CACHE" || die "cannot create the rootfs cache $CACHE (set OFFLINE_IMAGES_CACHE)"
# mmdebstrap runs much faster in memory; only the finished tarballs go to disk.
mm_tmp=$work
if [ "$(df --output=avail -k /dev/shm 2>/dev/null | tail -n1)" -gt 8000000 ] 2>/dev/null; then
	mm_tmp=$(mktemp -d /dev/shm/offline-images.XXXXXX)
	trap 'rm -rf "$work" "$mm_tmp"' EXIT
fi

# --- 1. what is out of date; start mmdebstrap (in parallel) for each missing tarball ---------
declare -A rootfs_hash tarball context image_sum dockerfile rootfs_name stand_in
declare -A mmdebstrap_pid=()
todo=()
for entry in "${IMAGES[@]}"; do
	read -r image suite packages folder file <<<"$entry"
	if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qxF "$image"; then continue; fi
	if docker image inspect "$image" >/dev/null 2>&1 && [ -z "$(label "$image" "$STAND_IN_LABEL")" ]; then
		step "$image is on the engine and is not a stand-in: left as it is"
		continue
	fi
	# The rootfs and its cached tarball are named after the Debian suite, e.g. python-3.11-bookworm.
	tag=${image#*:}
	name=${image%%:*}-${tag%-slim}-$suite
	rootfs_name[$image]=$name
	stand_in[$image]="built from Debian $suite packages by offline-images/build.sh, not the official image"
	rootfs_hash[$name]=$( {
		echo "recipe $RECIPE_VERSION $suite $packages"
		printf '%s\n' "${MMDEBSTRAP_OPTIONS[@]}"
		sources "$suite"
		cat "$HERE/$folder/rootfs-hook.sh"
	} | sha)
	tarball[$name]=$CACHE/$name-${rootfs_hash[$name]:0:16}.tar
	# The build context: the folder, plus the host's CA bundle for the python images (so the
	# repository never holds a copy of it), with the scripts' modes fixed (no COPY --chmod).
	context[$name]=$work/context-$name
	cp -a "$HERE/$folder/." "${context[$name]}"
	chmod 0755 "${context[$name]}"/*.sh
	if [ "$folder" = python ]; then cp "$CA_BUNDLE" "${context[$name]}/host-ca-certificates.crt"; fi
	dockerfile[$name]=$file
	image_sum[$name]=$(printf '%s %s %s %s\n' "${rootfs_hash[$name]}" "$file" "$(dir_hash "${context[$name]}")" \
		"${stand_in[$image]}" | sha)
	if [ "$FORCE" != 1 ] && up_to_date "$image" "${image_sum[$name]}"; then
		step "$image up to date"
		continue
	fi
	todo+=("$image")
	if up_to_date "offline/rootfs:$name" "${rootfs_hash[$name]}" || [ -f "${tarball[$name]}" ]; then
		continue
	fi
	command -v mmdebstrap >/dev/null || die "mmdebstrap not found (apt-get install mmdebstrap)"
	step "mmdebstrap $suite rootfs for $image (${tarball[$name]})"
	mapfile -t mirrors < <(sources "$suite")
	TMPDIR=$mm_tmp mmdebstrap --quiet --format=tar "${MMDEBSTRAP_OPTIONS[@]}" \
		--include="$packages" --customize-hook="${context[$name]}/rootfs-hook.sh" \
		"$suite" "${tarball[$name]}.part" "${mirrors[@]}" >"$work/$name.log" 2>&1 &
	mmdebstrap_pid[$name]=$!
done

for name in "${!mmdebstrap_pid[@]}"; do
	if ! wait "${mmdebstrap_pid[$name]}"; then
		tail -n 40 "$work/$name.log" >&2
		die "mmdebstrap for $name failed"
	fi
	# Only this recipe's tarball stays in the cache.
	find "$CACHE" -maxdepth 1 -name "$name-*.tar" -delete
	mv "${tarball[$name]}.part" "${tarball[$name]}"
done
[ ${#mmdebstrap_pid[@]} -eq 0 ] || step "mmdebstrap done after $((SECONDS - start)) s"

# --- 2. docker import (if needed) and the Dockerfile build ------------------------------------
for image in "${todo[@]}"; do
	name=${rootfs_name[$image]}
	if ! up_to_date "offline/rootfs:$name" "${rootfs_hash[$name]}"; then
		step "docker import offline/rootfs:$name"
		docker import \
			--change "LABEL $HASH_LABEL=${rootfs_hash[$name]}" \
			--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
			--change 'ENV LANG=C.UTF-8' \
			--change 'CMD ["bash"]' \
			"${tarball[$name]}" "offline/rootfs:$name" >/dev/null
	fi
	step "docker build $image"
	if ! docker build --build-arg "BASE=offline/rootfs:$name" -f "${context[$name]}/${dockerfile[$name]}" \
		--label "$HASH_LABEL=${image_sum[$name]}" --label "$STAND_IN_LABEL=${stand_in[$image]}" \
		-t "$image" "${context[$name]}" >"$work/build-$name.log" 2>&1; then
		tail -n 40 "$work/build-$name.log" >&2
		die "docker build $image failed"
	fi
done

# Rebuilt tags leave their previous images dangling; drop only ours.
if [ ${#todo[@]} -gt 0 ]; then
	docker image prune -f --filter "label=$HASH_LABEL" >/dev/null 2>&1 || true
fi
step "stand-ins ready in $((SECONDS - start)) s"
docker image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' --filter "label=$STAND_IN_LABEL" | sed 's/^/   /'
