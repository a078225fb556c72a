# irqfd.raw (key=value lines from irqfd.sh) -> table rows "| measure | value | note |".
# Pairs are kept together: a ratio is probed/unprobed of the same pair, and
# every figure is the median over the pairs. lane: native or l1-tcg.

function median(arr, n,    i, j, t, b) {
	if (n == 0)
		return "nan"
	for (i = 1; i <= n; i++)
		b[i] = arr[i] + 0
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && b[j - 1] > b[j]; j--) {
			t = b[j]; b[j] = b[j - 1]; b[j - 1] = t
		}
	return n % 2 ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
}

function human(x) {
	if (x == "nan")
		return "n/a"
	if (x >= 1e6)
		return sprintf("%.2f M", x / 1e6)
	if (x >= 1e3)
		return sprintf("%.1f k", x / 1e3)
	return sprintf("%.0f", x)
}

function row(m, v, n) {
	printf "| %s | %s | %s |\n", m, v, n
}

{
	delete f
	for (i = 1; i <= NF; i++) {
		k = $i; sub(/=.*/, "", k)
		v = $i; sub(/^[^=]*=/, "", v)
		f[k] = v
	}
	key = f["kind"] == "line" ? "line:" f["threads"] : "paced:" f["rate"]
	keys[key] = 1
	p = f["pair"]
	if (f["mode"] == "unprobed") {
		u_rate[key, p] = f["msi_per_s"]
		u_cpu[key, p] = f["writer_cpu_ns"]
		u_cpm[key, p] = f["cpu_ns_per_msi"]
	} else {
		p_rate[key, p] = f["msi_per_s"]
		p_cpu[key, p] = f["writer_cpu_ns"]
		p_cpm[key, p] = f["cpu_ns_per_msi"]
		p_par[key, p] = f["parent_cpu_ns"]
		p_dur[key, p] = f["duration_s"]
		p_msis[key, p] = f["msis"]
		p_ev[key, p] = f["rec_events"]
		p_drop[key, p] = f["rec_drops"]
		p_bytes[key, p] = f["rec_bytes"]
		p_rcpu[key, p] = f["rec_user_s"] + f["rec_sys_s"]
		p_pcpu[key, p] = f["proc_cpu_ns"]
		p_wall[key, p] = f["rec_wall_s"]
		if (f["parent"] != "cpr-verify")
			bad_parent = f["parent"]
	}
	if (p > npairs[key])
		npairs[key] = p
}

END {
	tcg = lane == "l1-tcg" ? "L1 under QEMU TCG: absolute rates not comparable with PEERS.md (native), ratios are" : "native"
	for (t = 1; t <= 2; t++) {
		key = "line:" t
		if (!(key in keys))
			continue
		n = 0; delete r; delete ur; delete pr; delete dc; delete rc; delete dr; delete bpe; delete epm
		maxdrop = 0
		for (p = 1; p <= npairs[key]; p++) {
			if (!((key, p) in u_rate) || !((key, p) in p_rate) || u_rate[key, p] <= 0)
				continue
			n++
			ur[n] = u_rate[key, p]; pr[n] = p_rate[key, p]
			r[n] = p_rate[key, p] / u_rate[key, p]
			# writers spin: CPU per MSI in the writers, probed minus unprobed
			dc[n] = p_cpm[key, p] - u_cpm[key, p]
			rc[n] = p_msis[key, p] > 0 ? p_par[key, p] / p_msis[key, p] : 0
			dr[n] = p_drop[key, p]
			if (p_drop[key, p] > maxdrop)
				maxdrop = p_drop[key, p]
			bpe[n] = p_ev[key, p] > 0 ? p_bytes[key, p] / p_ev[key, p] : 0
			epm[n] = p_msis[key, p] > 0 ? p_ev[key, p] / p_msis[key, p] : 0
		}
		tn = t " writer" (t > 1 ? "s" : "")
		row("irqfd line rate, " tn ": unprobed", human(median(ur, n)) " MSI/s", "median of " n "; " tcg)
		row("irqfd line rate, " tn ": under record", human(median(pr, n)) " MSI/s", "median of " n)
		row("irqfd line rate, " tn ": ratio", sprintf("%.3f", median(r, n)), "median of per-pair ratios (target >= 0.60)")
		row("irqfd line rate, " tn ": added writer CPU-ns/MSI", sprintf("%.0f", median(dc, n)), "BPF programs + ring buffer, in the writer; TCG ns")
		row("irqfd line rate, " tn ": recorder CPU-ns/MSI", sprintf("%.0f", median(rc, n)), "user-space consumer, measured over the window")
		row("irqfd line rate, " tn ": drops", sprintf("%d (max), %d (median)", maxdrop, median(dr, n)), "target 0")
		row("irqfd line rate, " tn ": events/MSI", sprintf("%.2f", median(epm, n)), "records written per MSI")
		row("irqfd line rate, " tn ": bytes/event", sprintf("%.2f", median(bpe, n)), "trace file / events (target <= 4)")
	}
	nr = 0
	for (key in keys)
		if (key ~ /^paced:/)
			rates[++nr] = substr(key, 7) + 0
	for (i = 2; i <= nr; i++)
		for (j = i; j > 1 && rates[j - 1] > rates[j]; j--) {
			t = rates[j]; rates[j] = rates[j - 1]; rates[j - 1] = t
		}
	for (ri = 1; ri <= nr; ri++) {
		rate = rates[ri]
		key = "paced:" rate
		lbl = "paced " human(rate) " MSI/s" (eqrate != "" && rate == eqrate + 0 ? " (native-equivalent of 100k)" : "")
		n = 0; delete fr; delete ach; delete uach; delete uw; delete pw; delete rp
		for (p = 1; p <= npairs[key]; p++) {
			if (!((key, p) in u_rate) || !((key, p) in p_rate))
				continue
			n++
			# per core: what the recorder process used over the window plus
			# the writer's extra CPU, as a share of one core's time
			add = p_par[key, p] + (p_cpu[key, p] - u_cpu[key, p])
			fr[n] = add / (p_dur[key, p] * 1e9)
			ach[n] = p_rate[key, p]
			uach[n] = u_rate[key, p]
			uw[n] = u_cpu[key, p] / (p_dur[key, p] * 1e9)
			pw[n] = p_cpu[key, p] / (p_dur[key, p] * 1e9)
			rp[n] = p_par[key, p] / (p_dur[key, p] * 1e9)
		}
		row(lbl ": achieved", human(median(uach, n)) " unprobed, " human(median(ach, n)) " under record", "MSI/s, median of " n (median(ach, n) < 0.95 * rate || median(uach, n) < 0.95 * rate ? "; RATE NOT REACHED on this lane: the writer is saturated" : ""))
		row(lbl ": cost added by cpr-verify", sprintf("%.2f%% of a core", 100 * median(fr, n)), sprintf("recorder process %.2f%%; writer %.2f%% unprobed, %.2f%% probed (target < 2%% at 100k)", 100 * median(rp, n), 100 * median(uw, n), 100 * median(pw, n)))
	}
	if (bad_parent != "")
		row("warning", "parent was " bad_parent, "recorder CPU is not the recorder's")
}
