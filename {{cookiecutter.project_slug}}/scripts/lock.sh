#!/bin/sh
# Runs inside PYTHON_IMAGE (make lock): resolves each requirements*.in into a lock that pins
# every dependency, direct or not, with the hashes pip then checks when the images install it;
# then lists the pins that changed.
set -eu
index=${PIP_INDEX_URL:-https://pypi.org/simple}
locks="src/requirements.txt src/requirements-test.txt docker/agent/requirements.txt"

# An index that does not answer would only show up later as pip's "Could not find a version".
if ! python -c 'import sys, urllib.error, urllib.request
try: urllib.request.urlopen(sys.argv[1], timeout=30)
except urllib.error.HTTPError: pass' "${index%/}/pip-tools/" 2>/dev/null; then
    echo "make lock could not reach the package index $index: check the network (or proxy), or set PIP_INDEX_URL to an index that answers." >&2
    exit 1
fi

mkdir -p /tmp/locks-before
for lock in $locks; do cp "$lock" "/tmp/locks-before/$(echo "$lock" | tr / _)"; done

python -m venv /tmp/pip-tools
/tmp/pip-tools/bin/pip install --quiet pip-tools
compile() {
    /tmp/pip-tools/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
        --no-emit-index-url --output-file "$2" "$1"
}
compile src/requirements.in src/requirements.txt
compile src/requirements-test.in src/requirements-test.txt
compile docker/agent/requirements.in docker/agent/requirements.txt

# shellcheck disable=SC2086 # the lock paths hold no spaces
python - $locks <<'EOF'
import re
import sys


def pins(path):
    with open(path) as text:
        return dict(re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", text.read(), re.MULTILINE))


changed = []
for lock in sys.argv[1:]:
    before = pins("/tmp/locks-before/" + lock.replace("/", "_"))
    after = pins(lock)
    for name in sorted(before.keys() | after.keys(), key=str.lower):
        if before.get(name) != after.get(name):
            was, now = before.get(name, "(new)"), after.get(name, "(removed)")
            changed.append(f"  {lock}: {name} {was} -> {now}")
print("\n".join(["=> Pins that changed:", *changed]) if changed else "=> No pin changed.")
EOF
