#!/bin/bash
# `make bench` (issue 7): what cpr-verify costs, measured side by side in one
# run and printed as one table. Numbers only: nothing here passes or fails on
# a figure (tools/bench/README.md says what each one means).
#
#   tools/bench/bench.sh [BUILD]
#
#   BENCH_ONLY      parts to run, comma separated: irqfd,analysis,e2e (default all)
#   BENCH_EVENTS    events in the synthetic trace for `report` (default 10000000;
#                   BENCH_EVENTS=100000000 for issue 7's 100M figure)
#   BENCH_REPORTS   times `report` runs over it (default 3): median and best
#   BENCH_PAIRS, BENCH_SECONDS, BENCH_THREADS, BENCH_RATES, BENCH_RATE_PAIRS,
#   BENCH_PEERS     see irqfd.sh (BENCH_PEERS: trace-cmd perf bpftrace-printf
#                   bpftrace-count by default, empty for none)
#   BENCH_OUT       where raw results go (default BUILD/bench/out; must be below
#                   the current directory, L1 writes there)
set -u
B=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
ONLY=${BENCH_ONLY:-irqfd,analysis,e2e}
EVENTS=${BENCH_EVENTS:-10000000}
REPORTS=${BENCH_REPORTS:-3}
OUT=${BENCH_OUT:-$B/bench/out}
mkdir -p "$OUT"
TABLE=$OUT/table.md
: >"$TABLE"

row() { printf '| %s | %s | %s |\n' "$1" "$2" "$3" >>"$TABLE"; }
want() { [[ ",$ONLY," == *",$1,"* ]]; }
kv() { sed -nE "s/.*(^| )$1=([^ ]*).*/\\2/p" "$2" | tail -1; }

for bin in cpr-verify bench/irqfd_bench bench/gentrace bench/runstat; do
	if [ ! -x "$B/$bin" ]; then
		echo "bench.sh: $B/$bin missing: run 'make bench'" >&2
		exit 6
	fi
done

# 1. The recorder on the irqfd path: where /dev/kvm is, else inside L1.
if want irqfd; then
	echo "== irqfd path" >&2
	if [ -c /dev/kvm ]; then
		"$HERE/irqfd.sh" "$B" "$OUT"
		rc=$?
	else
		# L1's / is this host's, read-only: install the peers here first
		(
			# shellcheck source=tools/bench/peers.sh
			. "$HERE/peers.sh"
			peers_install "${BENCH_PEERS-$PEERS_ALL}"
		)
		# l1-run passes no environment of its own accord: hand on BENCH_*
		# (BENCH_RATES and BENCH_PEERS mean something when set and empty)
		envs=()
		for v in BENCH_PAIRS BENCH_SECONDS BENCH_THREADS BENCH_RATES BENCH_RATE_PAIRS BENCH_PEERS; do
			[ -n "${!v+set}" ] && envs+=(--env "$v=${!v}")
		done
		"$ROOT/tools/l1-run" --mem 4G --timeout "${BENCH_L1_TIMEOUT:-2400}" "${envs[@]}" -- \
			"$HERE/irqfd.sh" "$B" "$OUT"
		rc=$?
	fi
	if [ -s "$OUT/irqfd.raw" ]; then
		lane=$(kv lane "$OUT/irqfd.env")
		row "irqfd lane" "$(grep -v '^peers_s=' "$OUT/irqfd.env" | tr '\n' ' ')" \
			"$([ "$lane" = l1-tcg ] && echo 'nested L1 under QEMU TCG: only ratios compare with PEERS.md' || echo 'this kernel')"
		awk -v lane="$lane" -v eqrate="$(kv native_equivalent_rate "$OUT/irqfd.env")" -f "$HERE/summarize.awk" "$OUT/irqfd.raw" >>"$TABLE"
		ps=$(kv peers_s "$OUT/irqfd.env")
		[ -n "$ps" ] && row "irqfd peers: bench time" "${ps} s" \
			"the peers' runs, their unprobed partners and counting their events ($(kv peers "$OUT/irqfd.env" | tr ',' ' '))"
	fi
	[ "$rc" = 0 ] || row "irqfd" "incomplete (exit $rc)" "see the messages above"
fi

# 2. The analysis: `report --json` over a synthetic rig-like trace.
if want analysis; then
	echo "== analysis: $EVENTS events" >&2
	trace=$OUT/synthetic.cprv
	rm -f "$trace" "$OUT/gen.rs" "$OUT/report.rs"
	if "$B/bench/runstat" -o "$OUT/gen.rs" -- "$B/bench/gentrace" -o "$trace" -n "$EVENTS" >"$OUT/gen.out"; then
		ev=$(kv events "$OUT/gen.out")
		size=$(stat -c %s "$trace")
		# a shared host's CPU speed wanders by tens of percent from one
		# second to the next: the same run repeated, median and best
		: >"$OUT/report.runs"
		for i in $(seq "$REPORTS"); do
			"$B/bench/runstat" -o "$OUT/report.rs" -- "$B/cpr-verify" report "$trace" --json >"$OUT/report.json"
			rc=$?
			echo "rc=$rc cpu=$(awk -v u="$(kv user_s "$OUT/report.rs")" -v s="$(kv sys_s "$OUT/report.rs")" \
				'BEGIN{print u+s}') wall=$(kv wall_s "$OUT/report.rs") rss=$(kv maxrss_kb "$OUT/report.rs")" \
				>>"$OUT/report.runs"
			[ "$rc" = 0 ] || break
		done
		verdict=$(grep -m1 -oE '"verdict": *"[A-Za-z_]+"' "$OUT/report.json" | sed -E 's/.*"([A-Za-z_]+)"/\1/')
		# median (upper), smallest and largest of a column of report.runs
		# (not named stat: that would hide the command for the rest)
		spread() { sed -nE "s/.*(^| )$1=([^ ]*).*/\2/p" "$OUT/report.runs" | sort -g |
			awk '{v[NR]=$1} END{printf "%s %s %s", v[int(NR/2)+1], v[1], v[NR]}'; }
		read -r cpu cpu_best _ <<<"$(spread cpu)"
		read -r wall wall_best _ <<<"$(spread wall)"
		read -r _ _ rss <<<"$(spread rss)"
		n=$(wc -l <"$OUT/report.runs")
		row "analysis: trace" "$ev events, $(awk -v s="$size" -v e="$ev" 'BEGIN{printf "%.1f MB, %.2f bytes/event", s/1e6, s/e}')" \
			"gentrace, 4 vectors, 1 cpr-transfer; BENCH_EVENTS=$EVENTS"
		row "analysis: report --json wall" "${wall}s" "median of $n runs (best ${wall_best}s); exit $rc, verdict ${verdict:-?}"
		row "analysis: events/s per core" \
			"$(awk -v e="$ev" -v c="$cpu" 'BEGIN{printf "%.2f M", e/c/1e6}')" \
			"events / user+sys CPU, median of $n runs (${cpu}s; best $(awk -v e="$ev" -v c="$cpu_best" 'BEGIN{printf "%.2f M", e/c/1e6}')); target >= 20 M"
		row "analysis: events/s wall" "$(awk -v e="$ev" -v w="$wall" 'BEGIN{printf "%.2f M", e/w/1e6}')" "median"
		row "analysis: peak RSS" "$(awk -v k="$rss" 'BEGIN{printf "%.1f MiB", k/1024}')" "maxrss of cpr-verify report, largest of the runs"
		rm -f "$trace"
	else
		row "analysis" "gentrace failed" "see the messages above"
	fi
fi

# 3. End to end: `cpr-verify run` (default scenario) from start to verdict.
if want e2e; then
	echo "== end to end: cpr-verify run" >&2
	rm -rf "$OUT/run" "$OUT/run.rs"
	"$B/bench/runstat" -o "$OUT/run.rs" -- "$B/cpr-verify" run -o "$OUT/run" >"$OUT/run.txt" 2>"$OUT/run.err"
	rc=$?
	lane=host
	[ -c /dev/kvm ] || lane="nested (L1 boot included)"
	row "end to end: cpr-verify run (rig-default)" "$(kv wall_s "$OUT/run.rs")s wall" \
		"exit $rc, $(head -1 "$OUT/run.txt" | cut -d';' -f1 | cut -c1-60); lane $lane $(grep -oE 'boot [0-9.]+ s, command [0-9.]+ s' "$OUT/run.err" | tail -1)"
fi

echo
echo "| measure | value | note |"
echo "|---|---|---|"
cat "$TABLE"
