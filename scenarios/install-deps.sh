#!/bin/bash
# Installs every Debian package cpr-verify needs to build, test and run, on
# Debian 12 (bookworm) or newer, as root. Idempotent: installs only what is
# missing, so it is cheap to call before every build.
#
# The nested L1 lane (used where this kernel has no /dev/kvm) installs its
# own few extra packages and fetches its kernel in scenarios/l1/setup.sh,
# on first use.
set -euo pipefail

PKGS=(
	make gcc libc6-dev pkg-config            # build
	clang llvm bpftool                       # BPF objects and skeletons
	libbpf-dev libelf-dev zlib1g-dev          # libbpf and what it links
	libjson-c-dev                             # QMP, JSON reports, scenarios
	libcmocka-dev                             # unit and live tests
	linux-libc-dev                            # KVM and VFIO uapi headers
	mmdebstrap debian-archive-keyring         # the reference QEMU root fs (scenarios/qemu)
	qemu-system-x86                           # QMP tests against a real QEMU; the L1 guest
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if ((${#missing[@]} == 0)); then
	echo "install-deps: all ${#PKGS[@]} packages present"
	exit 0
fi
if [[ $(id -u) != 0 ]]; then
	echo "install-deps: missing ${missing[*]}; run as root (sudo $0)" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
