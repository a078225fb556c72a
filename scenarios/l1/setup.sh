#!/bin/bash
# Set up the nested L1 lane: host packages, Debian trixie's 6.12 kernel, and an
# initramfs for tools/l1-run, all cached under scenarios/cache/ (gitignored).
#
#   scenarios/l1/setup.sh            install what is missing, build what is stale
#   scenarios/l1/setup.sh --check    exit 0 if the cache is complete and current
#   scenarios/l1/setup.sh --refresh  also re-resolve the newest trixie 6.12 kernel
#
# Cache layout (scenarios/cache/):
#   apt/                 private apt config+state for trixie; the host's own
#                        sources (bookworm) and default suite are never touched
#   l1/kernel-<release>/ the extracted linux-image .deb, depmod'ed
#   l1/kernel.release    which of them is current
#   l1/initramfs.cpio    busybox-static + init + decompressed modules
#   l1/kvmcheck          scenarios/l1/kvmcheck.c, for the self test
#   l1/probecheck{,.bpf.o} scenarios/l1/probecheck*.c, for the self test
#   l1/inputs.sha256     hash of everything the above was built from
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${L1_CACHE_DIR:-$(cd "$HERE/../.." && pwd)/scenarios/cache}
L1=$CACHE/l1
APT=$CACHE/apt
BUSYBOX=/bin/busybox	# from busybox-static: no shared libraries to copy

# Host packages: QEMU for TCG, busybox-static for the initramfs, kmod for
# depmod/modprobe --show-depends, xz/zstd to decompress modules, cpio to pack,
# gcc, clang, libbpf-dev, linux-libc-dev for the self test's kvmcheck and
# probecheck, bpftool for the self test.
HOST_PKGS=(qemu-system-x86 busybox-static cpio xz-utils zstd kmod gcc clang
	libc6-dev linux-libc-dev libbpf-dev bpftool coreutils util-linux)

log() { [[ $QUIET == 1 ]] || echo "l1-setup: $*" >&2; }
die() { echo "l1-setup: error: $*" >&2; exit 1; }

MODE=build QUIET=0 REFRESH=0
for a in "$@"; do
	case $a in
	--check) MODE=check ;;
	--refresh) REFRESH=1 ;;
	--quiet) QUIET=1 ;;
	-h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $a (try --help)" ;;
	esac
done

# The apt options that make every apt call private to $APT. SourceParts and
# PreferencesParts point at empty dirs so the host's sources.list.d and pins
# do not leak in; status is an empty file so "download" ignores installed
# packages.
apt_opts() {
	echo "-o Dir::Etc::SourceList=$APT/etc/sources.list" \
		"-o Dir::Etc::SourceParts=$APT/etc/sources.list.d" \
		"-o Dir::Etc::Preferences=$APT/etc/preferences" \
		"-o Dir::Etc::PreferencesParts=$APT/etc/preferences.d" \
		"-o Dir::State=$APT/state -o Dir::State::status=$APT/state/status" \
		"-o Dir::Cache=$APT/cache -o APT::Architecture=amd64" \
		"-o Acquire::Languages=none -o APT::Sandbox::User=root -q"
}

install_host_packages() {
	local missing=() p
	for p in "${HOST_PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	((${#missing[@]})) || return 0
	log "installing host packages: ${missing[*]}"
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}" >/dev/null
}

# Resolve, download and unpack the current trixie 6.12 amd64 kernel. The ABI
# number changes with every point release, so the name comes from what
# linux-image-amd64 depends on today, not from this script.
fetch_kernel() {
	mkdir -p "$APT"/etc/sources.list.d "$APT"/etc/preferences.d \
		"$APT"/state/lists/partial "$APT"/cache/archives/partial "$APT"/debs
	touch "$APT"/state/status
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
		"http://deb.debian.org/debian trixie main" >"$APT"/etc/sources.list
	[[ -s /usr/share/keyrings/debian-archive-trixie-stable.gpg ]] ||
		die "debian-archive-keyring has no trixie key; upgrade debian-archive-keyring"

	log "updating the private trixie package index"
	# shellcheck disable=SC2046
	apt-get $(apt_opts) update >/dev/null
	local pkg
	# shellcheck disable=SC2046
	pkg=$(apt-cache $(apt_opts) depends linux-image-amd64 |
		sed -n 's/^ *Depends: \(linux-image-6\.12\.[^ ]*-amd64\)$/\1/p' | head -n1)
	[[ -n $pkg ]] || die "cannot resolve linux-image-6.12.*-amd64 from trixie's linux-image-amd64"
	local release=${pkg#linux-image-}
	if [[ -d $L1/kernel-$release && -f $L1/kernel.release ]] &&
		[[ $(<"$L1"/kernel.release) == "$release" ]]; then
		log "kernel $release is current"
		return 0
	fi

	log "downloading $pkg"
	rm -f "$APT"/debs/*.deb
	# shellcheck disable=SC2046
	(cd "$APT"/debs && apt-get $(apt_opts) download "$pkg" >/dev/null)
	local deb
	deb=$(ls "$APT"/debs/"$pkg"_*.deb)

	log "unpacking $(basename "$deb")"
	local dst=$L1/kernel-$release
	rm -rf "$dst.new" && mkdir -p "$dst.new"
	dpkg-deb -x "$deb" "$dst.new"
	# trixie is merged-/usr: modules live in usr/lib/modules, but kmod's -b/-d
	# look under <base>/lib/modules
	[[ -e $dst.new/lib ]] || ln -s usr/lib "$dst.new/lib"
	# the .deb ships no modules.dep: dpkg's postinst would have made it
	depmod -b "$dst.new" "$release"
	[[ -f $dst.new/boot/vmlinuz-$release ]] || die "no vmlinuz in $deb"
	rm -rf "$dst" && mv "$dst.new" "$dst"
	# the unpacked tree is all that is used; a re-download takes seconds
	rm -f "$deb"
	echo "$release" >"$L1"/kernel.release.tmp && mv "$L1"/kernel.release.tmp "$L1"/kernel.release
	# keep one kernel: older ones are only dead weight in the cache
	local old
	for old in "$L1"/kernel-*; do
		[[ $old == "$dst" ]] || rm -rf "$old"
	done
}

kernel_release() { [[ -f $L1/kernel.release ]] && cat "$L1"/kernel.release; }

# Everything the initramfs and the self-test tools are built from; a change
# in any of them (or a new kernel) rebuilds them all.
inputs_hash() {
	{
		echo "kernel $(kernel_release)"
		sha256sum "$BUSYBOX" "$HERE"/init "$HERE"/modules.list "$HERE"/setup.sh \
			"$HERE"/kvmcheck.c "$HERE"/probecheck.c "$HERE"/probecheck.bpf.c "$HERE"/probecheck.h
	} | sha256sum | cut -d' ' -f1
}

cache_current() {
	local rel
	rel=$(kernel_release) || return 1
	[[ -f $L1/kernel-$rel/boot/vmlinuz-$rel && -f $L1/initramfs.cpio && -x $L1/kvmcheck && -x $L1/probecheck &&
		-f $L1/inputs.sha256 && -x $BUSYBOX ]] || return 1
	[[ $(<"$L1"/inputs.sha256) == "$(inputs_hash)" ]]
}

# Resolve each wanted module to its .ko and its dependencies, in load order,
# with the host's modprobe reading the cached tree's modules.dep.
module_files() {
	local rel=$1 base=$L1/kernel-$1 m line
	grep -v '^[[:space:]]*\(#\|$\)' "$HERE"/modules.list | while read -r m; do
		modprobe -d "$base" -S "$rel" --show-depends --ignore-install "$m" 2>/dev/null ||
			echo "missing $m"
	done | while read -r kind line; do
		case $kind in
		insmod) echo "${line%% *}" ;;
		builtin) ;;	# compiled in, nothing to load
		*) die "module ${line} is neither built in nor in kernel $rel" ;;
		esac
	done | awk '!seen[$0]++'
}

build_initramfs() {
	local rel=$1 stage=$L1/initramfs.stage ko name files
	log "building initramfs for $rel"
	files=$(module_files "$rel")
	rm -rf "$stage" && mkdir -p "$stage"/{bin,dev,proc,sys,tmp,lib/modules}
	cp "$BUSYBOX" "$stage"/bin/busybox
	install -m 0755 "$HERE"/init "$stage"/init
	# the kernel needs a console node before devtmpfs is mounted
	mknod -m 600 "$stage"/dev/console c 5 1
	: >"$stage"/lib/modules/load.order
	while read -r ko; do
		# busybox insmod reads plain ELF only: decompress here, once
		name=$(basename "$ko")
		case $ko in
		*.ko.xz) xz -dc "$ko" >"$stage/lib/modules/${name%.xz}"; name=${name%.xz} ;;
		*.ko.zst) zstd -qdc "$ko" >"$stage/lib/modules/${name%.zst}"; name=${name%.zst} ;;
		*.ko.gz) gzip -dc "$ko" >"$stage/lib/modules/${name%.gz}"; name=${name%.gz} ;;
		*.ko) cp "$ko" "$stage/lib/modules/$name" ;;
		*) die "unexpected module file $ko" ;;
		esac
		echo "$name" >>"$stage"/lib/modules/load.order
	done <<<"$files"
	# uncompressed: unpacking gzip/xz under TCG costs more than reading it
	(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc -R 0:0 --quiet) >"$L1"/initramfs.cpio.tmp
	mv "$L1"/initramfs.cpio.tmp "$L1"/initramfs.cpio
	log "initramfs: $(wc -l <"$stage"/lib/modules/load.order) modules," \
		"$(($(stat -c %s "$L1"/initramfs.cpio) / 1024)) KiB"
	rm -rf "$stage"
}

build_selftest_tools() {
	local cflags=(-std=gnu11 -Wall -Wextra -O2)
	gcc "${cflags[@]}" -o "$L1"/kvmcheck.tmp "$HERE"/kvmcheck.c
	mv "$L1"/kvmcheck.tmp "$L1"/kvmcheck
	# no vmlinux.h needed: the probes read nothing from their context
	clang -O2 -g -target bpf -I"/usr/include/$(gcc -dumpmachine)" \
		-c "$HERE"/probecheck.bpf.c -o "$L1"/probecheck.bpf.o
	gcc "${cflags[@]}" -o "$L1"/probecheck.tmp "$HERE"/probecheck.c -lbpf
	mv "$L1"/probecheck.tmp "$L1"/probecheck
}

main() {
	if [[ $MODE == check ]]; then
		cache_current
		return
	fi
	[[ $(id -u) == 0 ]] || die "needs root (apt-get, mknod)"
	mkdir -p "$L1"
	# one setup at a time: parallel l1-run calls may all find the cache stale
	exec 9>"$L1"/.lock
	flock 9
	local t0=$SECONDS
	install_host_packages
	if [[ $REFRESH == 1 || -z $(kernel_release) ||
		! -d $L1/kernel-$(kernel_release) ]]; then
		fetch_kernel
	fi
	if ! cache_current; then
		local rel
		rel=$(kernel_release)
		build_initramfs "$rel"
		build_selftest_tools
		inputs_hash >"$L1"/inputs.sha256
	fi
	log "cache ready: kernel $(kernel_release) ($((SECONDS - t0)) s)"
}

main
