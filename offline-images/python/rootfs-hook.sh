#!/bin/sh
# mmdebstrap --customize-hook of the python rootfs; $1 is its root directory.
set -eu
# The official image lets root `pip install` into the system Python; Debian's PEP 668 marker
# would refuse that.
rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED
