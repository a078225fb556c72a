# shellcheck shell=bash
# The peers of `make bench` (issue 7): irqfd_bench under the tools people use
# today, recording the same two KVM stages cpr-verify records on this path,
# kvm:kvm_msi_set_irq and kvm:kvm_apic_accept_irq (1 MSI = 2 events). Sourced
# by irqfd.sh, which alternates each peer run with an unprobed one.
#
#   cprv-kvm         cpr-verify record --deny syscall -o FILE -- BENCH: cpr-verify
#                    itself on the same stages (the eventfd write hooks are
#                    syscall tracepoints; without them it sees what the
#                    peers see), its row beside theirs
#   trace-cmd        trace-cmd record -d --no-filter -e ... -e ... -o FILE -- BENCH
#   perf             perf record -a -e ... -e ... -o FILE -- BENCH
#   bpftrace-printf  bpftrace -o FILE -c BENCH -e '<printf per event>'
#   bpftrace-count   bpftrace -o FILE -c BENCH -e '<count() per vector>'
#
# A missing tool is installed from Debian (apt-get, quietly; it says so).
# Needs B (build dir), OUT, SCRATCH, RAW and record_totals from irqfd.sh.
#
# Each run appends one line to RAW:
#   TAG mode=MODE <irqfd_bench's line> peer_events=N peer_events_all=A
#       peer_drops=D|- peer_bytes=B|- peer_raw_bytes=R|- tool_cpu_ns=C
#       tool_wall_s=.. tool_user_s=.. ...
# or, when it could not run,
#   TAG mode=MODE why=REASON (the rest of the line)
# peer_events_all: the events the tool wrote, every KVM user of the host's
# (the tools trace system-wide); peer_events: those of irqfd_bench (comm
# irqfd_bench for trace-cmd and perf, bpftrace's child pid for printf; all
# for count(), whose per-vector counts cannot tell). irqfd_bench makes MSIs
# only inside its window, so a lossless tool records 2 x msis of its own.
# peer_drops: what the tool itself says it lost; tool_cpu_ns:
# the tool's CPU over its whole run (wait4 of the tool with its children,
# less irqfd_bench's own CPU), its start and stop included.

PEERS_ALL="cprv-kvm trace-cmd perf bpftrace-printf bpftrace-count"
PEER_EVENTS="kvm:kvm_msi_set_irq kvm:kvm_apic_accept_irq"

peer_tracefs() {
	local d
	for d in /sys/kernel/tracing /sys/kernel/debug/tracing; do
		[ -e "$d/events" ] && { echo "$d"; return 0; }
	done
	return 1
}

peer_tool() {
	case $1 in
	cprv-kvm) echo cpr-verify ;;
	trace-cmd) echo trace-cmd ;;
	perf) echo perf ;;
	bpftrace-printf | bpftrace-count) echo bpftrace ;;
	*) return 1 ;;
	esac
}

peer_pkg() {
	case $1 in
	trace-cmd) echo trace-cmd ;;
	perf) echo linux-perf ;;
	bpftrace-printf | bpftrace-count) echo bpftrace ;;
	*) return 1 ;;
	esac
}

peer_runs() { # tool: it is there and tells its version (perf's Debian
	# wrapper fails there when no perf matches the kernel; trace-cmd
	# --version exits 1)
	command -v "$1" >/dev/null 2>&1 && "$1" --version 2>&1 | grep -qiE 'version|v[0-9]+\.[0-9]'
}

# peer_ensure MODE: 0 when MODE's tool can run here, after installing its
# Debian package if it is missing; else 1 and PEER_WHY says why.
PEER_APT_UPDATED=
declare -A PEER_BROKEN=()
peer_ensure() {
	local mode=$1 tool t e
	PEER_WHY=
	tool=$(peer_tool "$mode") || { PEER_WHY="unknown peer '$mode' (known: $PEERS_ALL)"; return 1; }
	# cpr-verify is ours: built, never installed
	if [ "$mode" = cprv-kvm ]; then
		[ -x "$B/cpr-verify" ] && return 0
		PEER_WHY="$B/cpr-verify is not built"
		return 1
	fi
	if [ -n "${PEER_BROKEN[$tool]:-}" ]; then
		PEER_WHY=${PEER_BROKEN[$tool]}
		return 1
	fi
	if ! __peer_install "$mode" "$tool"; then
		PEER_BROKEN[$tool]=$PEER_WHY
		return 1
	fi
	[ -n "${PEER_INSTALL_ONLY:-}" ] && return 0
	t=$(peer_tracefs) || { PEER_WHY="no tracefs (events) mounted"; return 1; }
	for e in $PEER_EVENTS; do
		[ -d "$t/events/${e%%:*}/${e#*:}" ] || { PEER_WHY="no tracepoint $e in this kernel"; return 1; }
	done
	return 0
}

__peer_install() {
	local mode=$1 tool=$2 pkg log
	pkg=$(peer_pkg "$mode")
	if ! peer_runs "$tool"; then
		if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
			PEER_WHY="$tool is not installed and apt-get cannot install $pkg here (not root or no apt-get)"
			return 1
		fi
		log=${SCRATCH:-/tmp}/apt-$pkg.log
		echo "irqfd: $tool missing: installing Debian package $pkg (apt-get install -qq $pkg)" >&2
		export DEBIAN_FRONTEND=noninteractive
		if ! apt-get install -y -qq --no-install-recommends "$pkg" >"$log" 2>&1; then
			# a fresh machine's package lists may be stale or empty
			if [ -z "$PEER_APT_UPDATED" ]; then
				PEER_APT_UPDATED=1
				echo "irqfd: apt-get update, then $pkg again" >&2
				apt-get update -qq >>"$log" 2>&1
			fi
			if ! apt-get install -y -qq --no-install-recommends "$pkg" >>"$log" 2>&1; then
				PEER_WHY="apt-get install $pkg failed: $(grep -E '^(E|W):' "$log" | tail -1)"
				[ "${L1_RUN:-}" = 1 ] && PEER_WHY="$PEER_WHY (L1's / is the host's, read-only: bench.sh installs peers on the host first)"
				return 1
			fi
		fi
		peer_runs "$tool" || { PEER_WHY="$pkg installed, but $tool does not run"; return 1; }
		echo "irqfd: installed $pkg ($($tool --version 2>&1 | grep -iE 'version|v[0-9]' | head -1))" >&2
	fi
	return 0
}

# Install every peer tool in $1 that is missing (bench.sh, on the host,
# before L1, whose / is the host's and read-only). Failures are reported
# by the runs themselves.
peers_install() {
	local m
	for m in $1; do
		PEER_INSTALL_ONLY=1 peer_ensure "$m" || echo "irqfd: peer $m: $PEER_WHY" >&2
	done
}

# trace-cmd cannot clean up after itself on this kernel (see README): it
# dies on set_ftrace_filter before restoring tracing_on, and leaves the
# tracer state it set. Save what it touches; put it back after every run,
# the events it enabled off first.
PEER_TC_ACTIVE=
peer_tc_save() {
	local t
	t=$(peer_tracefs) || return 0
	PEER_TC_T=$t
	PEER_TC_ON=$(cat "$t/tracing_on" 2>/dev/null)
	PEER_TC_FT=$(cat "$t/options/function-trace" 2>/dev/null)
	PEER_TC_EV=$(cat "$t/set_event" 2>/dev/null)
	PEER_TC_ACTIVE=1
}

peer_tc_restore() {
	local t=${PEER_TC_T:-} e ev
	[ -n "$PEER_TC_ACTIVE" ] && [ -n "$t" ] || return 0
	for e in $PEER_EVENTS; do
		echo 0 >"$t/events/${e%%:*}/${e#*:}/enable" 2>/dev/null
	done
	# events someone else had enabled (trace-cmd clears them all)
	while read -r ev; do
		[ -n "$ev" ] && echo "$ev" >>"$t/set_event" 2>/dev/null
	done <<<"$PEER_TC_EV"
	[ -n "$PEER_TC_FT" ] && echo "$PEER_TC_FT" >"$t/options/function-trace" 2>/dev/null
	[ -n "$PEER_TC_ON" ] && echo "$PEER_TC_ON" >"$t/tracing_on" 2>/dev/null
	PEER_TC_ACTIVE=
}

peers_cleanup() { peer_tc_restore; }

peer_fail() { # tag mode reason
	echo "irqfd: peer $2 ($1): $3" >&2
	echo "$1 mode=$2 why=$3" >>"$RAW"
}

# peer_run MODE TAG ARGS...: irqfd_bench ARGS under MODE; one line to RAW.
# Returns 1 when the peer could not run (the line then says why).
peer_run() {
	local mode=$1 tag=$2
	shift 2
	local d=$SCRATCH/peer out=$OUT/peer.out err=$OUT/peer.err rs=$OUT/peer.rs
	local bench=("$B/bench/irqfd_bench" "$@" --watch-parent)
	local rc line ev evall drops bytes raw try prog pcpu rsl tcpu why
	if ! peer_ensure "$mode"; then
		peer_fail "$tag" "$mode" "$PEER_WHY"
		return 1
	fi
	for try in 1 2 3; do
		rm -rf "$d" && mkdir -p "$d" || return 1
		rm -f "$out" "$err" "$rs"
		ev='' evall='' drops=- bytes=- raw=- why=''
		case $mode in
		cprv-kvm)
			"$B/bench/runstat" -o "$rs" -- "$B/cpr-verify" record -q --deny syscall -o "$d/rec.cprv" -- \
				"${bench[@]}" >"$out" 2>"$err"
			rc=$?
			read -r ev drops bytes < <(record_totals "$err")
			if [ "$rc" != 0 ] || [ -z "$ev" ]; then
				why="cpr-verify record --deny syscall exit $rc: $(grep -v '^ *$' "$err" | tail -2 | tr '\n' ' ')"
			fi
			# it records irqfd_bench's MSIs and the canary's: all its own
			evall=$ev
			;;
		trace-cmd)
			# -d: no function tracer (the kernel refuses ftrace_enabled);
			# --no-filter: no set_ftrace_pid (EPERM here). It records,
			# writes FILE, then dies (exit 1) clearing set_ftrace_filter.
			peer_tc_save
			"$B/bench/runstat" -o "$rs" -- trace-cmd record -d --no-filter -o "$d/trace.dat" \
				-e kvm:kvm_msi_set_irq -e kvm:kvm_apic_accept_irq -- "${bench[@]}" >"$out" 2>"$err"
			rc=$?
			peer_tc_restore
			if [ "$rc" != 0 ] && ! { [ "$rc" = 1 ] && grep -q "opening to '.*set_ftrace_filter'" "$err" && [ -s "$d/trace.dat" ]; }; then
				why="trace-cmd record exit $rc: $(grep -v '^ *$' "$err" | tail -2 | tr '\n' ' ')"
			else
				# "  irqfd_bench-1234 [001] 2158.519350: kvm_msi_set_irq: address=.. data=.."
				read -r ev evall < <(trace-cmd report -R -N -i "$d/trace.dat" 2>/dev/null |
					awk '$4 ~ /^kvm_(msi_set_irq|apic_accept_irq):$/ { a++; if ($1 ~ /^irqfd_bench-[0-9]+$/) o++ }
					     END { print o + 0, a + 0 }')
				drops=$(trace-cmd report --stat -i "$d/trace.dat" 2>/dev/null |
					awk '/^(overrun|commit overrun|dropped events):/ { s += $NF } END { print s + 0 }')
				bytes=$(stat -c %s "$d/trace.dat")
				# "N bytes in size (M uncompressed)" per CPU: the ring buffer pages
				raw=$(sed -nE 's/.* bytes in size \(([0-9]+) uncompressed\).*/\1/p' "$err" | awk '{ s += $1 } END { print s + 0 }')
			fi
			;;
		perf)
			"$B/bench/runstat" -o "$rs" -- perf record -a -e kvm:kvm_msi_set_irq -e kvm:kvm_apic_accept_irq \
				-o "$d/perf.data" -- "${bench[@]}" >"$out" 2>"$err"
			rc=$?
			if [ "$rc" != 0 ] || [ ! -s "$d/perf.data" ]; then
				why="perf record exit $rc: $(grep -v '^ *$' "$err" | tail -2 | tr '\n' ' ')"
			else
				# "[ perf record: Captured and wrote X MB FILE (N samples) ]"
				evall=$(sed -nE 's/.*perf record: Captured and wrote .*\(([0-9]+) samples\).*/\1/p' "$err" | tail -1)
				# samples per comm, per event: "  100.00%   359013  irqfd_bench"
				ev=$(perf report -i "$d/perf.data" --stdio -s comm -n 2>/dev/null |
					awk '$1 ~ /%$/ && $3 == "irqfd_bench" { s += $2 } END { print s + 0 }')
				# lost samples per event, as perf report --stats counts them
				drops=$(perf report -i "$d/perf.data" --stats 2>/dev/null |
					awk '/^[^ ].* stats:$/ && !/^Aggregated/ { in_ev = 1 } in_ev && /LOST_SAMPLES events:/ { s += $3 } END { print s + 0 }')
				bytes=$(stat -c %s "$d/perf.data")
			fi
			;;
		bpftrace-printf | bpftrace-count)
			if [ "$mode" = bpftrace-printf ]; then
				prog='BEGIN { printf("cpid %d\n", cpid); }
tracepoint:kvm:kvm_msi_set_irq { printf("%llu %d msi %llx %llx\n", nsecs, pid, args->address, args->data); }
tracepoint:kvm:kvm_apic_accept_irq { printf("%llu %d accept %u %u\n", nsecs, pid, args->apicid, args->vec); }'
			else
				prog='tracepoint:kvm:kvm_msi_set_irq { @msi[args->data & 0xff] = count(); }
tracepoint:kvm:kvm_apic_accept_irq { @accept[args->vec] = count(); }'
			fi
			# irqfd_bench's line goes to bpftrace's stdout (OUT), the
			# tool's output to FILE
			"$B/bench/runstat" -o "$rs" -- bpftrace -o "$d/bt.out" -c "${bench[*]}" -e "$prog" >"$out" 2>"$err"
			rc=$?
			if [ "$rc" != 0 ] || [ ! -e "$d/bt.out" ]; then
				why="bpftrace exit $rc: $(grep -v '^ *$' "$err" | grep -v RLIMIT_MEMLOCK | tail -2 | tr '\n' ' ')"
			elif [ "$mode" = bpftrace-printf ]; then
				read -r ev evall bytes < <(awk '$1 == "cpid" { c = $2 } $3 ~ /^(msi|accept)$/ { a++; b += length($0) + 1; if ($2 == c) o++ }
					END { print o + 0, a + 0, b + 0 }' "$d/bt.out")
				drops=$(cat "$d/bt.out" "$err" | sed -nE 's/^Lost ([0-9]+) events.*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
			else
				# "@msi[48]: 736512": the maps, printed at exit
				ev=$(sed -nE 's/^@(msi|accept)\[[0-9]+\]: ([0-9]+)$/\2/p' "$d/bt.out" | awk '{ s += $1 } END { print s + 0 }')
				evall=$ev
			fi
			;;
		esac
		line=$(grep '^threads=' "$out" | tail -1)
		[ -z "$why" ] && [ -z "$line" ] && why="no result line from irqfd_bench under $mode (exit $rc): $(tail -1 "$err")"
		[ -z "$why" ] && break
		# trace-cmd copies /proc/kallsyms into its file and fails when it
		# changes meanwhile (BPF programs loaded by others): try again, 3 in all
		grep -q "error in size of file" "$err" && [ "$try" -lt 3 ] && { echo "irqfd: $mode: $why; again" >&2; continue; }
		break
	done
	if [ -n "$why" ]; then
		rm -rf "$d"
		peer_fail "$tag" "$mode" "$why"
		return 1
	fi
	# the tool's CPU: whole run, children included (trace-cmd's recorders
	# are processes), less irqfd_bench's own
	pcpu=$(sed -nE 's/.*proc_cpu_ns=([0-9]+).*/\1/p' <<<"$line")
	tcpu=$(awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
		END { printf "%.0f", (v["user_s"] + v["sys_s"]) * 1e9 - '"${pcpu:-0}"' }' "$rs")
	rsl=$(sed 's/\([a-z_]*\)=/tool_\1=/g' "$rs")
	echo "$tag mode=$mode $line peer_events=${ev:-0} peer_events_all=${evall:-0} peer_drops=$drops peer_bytes=$bytes peer_raw_bytes=$raw tool_cpu_ns=$tcpu $rsl" >>"$RAW"
	rm -rf "$d"
	return 0
}
