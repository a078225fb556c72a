#!/bin/sh
# The HTML report in a real browser (issue 6). Generates a clean, a faulty
# (lost and duplicate MSIs on several vectors), a partial (injection stage
# blind) and a gate report from evseq traces (build/tests/test_report_html
# --write), loads each in headless Chromium and fails unless:
#   - the page logs nothing to the console (no error, no CSP refusal: the
#     page must not try to load anything);
#   - the rendered DOM's text shows the verdict line, the counts and every
#     line of each lost and duplicate MSI's chain;
#   - a screenshot was written (build/html-test/*.png).
# A control page with a deliberate console error proves the console check
# can fail.
#
# usage: tests/html-chromium.sh [BUILD_DIR]   (default: build)
set -eu

BUILD=${1:-build}
OUT=$BUILD/html-test
GEN=$BUILD/tests/test_report_html

fail() {
	echo "html-chromium: FAIL: $*" >&2
	exit 1
}

if ! command -v chromium >/dev/null 2>&1; then
	[ "$(id -u)" = 0 ] || fail "chromium is not installed, and installing it needs root"
	echo "html-chromium: installing Debian's chromium (apt-get --no-install-recommends)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium \
		>/dev/null || fail "apt-get install chromium failed"
fi
[ -x "$GEN" ] || fail "$GEN is missing: run make first"

rm -rf "$OUT"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
"$GEN" --write "$OUT" || fail "$GEN --write could not generate the pages"

PROFILES=$(mktemp -d)
trap 'rm -rf "$PROFILES"' EXIT INT TERM

# One Chromium run, a fresh profile each time, stderr (its log) to $1.
chrome() {
	log=$1
	shift
	timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic \
		--no-first-run --disable-background-networking --disable-component-update \
		--disable-sync --user-data-dir="$(mktemp -d -p "$PROFILES")" \
		--enable-logging=stderr --v=0 "$@" 2>>"$log"
}

# Console output of the page: Chromium logs it as INFO:CONSOLE lines.
console_lines() {
	grep -E 'CONSOLE|Uncaught|Refused to' "$1" || true
}

# The DOM as text: tags to spaces, entities decoded, blanks collapsed.
dom_text() {
	sed -e 's/<[^>]*>/ /g' -e 's/&nbsp;/ /g' -e 's/&lt;/</g' -e 's/&gt;/>/g' \
	    -e 's/&quot;/"/g' -e "s/&#39;/'/g" -e 's/&amp;/\&/g' "$1" | tr -s ' \t\n' '   '
}

# Control: a page that does log to the console must be caught.
printf '<!DOCTYPE html><html><body><script>console.error("cprv-control")</script></body></html>\n' \
	>"$OUT/control.html"
: >"$OUT/control.log"
chrome "$OUT/control.log" --dump-dom "file://$OUT/control.html" >/dev/null ||
	fail "chromium did not run (see $OUT/control.log)"
console_lines "$OUT/control.log" | grep -q cprv-control ||
	fail "the console check cannot see console errors (see $OUT/control.log)"

for page in clean faulty partial gate; do
	html=$OUT/$page.html
	log=$OUT/$page.log
	: >"$log"
	chrome "$log" --dump-dom "file://$html" >"$OUT/$page.dom" ||
		fail "$page: chromium --dump-dom failed (see $log)"
	chrome "$log" --screenshot="$OUT/$page.png" --window-size=1400,2000 "file://$html" \
		>/dev/null || fail "$page: chromium --screenshot failed (see $log)"
	[ -s "$OUT/$page.png" ] || fail "$page: no screenshot written"
	errs=$(console_lines "$log")
	[ -z "$errs" ] || fail "$page: the page logged to the console:
$errs"
	grep -q '</body>' "$OUT/$page.dom" || fail "$page: the DOM dump is incomplete"
	dom_text "$OUT/$page.dom" >"$OUT/$page.txt"
	n=0
	while IFS= read -r want; do
		[ -n "$want" ] || continue
		grep -qF -- "$want" "$OUT/$page.txt" ||
			fail "$page: the rendered page does not show: $want"
		n=$((n + 1))
	done <"$OUT/$page.expect"
	[ "$n" -ge 4 ] || fail "$page: only $n expected strings (generator broken?)"
	echo "html-chromium: $page: no console output, $n expected strings shown," \
		"$(wc -c <"$html") bytes, screenshot $OUT/$page.png"
done
echo "html-chromium: PASS"
