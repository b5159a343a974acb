#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (c) 2026 tangolab developers
#
# Set up a fresh Debian machine for tangolab, then run the main job or the
# tests:
#
#   bash orchestrator/bootstrap.sh demo    # build everything, run the demo
#   bash orchestrator/bootstrap.sh test    # build everything, run the tests
#
# Installs the Debian build dependencies (apt-get, as root or with sudo)
# and a Python virtual environment in .venv with tangolab and its tools.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-}
case "$mode" in
demo|test) shift ;;
*) echo "usage: bash orchestrator/bootstrap.sh demo|test [ARGS...]" >&2; exit 2 ;;
esac

# Every Debian package the build and the tests run or compile against,
# installed without Recommends: a Recommends relied on would be a bug that
# only a fresh machine shows (tests/unit/test_bootstrap_packages.py checks
# the list's dependency closure).
APT_PACKAGES=(
	# host compiler and C library headers (QEMU, host test tools)
	gcc libc6-dev
	# cross compiler and the armhf C library headers (kernel, guest tools)
	gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
	# build tools
	ccache ninja-build make flex bison bc cpio kmod patch perl pkg-config
	device-tree-compiler dpkg-dev xz-utils git debian-archive-keyring
	# `tangolab patches check`: sparse (C=1) on the kernel series
	sparse
	# `tangolab debug`: gdb on the guest's vmlinux through QEMU's gdbstub
	gdb-multiarch
	# QEMU's libraries
	libglib2.0-dev libpixman-1-dev libfdt-dev libslirp-dev zlib1g-dev
	# the orchestrator's virtual environment
	python3-venv python3-dev
)

sudo=""
if [ "$(id -u)" != 0 ]; then
	sudo=sudo
fi
missing=()
for p in "${APT_PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo ">> installing Debian packages: ${missing[*]}"
	$sudo apt-get update -q
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
		"${missing[@]}"
fi

# The toolchains work before the long build starts (one clear line if not).
check_cc() {
	local cc=$1 what=$2 out
	out=$(mktemp -d)
	printf '#include <stdio.h>\nint main(void) { puts("ok"); return 0; }\n' > "$out/t.c"
	if ! "$cc" -static -O2 -o "$out/t" "$out/t.c" 2> "$out/err"; then
		echo "bootstrap: $cc cannot build a static $what binary: $(head -n 3 "$out/err" | tr '\n' ' ')" >&2
		rm -rf "$out"
		exit 1
	fi
	rm -rf "$out"
}
check_cc gcc "host"
check_cc arm-linux-gnueabihf-gcc "armhf"

venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
	echo ">> creating $venv"
	python3 -m venv "$venv"
fi
stamp="$venv/.tangolab-deps"
want=$(cat "$here/orchestrator/pyproject.toml" "$here/orchestrator/constraints.txt" |
	sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	echo ">> installing Python packages into $venv"
	"$venv/bin/pip" install -q --upgrade pip
	"$venv/bin/pip" install -q -c "$here/orchestrator/constraints.txt" \
		"meson>=1.5" -e "$here/orchestrator[test]"
	echo "$want" > "$stamp"
fi
export PATH="$venv/bin:$PATH"

cd "$here"
case "$mode" in
demo)
	exec tangolab demo "$@"
	;;
test)
	tangolab build all
	# on every core (pytest-xdist); a class's tests, and a module's outside
	# a class, on one worker (they may share a booted machine); the tests
	# that build the kernel (marker kernel_build) are CI's `patches check`
	# step (.ci/run)
	exec python -m pytest -n auto --dist loadscope -m "not kernel_build" tests "$@"
	;;
esac
