#!/bin/sh
# mmdebstrap --customize-hook of the docker rootfs; $1 is its root directory.
set -eu
# The official docker images are Alpine, and GitLab jobs `apk add` their tools (bash, git, make):
# the stand-ins carry them already, and their apk says so, or names what is missing.
cat >"$1/usr/local/bin/apk" <<'APK'
#!/bin/sh
# apk of the offline-images stand-in: `apk add [--no-cache] PACKAGE...` for packages it holds.
[ "${1:-}" = add ] || { echo "apk (stand-in): only 'apk add' of packages already here" >&2; exit 1; }
shift
for package in "$@"; do
	case $package in
	-*) ;;
	*) command -v "$package" >/dev/null || {
		echo "apk (stand-in): $package is not in this image: add it to offline-images/build.sh" >&2
		exit 1
	} ;;
	esac
done
APK
chmod 0755 "$1/usr/local/bin/apk"
