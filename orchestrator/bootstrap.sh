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

APT_PACKAGES=(
	gcc-arm-linux-gnueabihf ccache ninja-build make flex bison bc cpio kmod patch
	pkg-config libglib2.0-dev libpixman-1-dev libfdt-dev libslirp-dev zlib1g-dev
	device-tree-compiler dpkg-dev xz-utils python3-venv python3-dev git
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

venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
	echo ">> creating $venv"
	python3 -m venv "$venv"
fi
stamp="$venv/.tangolab-deps"
want=$(sha256sum "$here/orchestrator/pyproject.toml" | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
	echo ">> installing Python packages into $venv"
	"$venv/bin/pip" install -q --upgrade pip
	"$venv/bin/pip" install -q "meson>=1.5" -e "$here/orchestrator[test]"
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
	exec python -m pytest tests "$@"
	;;
esac
