# irqfd.raw (key=value lines from irqfd.sh) -> table rows "| measure | value | note |".
# Pairs are kept together: a ratio is probed/unprobed of the same pair, and
# every figure is the median over the pairs. lane: native or l1-tcg.
# mode=probed is cpr-verify record; mode=unprobed lines name the run they
# pair with (for=probed|PEER); the peers (peers.sh) get one row per mode and
# thread count, or a row saying why they could not run.

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

function peer_label(m) {
	if (m == "cprv-kvm")
		return "cpr-verify record --deny syscall (the peers' 2 KVM stages)"
	if (m == "trace-cmd")
		return "trace-cmd record"
	if (m == "perf")
		return "perf record -a"
	if (m == "bpftrace-printf")
		return "bpftrace printf per event"
	if (m == "bpftrace-count")
		return "bpftrace count() per vector"
	return m
}

{
	delete f
	w = index($0, " why=")
	why = w ? substr($0, w + 5) : ""
	line = w ? substr($0, 1, w - 1) : $0
	nf = split(line, fl, " ")
	for (i = 1; i <= nf; i++) {
		k = fl[i]; sub(/=.*/, "", k)
		v = fl[i]; sub(/^[^=]*=/, "", v)
		# numbers as numbers: sub() leaves strings, which compare as strings
		if (v ~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/)
			v += 0
		f[k] = v
	}
	key = f["kind"] == "line" ? "line:" f["threads"] : f["kind"] ":" f["rate"]
	keys[key] = 1
	p = f["pair"]
	m = f["mode"]
	if (m == "unprobed" && ("for" in f) && f["for"] != "probed") {
		# the unprobed partner of a peer run
		pu_rate[key, f["for"], p] = f["msi_per_s"]
		pu_cpm[key, f["for"], p] = f["cpu_ns_per_msi"]
		all_u[key, ++n_all_u[key]] = f["msi_per_s"]
	} else if (m == "unprobed") {
		u_rate[key, p] = f["msi_per_s"]
		u_cpu[key, p] = f["writer_cpu_ns"]
		u_cpm[key, p] = f["cpu_ns_per_msi"]
		all_u[key, ++n_all_u[key]] = f["msi_per_s"]
	} else if (m != "probed") {
		# a peer
		if (!((key, m) in pseen)) {
			pseen[key, m] = 1
			pmodes[key, ++npm[key]] = m
		}
		if (why != "") {
			pfail[key, m]++
			pwhy[key, m] = why
		} else {
			pp_ok[key, m, p] = 1
			pp_rate[key, m, p] = f["msi_per_s"]
			pp_cpm[key, m, p] = f["cpu_ns_per_msi"]
			pp_msis[key, m, p] = f["msis"]
			pp_par[key, m, p] = (m == "perf" && f["parent"] == "perf") || (m ~ /^bpftrace/ && f["parent"] == "bpftrace") || (m == "cprv-kvm" && f["parent"] == "cpr-verify") ? f["parent_cpu_ns"] : ""
			pp_tool[key, m, p] = f["tool_cpu_ns"]
			pp_ev[key, m, p] = f["peer_events"]
			pp_evall[key, m, p] = ("peer_events_all" in f) ? f["peer_events_all"] : f["peer_events"]
			pp_drop[key, m, p] = f["peer_drops"]
			pp_bytes[key, m, p] = f["peer_bytes"]
			pp_raw[key, m, p] = f["peer_raw_bytes"]
		}
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
	for (t = 1; t <= 16; t++) {
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
		row("irqfd line rate, " tn ": added writer CPU-ns/MSI", sprintf("%.0f", median(dc, n)), "BPF programs + ring buffer, in the writer" (lane == "l1-tcg" ? "; TCG ns" : ""))
		row("irqfd line rate, " tn ": recorder CPU-ns/MSI", sprintf("%.0f", median(rc, n)), "user-space consumer, measured over the window")
		row("irqfd line rate, " tn ": drops", sprintf("%d (max), %d (median)", maxdrop, median(dr, n)), "target 0")
		row("irqfd line rate, " tn ": events/MSI", sprintf("%.2f", median(epm, n)), "records written per MSI")
		row("irqfd line rate, " tn ": bytes/event", sprintf("%.2f", median(bpe, n)), "trace file / events (target <= 4)")
	}
	# side by side: unprobed, cpr-verify record and the peers, one row each
	for (t = 1; t <= 16; t++) {
		key = "line:" t
		if (!(key in keys))
			continue
		tn = t " writer" (t > 1 ? "s" : "")
		lbl = "irqfd line rate, " tn ", side by side: "
		n = 0; delete ur
		for (i = 1; i <= n_all_u[key]; i++)
			ur[++n] = all_u[key, i]
		row(lbl "unprobed", "ratio 1; " human(median(ur, n)) " MSI/s", "median of all " n " unprobed runs at " tn)
		n = 0; delete r; delete pr; delete dc; delete rc; delete dr; delete bpe; delete epm
		for (p = 1; p <= npairs[key]; p++) {
			if (!((key, p) in u_rate) || !((key, p) in p_rate) || u_rate[key, p] <= 0)
				continue
			n++
			pr[n] = p_rate[key, p]; r[n] = p_rate[key, p] / u_rate[key, p]
			dc[n] = p_cpm[key, p] - u_cpm[key, p]
			rc[n] = p_msis[key, p] > 0 ? p_par[key, p] / p_msis[key, p] : 0
			dr[n] = p_drop[key, p]
			bpe[n] = p_ev[key, p] > 0 ? p_bytes[key, p] / p_ev[key, p] : 0
			epm[n] = p_msis[key, p] > 0 ? p_ev[key, p] / p_msis[key, p] : 0
		}
		if (n)
			row(lbl "cpr-verify record (full plan)", sprintf("ratio %.3f; %s MSI/s", median(r, n), human(median(pr, n))),
			    sprintf("+%.0f writer CPU-ns/MSI; recorder %.0f CPU-ns/MSI (window); drops %d (median); %.2f events/MSI; %.2f bytes/event; median of %d pairs",
				    median(dc, n), median(rc, n), median(dr, n), median(epm, n), median(bpe, n), n))
		for (j = 1; j <= npm[key]; j++) {
			m = pmodes[key, j]
			n = 0; delete r; delete pr; delete dc; delete tc; delete wc; delete dr; delete miss; delete bpe; delete rbpe; delete epm; delete oth
			maxdrop = 0; maxmiss = 0; haswin = 1
			for (p = 1; p <= npairs[key]; p++) {
				if (!((key, m, p) in pp_ok) || !((key, m, p) in pu_rate) || pu_rate[key, m, p] <= 0)
					continue
				n++
				pr[n] = pp_rate[key, m, p]
				r[n] = pp_rate[key, m, p] / pu_rate[key, m, p]
				dc[n] = pp_cpm[key, m, p] - pu_cpm[key, m, p]
				ms = pp_msis[key, m, p]
				tc[n] = ms > 0 ? pp_tool[key, m, p] / ms : 0
				if (pp_par[key, m, p] == "")
					haswin = 0
				wc[n] = ms > 0 ? pp_par[key, m, p] / ms : 0
				dr[n] = pp_drop[key, m, p]
				if (pp_drop[key, m, p] + 0 > maxdrop)
					maxdrop = pp_drop[key, m, p] + 0
				# events the tool lacks against 2 per MSI, as a share
				miss[n] = ms > 0 && pp_ev[key, m, p] < 2 * ms ? (2 * ms - pp_ev[key, m, p]) / (2 * ms) : 0
				if (miss[n] > maxmiss)
					maxmiss = miss[n]
				epm[n] = ms > 0 ? pp_ev[key, m, p] / ms : 0
				# the tool's file holds every KVM user's events
				ea = pp_evall[key, m, p]
				oth[n] = ea > 0 ? (ea - pp_ev[key, m, p]) / ea : 0
				bpe[n] = ea > 0 && pp_bytes[key, m, p] != "-" ? pp_bytes[key, m, p] / ea : -1
				rbpe[n] = ea > 0 && pp_raw[key, m, p] != "-" ? pp_raw[key, m, p] / ea : -1
			}
			failed = (key, m) in pfail ? pfail[key, m] : 0
			if (!n) {
				row(lbl peer_label(m), "not measured", (failed ? failed " run(s) failed: " pwhy[key, m] : "no run with an unprobed partner"))
				continue
			}
			tool = sprintf("tool %.0f CPU-ns/MSI (whole run, children included", median(tc, n))
			tool = tool (haswin ? sprintf("; %.0f in the window)", median(wc, n)) : ")")
			if (m == "bpftrace-count")
				drops = "drops: none possible (in-kernel counts)"
			else
				drops = sprintf("drops %d (max), %d (median) as the tool reports them", maxdrop, median(dr, n))
			if (m == "bpftrace-count")
				drops = drops sprintf("; %.2f events/MSI (every KVM user's: count() per vector cannot tell irqfd_bench's)", median(epm, n))
			else
				drops = drops sprintf("; %.2f events/MSI of irqfd_bench's own (%.2f%% short of 2/MSI, max %.2f%%; other KVM users' events %.1f%% of the file)",
						      median(epm, n), 100 * median(miss, n), 100 * maxmiss, 100 * median(oth, n))
			if (median(bpe, n) < 0)
				bytes = "bytes/event: - (no per-event output)"
			else if (median(rbpe, n) >= 0)
				bytes = sprintf("%.1f bytes/event raw (ring buffer pages), %.2f in its file (compressed)", median(rbpe, n), median(bpe, n))
			else
				bytes = sprintf("%.1f bytes/event in its file", median(bpe, n))
			row(lbl peer_label(m), sprintf("ratio %.3f; %s MSI/s", median(r, n), human(median(pr, n))),
			    sprintf("+%.0f writer CPU-ns/MSI; %s; %s; %s; median of %d pairs%s", median(dc, n), tool, drops, bytes, n,
				    failed ? "; " failed " run(s) failed: " pwhy[key, m] : ""))
		}
	}
	paced_rows("paced", "cpr-verify (full plan)")
	paced_rows("paced-kvm", "cpr-verify --deny syscall (the peers' KVM stages)")
	if (bad_parent != "")
		row("warning", "parent was " bad_parent, "recorder CPU is not the recorder's")
}

# The paced runs of one kind (paced: the full plan; paced-kvm: --deny syscall)
function paced_rows(kind, what,    nr, rates, i, j, t, ri, rate, key, lbl, n, fr, ach, uach, uw, pw, rp, p, add) {
	nr = 0
	for (key in keys)
		if (index(key, kind ":") == 1)
			rates[++nr] = substr(key, length(kind) + 2) + 0
	for (i = 2; i <= nr; i++)
		for (j = i; j > 1 && rates[j - 1] > rates[j]; j--) {
			t = rates[j]; rates[j] = rates[j - 1]; rates[j - 1] = t
		}
	for (ri = 1; ri <= nr; ri++) {
		rate = rates[ri]
		key = kind ":" rate
		lbl = "paced " human(rate) " MSI/s" (eqrate != "" && rate == eqrate + 0 ? " (native-equivalent of 100k)" : "") ", " what
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
}
