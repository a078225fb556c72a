#!/bin/bash
# The irqfd part of `make bench`, run where /dev/kvm is (inside L1 here):
# irqfd_bench unprobed and under `cpr-verify record`, alternating, so both
# halves of a pair see the same machine state; at line rate also under each
# peer (peers.sh: trace-cmd, perf, bpftrace), each with an unprobed run of
# its own right before it; paced runs under the full plan and under the
# KVM stages alone (--deny syscall). Raw key=value lines go to OUT/irqfd.raw;
# bench.sh turns them into the table.
#
#   irqfd.sh BUILD OUT
#   BENCH_PAIRS (7), BENCH_SECONDS (2), BENCH_THREADS ("1 2"),
#   BENCH_RATES ("100000 1000000"; set and empty: no paced runs),
#   BENCH_RATE_PAIRS (3),
#   BENCH_PEERS ("trace-cmd perf bpftrace-printf bpftrace-count"; empty: none)
set -u
B=$1 OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
PAIRS=${BENCH_PAIRS:-7} SECS=${BENCH_SECONDS:-2}
THREADS=${BENCH_THREADS:-1 2} RATES=${BENCH_RATES-100000 1000000}
RATE_PAIRS=${BENCH_RATE_PAIRS:-3}
RAW=$OUT/irqfd.raw
: >"$RAW"
# the trace goes to local scratch: in L1, $OUT is 9p and its write cost
# would be charged to the recorder
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/cprv-bench.XXXXXX") || exit 6
# shellcheck source=tools/bench/peers.sh
. "$HERE/peers.sh"
PEERS=${BENCH_PEERS-$PEERS_ALL}
trap 'peers_cleanup; rm -rf "$SCRATCH"' EXIT
trap 'exit 130' INT TERM

if [ ! -c /dev/kvm ]; then
	echo "irqfd.sh: no /dev/kvm here: cannot measure the irqfd path" >&2
	exit 5
fi
lane=native
[ "${L1_RUN:-}" = 1 ] && lane=l1-tcg
echo "lane=$lane kernel=$(uname -r) cpus=$(nproc)" >"$OUT/irqfd.env"

# one unprobed run: its line, tagged with the mode of the run it pairs with
unprobed() { # for tag args...
	local for=$1 tag=$2; shift 2
	local line
	line=$("$B/bench/irqfd_bench" "$@") || { echo "irqfd_bench failed ($tag)" >&2; return 1; }
	echo "$tag mode=unprobed for=$for $line" >>"$RAW"
}

# record's closing line in FILE (its stderr) as "EVENTS DROPS BYTES", or
# nothing: "cpr-verify: TRACE: N events, D dropped, B bytes (x bytes/event),
# S s; stopped: R". Also for the cprv-kvm peer (peers.sh).
record_totals() { # FILE
	sed -nE 's/.*: ([0-9]+) events, ([0-9]+) dropped, ([0-9]+) bytes.*/\1 \2 \3/p' "$1" | tail -1
}

# one run under the recorder: irqfd_bench's line + record's summary + the
# recorder's whole-process rusage (its children included, see runstat.c)
probed() { # tag args...
	local tag=$1; shift
	local line rs ev drops bytes
	rm -f "$SCRATCH/rec.cprv" "$OUT/rec.out" "$OUT/rec.err" "$OUT/rec.rs"
	# shellcheck disable=SC2086 # REC_OPTS: extra record options, split
	"$B/bench/runstat" -o "$OUT/rec.rs" -- "$B/cpr-verify" record -q ${REC_OPTS:-} -o "$SCRATCH/rec.cprv" -- \
		"$B/bench/irqfd_bench" "$@" --watch-parent >"$OUT/rec.out" 2>"$OUT/rec.err" ||
		{ echo "record failed ($tag):" >&2; tail -5 "$OUT/rec.err" >&2; return 1; }
	line=$(grep '^threads=' "$OUT/rec.out" | tail -1)
	[ -n "$line" ] || { echo "no result line from irqfd_bench under record ($tag)" >&2; return 1; }
	read -r ev drops bytes < <(record_totals "$OUT/rec.err")
	rs=$(sed 's/\([a-z_]*\)=/rec_\1=/g' "$OUT/rec.rs")
	echo "$tag mode=probed $line rec_events=${ev:-0} rec_drops=${drops:-0} rec_bytes=${bytes:-0} $rs" >>"$RAW"
}

fail=0
t_peers=0
for t in $THREADS; do
	for i in $(seq 1 "$PAIRS"); do
		echo "irqfd: line rate, $t thread(s), pair $i/$PAIRS" >&2
		unprobed probed "kind=line threads=$t pair=$i" -t "$t" -d "$SECS" || fail=1
		probed "kind=line threads=$t pair=$i" -t "$t" -d "$SECS" || fail=1
		# each peer right after an unprobed run of its own; a peer that
		# cannot run leaves a line saying why (its row says it), not a failure
		for m in $PEERS; do
			p0=$(date +%s.%N)
			echo "irqfd: line rate, $t thread(s), pair $i/$PAIRS: $m" >&2
			if peer_ensure "$m"; then
				unprobed "$m" "kind=line threads=$t pair=$i" -t "$t" -d "$SECS" || fail=1
			fi
			peer_run "$m" "kind=line threads=$t pair=$i" -t "$t" -d "$SECS"
			t_peers=$(awk -v a="$t_peers" -v b="$p0" -v c="$(date +%s.%N)" 'BEGIN { printf "%.1f", a + c - b }')
		done
	done
done
[ -n "$PEERS" ] && echo "peers_s=$t_peers peers=$(tr ' ' ',' <<<"$PEERS")" >>"$OUT/irqfd.env"
# Under TCG a core does a fraction of native work: also pace at the same
# share of this lane's line rate as 100k MSI/s is of the native one in
# PEERS.md (2.44 M), a native-equivalent load.
if [ "$lane" = l1-tcg ] && [ -z "${BENCH_RATES+set}" ]; then
	eq=$(awk '/kind=line threads=1 .*mode=unprobed/ { for (i = 1; i <= NF; i++) if ($i ~ /^msi_per_s=/) { v[++n] = substr($i, 11) + 0 } }
		END { if (!n) exit; for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] > v[j]; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
		      printf "%d", (n % 2 ? v[(n+1)/2] : (v[n/2] + v[n/2+1]) / 2) * 100000 / 2440000 }' "$RAW")
	[ -n "$eq" ] && [ "$eq" -gt 0 ] && RATES="$eq $RATES"
	echo "native_equivalent_rate=${eq:-}" >>"$OUT/irqfd.env"
fi
for r in $RATES; do
	for i in $(seq 1 "$RATE_PAIRS"); do
		echo "irqfd: paced $r MSI/s, pair $i/$RATE_PAIRS" >&2
		unprobed probed "kind=paced rate=$r pair=$i" -t 1 -r "$r" -d "$SECS" || fail=1
		probed "kind=paced rate=$r pair=$i" -t 1 -r "$r" -d "$SECS" || fail=1
		# the peers' two KVM stages alone (--deny syscall), as cprv-kvm
		echo "irqfd: paced $r MSI/s, pair $i/$RATE_PAIRS: KVM stages" >&2
		unprobed probed "kind=paced-kvm rate=$r pair=$i" -t 1 -r "$r" -d "$SECS" || fail=1
		REC_OPTS="--deny syscall" probed "kind=paced-kvm rate=$r pair=$i" -t 1 -r "$r" -d "$SECS" || fail=1
	done
done
rm -f "$SCRATCH/rec.cprv"
exit $fail
