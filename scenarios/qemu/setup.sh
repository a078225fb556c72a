#!/bin/bash
# Set up the reference QEMU lane: a Debian trixie root file system (built
# with mmdebstrap) holding QEMU from trixie-backports (the reference, 11.1
# today), plus trixie's own QEMU (10.0: cpr-transfer, no cpr-exec, no vfio
# CPR) unpacked next to it, and a wrapper per build that runs its binary
# from the host (or inside L1) without chroot.
#
#   scenarios/qemu/setup.sh                  build what is missing or stale
#   scenarios/qemu/setup.sh --check          exit 0 if the cache is complete and current
#   scenarios/qemu/setup.sh --refresh        rebuild from the newest packages
#   scenarios/qemu/setup.sh --print-binary B the real ELF of build B (uprobes attach to it)
#   scenarios/qemu/setup.sh --print-wrapper B the wrapper that runs build B
#     B is a version (11.1, 10.0) or an alias: ref (backports) or old (trixie)
#
# Cache layout (scenarios/cache/qemu/, gitignored):
#   <ref>/            the rootfs (mmdebstrap); its usr/bin/qemu-system-x86_64 is the reference
#   <old>/            trixie's qemu-system-{x86,common,data} + seabios, unpacked;
#                     it uses the libraries of the <ref> rootfs
#   ref, old          symlinks to those two dirs
#   bin/qemu-<ver>    wrappers; bin/qemu-ref, bin/qemu-old point at them
#   apt/              private apt config used to fetch the old build
#   inputs.sha256     hash of everything the above was built from
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${QEMU_CACHE_DIR:-$(cd "$HERE/../.." && pwd)/scenarios/cache/qemu}
APT=$CACHE/apt
MIRROR=http://deb.debian.org/debian
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# the reference comes from backports: these must all come from there together
REF_PKGS=(qemu-system-x86 qemu-system-common qemu-system-data seabios)
# the old build: the binary, its modules, its firmware
OLD_PKGS=(qemu-system-x86 qemu-system-common qemu-system-data seabios)
HOST_PKGS=(mmdebstrap debian-archive-keyring)
TRIPLET=x86_64-linux-gnu

log() { [[ $QUIET == 1 ]] || echo "qemu-setup: $*" >&2; }
die() { echo "qemu-setup: error: $*" >&2; exit 1; }

MODE=build QUIET=0 REFRESH=0 WHICH=
while (($#)); do
	case $1 in
	--check) MODE=check ;;
	--refresh) REFRESH=1 ;;
	--quiet) QUIET=1 ;;
	--print-binary | --print-wrapper)
		MODE=${1#--}; (($# >= 2)) || die "$1 needs a build: 11.1, 10.0, ref or old"
		WHICH=$2; shift ;;
	-h | --help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1 (try --help)" ;;
	esac
	shift
done

apt_opts() {
	echo "-o Dir::Etc::SourceList=$APT/etc/sources.list" \
		"-o Dir::Etc::SourceParts=$APT/etc/sources.list.d" \
		"-o Dir::Etc::Preferences=$APT/etc/preferences" \
		"-o Dir::Etc::PreferencesParts=$APT/etc/preferences.d" \
		"-o Dir::State=$APT/state -o Dir::State::status=$APT/state/status" \
		"-o Dir::Cache=$APT/cache -o APT::Architecture=amd64" \
		"-o Acquire::Languages=none -o APT::Sandbox::User=root -q"
}

# Everything the cache is built from. Package versions are not in it: they
# are fixed at build time and only --refresh moves them (no network here).
inputs_hash() {
	{
		echo "mirror $MIRROR ref ${REF_PKGS[*]} old ${OLD_PKGS[*]}"
		sha256sum "$HERE"/setup.sh
	} | sha256sum | cut -d' ' -f1
}

# "1:11.1.3+ds-1~bpo13+1" -> "11.1"
major_minor() { sed -E 's/^[0-9]+://; s/^([0-9]+\.[0-9]+).*/\1/' <<<"$1"; }

# Resolve a build name or alias to its directory name (a version).
resolve() {
	case $1 in
	ref | old) [[ -L $CACHE/$1 ]] && readlink "$CACHE/$1" ;;
	*) [[ -d $CACHE/$1 && ! -L $CACHE/$1 ]] && echo "$1" ;;
	esac
}

cache_current() {
	local ref old
	ref=$(resolve ref) && old=$(resolve old) || return 1
	[[ -f $CACHE/inputs.sha256 && $(<"$CACHE"/inputs.sha256) == "$(inputs_hash)" ]] || return 1
	[[ -x $CACHE/$ref/usr/bin/qemu-system-x86_64 && -x $CACHE/$old/usr/bin/qemu-system-x86_64 &&
		-x $CACHE/bin/qemu-$ref && -x $CACHE/bin/qemu-$old ]]
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
		"${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed; retry: $0"
}

# The reference rootfs: Essential packages plus QEMU and its dependencies,
# no recommends (no GUI, spice, opengl modules: -display none needs none),
# no docs. The host's apt sources are never read: the sources are given here.
build_ref_rootfs() {
	local dst=$1 inc p
	inc=$(for p in "${REF_PKGS[@]}"; do printf '%s/trixie-backports,' "$p"; done)
	log "building the trixie rootfs with ${REF_PKGS[*]} from trixie-backports (mmdebstrap, ~1 min)"
	rm -rf "$dst" && mkdir -p "$(dirname "$dst")"
	mmdebstrap --mode=root --variant=essential --quiet \
		--aptopt='APT::Install-Recommends "false"' \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--include="${inc%,}" \
		trixie "$dst" \
		"deb [signed-by=$KEYRING] $MIRROR trixie main" \
		"deb [signed-by=$KEYRING] $MIRROR trixie-backports main" >&2 ||
		die "mmdebstrap failed (network? mirror $MIRROR); retry: $0"
}

# The old build: trixie's own packages, fetched through a private apt dir
# and unpacked with dpkg-deb (no maintainer scripts, no dependencies: the
# ref rootfs provides the libraries).
fetch_old_build() {
	local dst=$1 p
	mkdir -p "$APT"/etc/sources.list.d "$APT"/etc/preferences.d \
		"$APT"/state/lists/partial "$APT"/cache/archives/partial
	: >"$APT"/state/status
	echo "deb [signed-by=$KEYRING] $MIRROR trixie main" >"$APT"/etc/sources.list
	log "updating the private trixie package index"
	# shellcheck disable=SC2046
	apt-get $(apt_opts) update >/dev/null || die "apt-get update (trixie) failed; retry: $0"
	rm -rf "$APT"/debs && mkdir -p "$APT"/debs
	log "downloading trixie's ${OLD_PKGS[*]}"
	# shellcheck disable=SC2046
	(cd "$APT"/debs && apt-get $(apt_opts) download "${OLD_PKGS[@]}" >/dev/null) ||
		die "apt-get download ${OLD_PKGS[*]} failed; retry: $0"
	rm -rf "$dst" && mkdir -p "$dst"
	for p in "$APT"/debs/*.deb; do
		dpkg-deb -x "$p" "$dst"
	done
	dpkg-deb -f "$APT"/debs/qemu-system-x86_*.deb Version >"$dst"/.deb-version
	# the index is only needed again by --refresh, which fetches it anew
	rm -rf "$dst"/usr/share/doc "$dst"/usr/share/man "$APT"/debs "$APT"/state/lists
}

deb_version() { # rootfs package -> the installed version
	dpkg-query --admindir="$1"/var/lib/dpkg -W -f='${Version}' "$2" 2>/dev/null
}

# A wrapper runs the build's ELF through the ref rootfs's dynamic loader:
# no chroot (QEMU sees the caller's files, sockets, /dev/kvm), `exec` (its
# pid is QEMU's), no fd touched (cpr-exec passes fds through it). Paths are
# relative to the wrapper, so the repo may move.
write_wrapper() {
	local build=$1 rootfs=$2 out=$CACHE/bin/qemu-$1
	cat >"$out.tmp" <<EOF
#!/bin/sh
# Generated by scenarios/qemu/setup.sh: QEMU $build, run with the $rootfs
# rootfs's loader and libraries, its own modules and firmware.
# cpr-verify attaches its uprobes to the ELF binary, relative to this file:
# cprv-qemu-elf: ../$build/usr/bin/qemu-system-x86_64
Q=\$(dirname "\$(dirname "\$(readlink -f "\$0")")")
B=\$Q/$build R=\$Q/$rootfs
export QEMU_MODULE_DIR="\$B/usr/lib/$TRIPLET/qemu"
exec "\$R/usr/lib/$TRIPLET/ld-linux-x86-64.so.2" \\
	--library-path "\$R/usr/lib/$TRIPLET" \\
	--argv0 "\$B/usr/bin/qemu-system-x86_64" \\
	"\$B/usr/bin/qemu-system-x86_64" \\
	-L "\$B/usr/share/qemu" -L "\$B/usr/share/seabios" "\$@"
EOF
	chmod 755 "$out.tmp" && mv "$out.tmp" "$out"
}

# Every library the binary needs must come from the rootfs, none from the
# host's /etc/ld.so.cache.
check_libraries() {
	local build=$1 rootfs=$2 out bad
	out=$("$CACHE/$rootfs/usr/lib/$TRIPLET/ld-linux-x86-64.so.2" --list \
		--library-path "$CACHE/$rootfs/usr/lib/$TRIPLET" \
		"$CACHE/$build/usr/bin/qemu-system-x86_64") ||
		die "the loader cannot load QEMU $build: $out"
	bad=$(grep '=>' <<<"$out" | grep -v "=> $CACHE/$rootfs/" || true)
	[[ -z $bad ]] || die "QEMU $build resolves libraries outside its rootfs: $bad"
}

build() {
	local t0=$SECONDS ref_ver old_ver ref old
	mkdir -p "$CACHE"/bin

	build_ref_rootfs "$CACHE"/ref.new
	ref_ver=$(deb_version "$CACHE"/ref.new qemu-system-x86) || die "no qemu-system-x86 in the rootfs"
	ref=$(major_minor "$ref_ver")

	fetch_old_build "$CACHE"/old.new
	old_ver=$(<"$CACHE"/old.new/.deb-version)
	old=$(major_minor "$old_ver")
	[[ $ref != "$old" ]] || die "backports and trixie have the same QEMU $ref: nothing to compare"

	rm -rf "${CACHE:?}/$ref" "${CACHE:?}/$old" "$CACHE"/bin/qemu-*
	mv "$CACHE"/ref.new "$CACHE/$ref"
	mv "$CACHE"/old.new "$CACHE/$old"
	# drop builds of earlier refreshes
	local d
	for d in "$CACHE"/[0-9]*; do
		[[ $d == "$CACHE/$ref" || $d == "$CACHE/$old" ]] || rm -rf "$d"
	done
	ln -sfn "$ref" "$CACHE"/ref
	ln -sfn "$old" "$CACHE"/old
	write_wrapper "$ref" "$ref"
	write_wrapper "$old" "$ref"
	ln -sfn "qemu-$ref" "$CACHE"/bin/qemu-ref
	ln -sfn "qemu-$old" "$CACHE"/bin/qemu-old
	check_libraries "$ref" "$ref"
	check_libraries "$old" "$ref"
	log "built QEMU $ref ($ref_ver) and $old in $((SECONDS - t0)) s"
}

smoke_test() { # build: --version must answer and name the build's version
	local v
	v=$("$CACHE/bin/qemu-$1" --version 2>&1 | head -n1) || die "bin/qemu-$1 --version failed: $v"
	[[ $v == "QEMU emulator version $1."* ]] || die "bin/qemu-$1 --version says: $v"
}

main() {
	case $MODE in
	check) cache_current; return ;;
	print-binary | print-wrapper)
		local b
		if ! b=$(resolve "$WHICH") || ! cache_current; then
			die "no current QEMU build '$WHICH' (run scenarios/qemu/setup.sh)"
		fi
		if [[ $MODE == print-binary ]]; then
			echo "$CACHE/$b/usr/bin/qemu-system-x86_64"
		else
			echo "$CACHE/bin/qemu-$b"
		fi
		return ;;
	esac
	[[ $(id -u) == 0 ]] || die "needs root (mmdebstrap --mode=root, apt-get)"
	mkdir -p "$CACHE"
	# one setup at a time: parallel callers may all find the cache stale
	exec 9>"$CACHE"/.lock
	flock 9
	if [[ $REFRESH == 1 ]] || ! cache_current; then
		install_host_packages
		rm -f "$CACHE"/inputs.sha256
		build
		smoke_test "$(resolve ref)"
		smoke_test "$(resolve old)"
		inputs_hash >"$CACHE"/inputs.sha256
	fi
	local ref old
	ref=$(resolve ref) old=$(resolve old)
	log "ready: bin/qemu-$ref (ref) -> $CACHE/$ref/usr/bin/qemu-system-x86_64;" \
		"bin/qemu-$old (old) -> $CACHE/$old/usr/bin/qemu-system-x86_64"
}

main
