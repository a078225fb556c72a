/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* cprv-rig command line. */
#include "rig.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
"Usage: cprv-rig run [OPTIONS]\n"
"       cprv-rig --help | --version\n"
"\n"
"A synthetic vfio-like device and a mini-VMM on real kernel objects (eventfds,\n"
"a /dev/kvm VM with in-kernel irqchip, MSI routes, KVM irqfds). 'run' performs\n"
"a CPR the way the reference QEMU does for a vfio-pci device's MSIs and writes\n"
"the ground truth: every fire, its phase, and which fires must be lost.\n"
"\n"
"Processes: the launcher forks the device (fires write(eventfd,1) at a steady\n"
"rate, like vfio_msihandler) and the old VMM (VM, routes gsi=i -> address\n"
"0xfee00000 data 0x40+i, an irqfd per vector; eventfds handed to the device\n"
"with SCM_RIGHTS). At the CPR the old VMM deassigns its irqfds (the blackout:\n"
"fires pile up in the eventfd counters), then hands state and eventfds over:\n"
"  transfer  to a new VMM that the launcher started with 'cprv-rig incoming'\n"
"            (like QEMU -incoming), over a UNIX socket with SCM_RIGHTS;\n"
"  exec      by exec'ing this binary; fds survive exec, state is in a memfd\n"
"            named by CPRV_CPR_EXEC_STATE (like QEMU_CPR_EXEC_STATE).\n"
"The new VMM builds a new VM, restores the old LAPIC's pending IRR bits\n"
"(KVM_SET_LAPIC, as \"preserve pending interrupts\") and assigns irqfds on the\n"
"same eventfds; KVM replays each pending count once (coalesced, not lost).\n"
"\n"
"Options for run (flags override --scenario):\n"
"  --scenario FILE      read a scenario (scenarios/rig-*.json)\n"
"  --mode transfer|exec CPR mode (default transfer)\n"
"  --fault NAME         none (default), or one of the faults below; the ground\n"
"                       truth says exactly what each must lose or duplicate\n"
"  --vectors N          MSI vectors (default 4, at most %d)\n"
"  --rate HZ            aggregate fire rate (default 20000)\n"
"  --duration-ms MS     firing period (default 1500)\n"
"  --cpr-at-ms MS       first CPR, from the first fire (default 500)\n"
"  --blackout-ms MS     irqfds detached for this long (default 50)\n"
"  --cycles N           CPR cycles, spread over the time after the first\n"
"  --service-period-us US  the guest services its LAPIC this often (default 1000;\n"
"                       0: never); paused from the detach until the new VM runs\n"
"  --late-ms MS         fault late-attach: irqfds this long after the VM runs (300)\n"
"  --msi msix|msi       the device's capability (default msix): MSI-X has a mask\n"
"                       bit per vector and a PBA, and the scenario's \"mask\"\n"
"                       windows have the guest mask vectors (the VMM releases\n"
"                       the irqfd, reads the eventfd into the PBA, and sends\n"
"                       the pending MSI by hand at unmask); plain MSI: 1 to 32\n"
"                       vectors (a power of two), data 0x40 | vector, no masks\n"
"  --fail-cpr           the first CPR fails: the incoming VMM dies before attaching\n"
"                       (exec: the exec fails); the old VMM re-assigns and carries on\n"
"  --ground-truth FILE  write the ground truth here (default: print summary only)\n"
"  --self-check         (implies --service-period-us 0) read the LAPIC IRR of the old VM before detach and of\n"
"                       the final VM (every vector's bit must be set), and of\n"
"                       the new VM before the saved IRR is restored (empty)\n"
"\n"
"The phase of every fire is exact: the device reads it and writes the eventfd\n"
"under the lock that the VMMs hold around KVM_IRQFD. Every phase change calls\n"
"cprv_rig_phase(cycle, phase), exported for uprobes (phase 1 running on the\n"
"first VM, 2 detached, 3 running on the new VM, 4 done).\n"
"\n"
"Faults: new-eventfd (fresh eventfds on the new side), drain-before-attach\n"
"(preserved counters read before KVM_IRQFD), no-lapic-recovery (old IRR not\n"
"restored), double-replay (KVM_SIGNAL_MSI of pending vectors after KVM's replay),\n"
"route-changed (vector 0 -> data 0x60), late-attach, old-vm-kept (transfer,\n"
"1 cycle: the old VMM re-assigns its irqfds after the handover and keeps its\n"
"VM), swapped-vectors (vector 0's eventfd on gsi 1 and 1's on gsi 0),\n"
"trigger-teardown (device triggers closed during the blackout, re-armed after\n"
"the attach: dropped fires are lost_unobservable), failed-cpr-no-reattach\n"
"(with --fail-cpr, 1 cycle: the old VMM carries on without its irqfds),\n"
"pba-dropped (MSI-X with a mask window: the unmask clears the PBA bit without\n"
"KVM_SIGNAL_MSI, so the fires held while masked are lost).\n"
"\n"
"Needs root and /dev/kvm. Where the host has none, run it in the L1 guest:\n"
"  tools/l1-run -- build/cprv-rig run --ground-truth /tmp/gt.json\n"
"\n"
"Exit codes: 0 run complete; 1 a process died, a wait timed out or a syscall\n"
"failed (the message says which); 2 --self-check found a vector missing from\n"
"an IRR; 3 usage or scenario error; 4 /dev/kvm unavailable.\n"
"\n"
"Internal subcommands (started by run, not by hand): incoming --cycle N,\n"
"exec-resume.\n", CPRV_SCENARIO_MAX_VECTORS);
}

enum {
	OPT_SCENARIO = 256, OPT_MODE, OPT_FAULT, OPT_VECTORS, OPT_RATE, OPT_DURATION,
	OPT_CPR_AT, OPT_BLACKOUT, OPT_CYCLES, OPT_GT, OPT_SELF_CHECK, OPT_CYCLE,
	OPT_SERVICE, OPT_LATE, OPT_FAIL_CPR, OPT_MSI, OPT_HELP, OPT_VERSION,
};

static const struct option opts[] = {
	{ "scenario", required_argument, NULL, OPT_SCENARIO },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "fault", required_argument, NULL, OPT_FAULT },
	{ "vectors", required_argument, NULL, OPT_VECTORS },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "duration-ms", required_argument, NULL, OPT_DURATION },
	{ "cpr-at-ms", required_argument, NULL, OPT_CPR_AT },
	{ "blackout-ms", required_argument, NULL, OPT_BLACKOUT },
	{ "cycles", required_argument, NULL, OPT_CYCLES },
	{ "ground-truth", required_argument, NULL, OPT_GT },
	{ "self-check", no_argument, NULL, OPT_SELF_CHECK },
	{ "cycle", required_argument, NULL, OPT_CYCLE },
	{ "service-period-us", required_argument, NULL, OPT_SERVICE },
	{ "late-ms", required_argument, NULL, OPT_LATE },
	{ "fail-cpr", no_argument, NULL, OPT_FAIL_CPR },
	{ "msi", required_argument, NULL, OPT_MSI },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ 0 },
};

static int parse_u32(const char *opt, const char *arg, uint32_t min, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(arg, &end, 10);

	if (!*arg || *end || arg[0] == '-' || v < min || v > 0xffffffffUL) {
		fprintf(stderr, "cprv-rig: --%s '%s': expected an integer >= %u\n", opt, arg, min);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/* Flags are applied after --scenario, wherever they appear. */
struct overrides {
	int set[OPT_VERSION + 1];
	uint32_t u[OPT_VERSION + 1];
	int mode, fault, msi;
};

int main(int argc, char **argv)
{
	struct cprv_scenario s;
	struct overrides ov = { 0 };
	const char *scn_path = NULL, *gt_path = NULL, *cmd;
	bool check = false;
	uint32_t cycle = 0;
	char err[512];
	int o;

	if (argc < 2) {
		usage(stderr);
		return RIG_EXIT_USAGE;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return RIG_EXIT_OK;
	}
	if (!strcmp(cmd, "--version")) {
		printf("cprv-rig %s\n", CPRV_VERSION);
		return RIG_EXIT_OK;
	}
	if (strcmp(cmd, "run") && strcmp(cmd, "incoming") && strcmp(cmd, "exec-resume")) {
		fprintf(stderr, "cprv-rig: unknown command '%s' (try --help)\n", cmd);
		return RIG_EXIT_USAGE;
	}
	optind = 2;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case OPT_SCENARIO: scn_path = optarg; break;
		case OPT_GT: gt_path = optarg; break;
		case OPT_SELF_CHECK: check = true; break;
		case OPT_MODE:
			ov.mode = cprv_mode_parse(optarg);
			if (ov.mode < 0) {
				fprintf(stderr, "cprv-rig: --mode '%s': expected transfer or exec\n", optarg);
				return RIG_EXIT_USAGE;
			}
			ov.set[o] = 1;
			break;
		case OPT_FAULT:
			ov.fault = cprv_fault_parse(optarg);
			if (ov.fault < 0) {
				fprintf(stderr, "cprv-rig: --fault '%s': expected one of: %s\n", optarg,
					cprv_fault_list());
				return RIG_EXIT_USAGE;
			}
			ov.set[o] = 1;
			break;
		case OPT_VECTORS: case OPT_RATE: case OPT_DURATION: case OPT_CYCLES:
		case OPT_CYCLE:
			if (parse_u32(opts[o - OPT_SCENARIO].name, optarg, 1, &ov.u[o]))
				return RIG_EXIT_USAGE;
			ov.set[o] = 1;
			break;
		case OPT_FAIL_CPR:
			ov.set[o] = 1;
			break;
		case OPT_MSI:
			ov.msi = cprv_msi_parse(optarg);
			if (ov.msi < 0) {
				fprintf(stderr, "cprv-rig: --msi '%s': expected msix or msi\n", optarg);
				return RIG_EXIT_USAGE;
			}
			ov.set[o] = 1;
			break;
		case OPT_CPR_AT: case OPT_BLACKOUT: case OPT_SERVICE: case OPT_LATE:
			if (parse_u32(opts[o - OPT_SCENARIO].name, optarg, 0, &ov.u[o]))
				return RIG_EXIT_USAGE;
			ov.set[o] = 1;
			break;
		case 'h': case OPT_HELP:
			usage(stdout);
			return RIG_EXIT_OK;
		default:
			fprintf(stderr, "cprv-rig: try 'cprv-rig --help'\n");
			return RIG_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cprv-rig: unexpected argument '%s'\n", argv[optind]);
		return RIG_EXIT_USAGE;
	}
	if (!strcmp(cmd, "incoming")) {
		if (!ov.set[OPT_CYCLE]) {
			fprintf(stderr, "cprv-rig: incoming needs --cycle N\n");
			return RIG_EXIT_USAGE;
		}
		cycle = ov.u[OPT_CYCLE];
		return rig_vmm_incoming_main(cycle);
	}
	if (!strcmp(cmd, "exec-resume"))
		return rig_vmm_exec_resume_main();

	cprv_scenario_defaults(&s);
	if (scn_path && cprv_scenario_load(scn_path, &s, err, sizeof(err))) {
		fprintf(stderr, "cprv-rig: %s\n", err);
		return RIG_EXIT_USAGE;
	}
	if (ov.set[OPT_MODE]) s.mode = (enum cprv_cpr_mode)ov.mode;
	if (ov.set[OPT_FAULT]) s.fault = (enum cprv_fault)ov.fault;
	if (ov.set[OPT_VECTORS]) s.vectors = ov.u[OPT_VECTORS];
	if (ov.set[OPT_RATE]) s.rate_hz = ov.u[OPT_RATE];
	if (ov.set[OPT_DURATION]) s.duration_ms = ov.u[OPT_DURATION];
	if (ov.set[OPT_CPR_AT]) s.cpr_at_ms = ov.u[OPT_CPR_AT];
	if (ov.set[OPT_BLACKOUT]) s.blackout_ms = ov.u[OPT_BLACKOUT];
	if (ov.set[OPT_CYCLES]) s.cycles = ov.u[OPT_CYCLES];
	if (ov.set[OPT_SERVICE]) s.service_period_us = ov.u[OPT_SERVICE];
	if (ov.set[OPT_LATE]) s.late_ms = ov.u[OPT_LATE];
	if (ov.set[OPT_FAIL_CPR]) s.fail_cpr = 1;
	if (ov.set[OPT_MSI]) s.msi = (enum cprv_msi_kind)ov.msi;
	/* The self-check wants IRR bits that a servicing guest would clear. */
	if (check) s.service_period_us = 0;
	if (s.rate_hz > CPRV_SCENARIO_MAX_RATE || s.duration_ms > CPRV_SCENARIO_MAX_MS) {
		fprintf(stderr, "cprv-rig: rate at most %u Hz, duration at most %u ms\n",
			CPRV_SCENARIO_MAX_RATE, CPRV_SCENARIO_MAX_MS);
		return RIG_EXIT_USAGE;
	}
	if (cprv_scenario_validate(&s, scn_path ? scn_path : "options", err, sizeof(err))) {
		fprintf(stderr, "cprv-rig: %s\n", err);
		return RIG_EXIT_USAGE;
	}
	if (!cprv_kvm_available(err, sizeof(err))) {
		fprintf(stderr, "cprv-rig: %s\ncprv-rig: the rig needs /dev/kvm; on a host "
			"without it run it in the L1 guest: tools/l1-run -- %s run ...\n",
			err, argv[0]);
		return RIG_EXIT_NOKVM;
	}
	return rig_launch(&s, check, gt_path);
}
