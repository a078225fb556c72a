/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Event codec, names, packed strings, text and JSON renderings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "event.h"

static struct cprv_event distinct_event(void)
{
	struct cprv_event ev = {
		.ts = 0x0102030405060708ull,
		.type = 0x090a,
		.flags = 0x0b0c,
		.cpu = 0x0d0e0f10,
		.pid = 0x11121314,
		.tid = 0x15161718,
		.obj = 0x191a1b1c1d1e1f20ull,
		.a = { 0x2122232425262728ull, 0x292a2b2c2d2e2f30ull,
		       0x3132333435363738ull, 0x393a3b3c3d3e3f40ull },
	};
	return ev;
}

static void test_encode_layout(void **state)
{
	/* Every field little-endian at its documented offset. */
	static const uint8_t want[CPRV_EVENT_SIZE] = {
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* ts */
		0x0a, 0x09,                                     /* type */
		0x0c, 0x0b,                                     /* flags */
		0x10, 0x0f, 0x0e, 0x0d,                         /* cpu */
		0x14, 0x13, 0x12, 0x11,                         /* pid */
		0x18, 0x17, 0x16, 0x15,                         /* tid */
		0x20, 0x1f, 0x1e, 0x1d, 0x1c, 0x1b, 0x1a, 0x19, /* obj */
		0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21, /* a0 */
		0x30, 0x2f, 0x2e, 0x2d, 0x2c, 0x2b, 0x2a, 0x29, /* a1 */
		0x38, 0x37, 0x36, 0x35, 0x34, 0x33, 0x32, 0x31, /* a2 */
		0x40, 0x3f, 0x3e, 0x3d, 0x3c, 0x3b, 0x3a, 0x39, /* a3 */
	};
	struct cprv_event ev = distinct_event(), back;
	uint8_t buf[CPRV_EVENT_SIZE];

	memset(buf, 0xee, sizeof(buf));
	cprv_event_encode(&ev, buf);
	assert_memory_equal(buf, want, sizeof(want));

	memset(&back, 0x5a, sizeof(back));
	cprv_event_decode(buf, &back);
	assert_int_equal(back.ts, ev.ts);
	assert_int_equal(back.type, ev.type);
	assert_int_equal(back.flags, ev.flags);
	assert_int_equal(back.cpu, ev.cpu);
	assert_int_equal(back.pid, ev.pid);
	assert_int_equal(back.tid, ev.tid);
	assert_int_equal(back.obj, ev.obj);
	for (int i = 0; i < 4; i++)
		assert_int_equal(back.a[i], ev.a[i]);
}

static void test_roundtrip_extremes(void **state)
{
	struct cprv_event evs[2] = { { 0 } }, back;
	uint8_t buf[CPRV_EVENT_SIZE];

	memset(&evs[1], 0xff, sizeof(evs[1]));
	for (int k = 0; k < 2; k++) {
		cprv_event_encode(&evs[k], buf);
		for (size_t i = 0; i < sizeof(buf); i++)
			assert_int_equal(buf[i], k ? 0xff : 0);
		cprv_event_decode(buf, &back);
		assert_memory_equal(&back, &evs[k], sizeof(back));
	}
}

static const int all_types[] = {
	CPRV_EV_VFIO_IRQ, CPRV_EV_VFIO_MSIHANDLER, CPRV_EV_EVENTFD_WRITE,
	CPRV_EV_EVENTFD_SIGNAL, CPRV_EV_IRQFD_WAKEUP, CPRV_EV_EVENTFD_READ,
	CPRV_EV_IRQFD_INJECT, CPRV_EV_SET_IRQ_INATOMIC, CPRV_EV_KVM_SET_MSI,
	CPRV_EV_KVM_MSI_SET_IRQ, CPRV_EV_KVM_SET_IRQ, CPRV_EV_APIC_ACCEPT, CPRV_EV_APIC_DELIVER,
	CPRV_EV_PI_IRTE_UPDATE, CPRV_EV_KVM_CREATE_VM, CPRV_EV_KVM_IRQFD,
	CPRV_EV_KVM_ROUTE, CPRV_EV_KVM_ROUTING, CPRV_EV_KVM_SIGNAL_MSI,
	CPRV_EV_KVM_GET_LAPIC, CPRV_EV_KVM_SET_LAPIC, CPRV_EV_VFIO_SET_IRQS,
	CPRV_EV_VFIO_TRIGGER, CPRV_EV_VFIO_SET_SIGNAL, CPRV_EV_EVENTFD_CREATE,
	CPRV_EV_CLOSE, CPRV_EV_FD_SEND, CPRV_EV_FD_RECV, CPRV_EV_EXEC,
	CPRV_EV_FORK, CPRV_EV_EXIT, CPRV_EV_IRQ_NAME, CPRV_EV_UPROBE,
	CPRV_EV_MARK,
};

static void test_names(void **state)
{
	size_t n = sizeof(all_types) / sizeof(all_types[0]);

	for (size_t i = 0; i < n; i++) {
		const char *name = cprv_event_type_name(all_types[i]);

		assert_string_not_equal(name, "unknown");
		assert_int_equal(cprv_event_type_from_name(name), all_types[i]);
		assert_string_not_equal(cprv_event_stage(all_types[i]), "unknown");
		/* names are unique */
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(name, cprv_event_type_name(all_types[j]));
	}
	assert_string_equal(cprv_event_type_name(CPRV_EV_EVENTFD_WRITE), "eventfd_write");
	assert_string_equal(cprv_event_type_name(CPRV_EV_KVM_MSI_SET_IRQ), "kvm_msi_set_irq");
	assert_string_equal(cprv_event_type_name(0), "unknown");
	assert_string_equal(cprv_event_type_name(15), "unknown");
	assert_string_equal(cprv_event_type_name(CPRV_EV_MAX), "unknown");
	assert_string_equal(cprv_event_type_name(0xffff), "unknown");
	assert_int_equal(cprv_event_type_from_name("unknown"), -1);
	assert_int_equal(cprv_event_type_from_name("nope"), -1);

	assert_string_equal(cprv_event_stage(CPRV_EV_VFIO_IRQ), "S0");
	assert_string_equal(cprv_event_stage(CPRV_EV_EVENTFD_WRITE), "S0'");
	assert_string_equal(cprv_event_stage(CPRV_EV_EVENTFD_SIGNAL), "S1");
	assert_string_equal(cprv_event_stage(CPRV_EV_IRQFD_WAKEUP), "S2");
	assert_string_equal(cprv_event_stage(CPRV_EV_KVM_MSI_SET_IRQ), "S3");
	assert_string_equal(cprv_event_stage(CPRV_EV_APIC_ACCEPT), "S4");
	assert_string_equal(cprv_event_stage(CPRV_EV_PI_IRTE_UPDATE), "posted");
	assert_string_equal(cprv_event_stage(CPRV_EV_KVM_IRQFD), "plumbing");
	assert_string_equal(cprv_event_stage(CPRV_EV_EXEC), "process");
	assert_string_equal(cprv_event_stage(CPRV_EV_MARK), "mark");
	assert_string_equal(cprv_event_stage(99), "unknown");

	assert_string_equal(cprv_obj_kind_name(CPRV_OBJ_EVENTFD), "eventfd");
	assert_string_equal(cprv_obj_kind_name(CPRV_OBJ_KVM_DEV), "kvm-dev");
	assert_string_equal(cprv_obj_kind_name(77), "unknown");
	assert_string_equal(cprv_ctx_kind_name(CPRV_CTX_IRQFD), "irqfd");
	assert_string_equal(cprv_ctx_kind_name(CPRV_CTX_NONE), "none");
	assert_string_equal(cprv_ctx_kind_name(6), "unknown");
	assert_string_equal(cprv_mark_kind_name(CPRV_MARK_CPR_BEGIN), "cpr_begin");
	assert_string_equal(cprv_mark_kind_name(0), "unknown");
	assert_string_equal(cprv_mark_kind_name(~0ull), "unknown");
}

static void test_packed_strings(void **state)
{
	struct cprv_event ev = { 0 };
	char comm[CPRV_COMM_LEN + 1], name[CPRV_IRQ_NAME_LEN + 1];
	__u64 w[2];

	/* byte i lives in byte i % 8 of word i / 8 */
	assert_int_equal(cprv_pack_str(w, 2, "qemu-system-x86"), 15);
	assert_int_equal(w[0], 0x7379732d756d6571ull); /* "qemu-sys" */
	assert_int_equal(w[1], 0x003638782d6d6574ull); /* "tem-x86\0" */

	cprv_event_set_comm(&ev, "qemu-system-x86");
	cprv_event_comm(&ev, comm);
	assert_string_equal(comm, "qemu-system-x86");
	assert_int_equal(ev.a[0], 0);
	assert_int_equal(ev.a[3], 0);

	/* exactly 16 bytes: no NUL in the record, still terminated on unpack */
	cprv_event_set_comm(&ev, "0123456789abcdefXYZ");
	cprv_event_comm(&ev, comm);
	assert_string_equal(comm, "0123456789abcdef");

	cprv_event_set_irq_name(&ev, "vfio-msix[3](0000:3b:00.0)");
	cprv_event_irq_name(&ev, name);
	assert_string_equal(name, "vfio-msix[3](0000:3b:00.");
	assert_int_equal(strlen(name), 24);
	cprv_event_set_irq_name(&ev, "vfio-intx(x)");
	cprv_event_irq_name(&ev, name);
	assert_string_equal(name, "vfio-intx(x)");
	assert_int_equal(ev.a[3], 0);
}

static void check_line(const struct cprv_event *ev, uint64_t base, const char *want)
{
	char buf[1024];
	int n = cprv_event_format(ev, base, buf, sizeof(buf));

	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
}

static void test_format(void **state)
{
	struct cprv_event ev = { .ts = 1500000123, .pid = 100, .tid = 101, .cpu = 1 };

	ev.type = CPRV_EV_EVENTFD_WRITE;
	ev.obj = 0xffff888012345678ull;
	ev.a[0] = 1; ev.a[1] = 3; ev.a[2] = 7;
	check_line(&ev, 1000000000,
		   "0.500000123 eventfd_write    pid=100 tid=101 cpu=1 "
		   "ctx=0xffff888012345678 value=1 count=3 fd=7");
	/* absolute; and before the base */
	check_line(&ev, 0,
		   "1.500000123 eventfd_write    pid=100 tid=101 cpu=1 "
		   "ctx=0xffff888012345678 value=1 count=3 fd=7");
	check_line(&ev, 1500000124,
		   "-0.000000001 eventfd_write    pid=100 tid=101 cpu=1 "
		   "ctx=0xffff888012345678 value=1 count=3 fd=7");
	/* recorded without the value (not --full-detail) */
	ev.a[0] = CPRV_WRITE_VALUE_UNREAD;
	check_line(&ev, 1000000000,
		   "0.500000123 eventfd_write    pid=100 tid=101 cpu=1 "
		   "ctx=0xffff888012345678 value=unread count=3 fd=7");

	memset(ev.a, 0, sizeof(ev.a));
	ev.type = CPRV_EV_KVM_IRQFD;
	ev.a[0] = 0xffff888000aa0000ull; ev.a[1] = 4;
	ev.a[2] = CPRV_KVM_IRQFD_FLAG_DEASSIGN; ev.a[3] = 0;
	check_line(&ev, 1500000000,
		   "0.000000123 kvm_irqfd        pid=100 tid=101 cpu=1 "
		   "ctx=0xffff888012345678 kvm=0xffff888000aa0000 gsi=4 deassign ret=0");
	ev.a[2] = 0; ev.a[3] = (__u64)-22;
	check_line(&ev, 1500000000,
		   "0.000000123 kvm_irqfd        pid=100 tid=101 cpu=1 "
		   "ctx=0xffff888012345678 kvm=0xffff888000aa0000 gsi=4 assign ret=-22");

	memset(ev.a, 0, sizeof(ev.a));
	ev.type = CPRV_EV_KVM_MSI_SET_IRQ;
	ev.flags = CPRV_CTX_EVENTFD_WRITE;
	ev.a[0] = 0xfee00000; ev.a[1] = 0x4041;
	check_line(&ev, 1500000000,
		   "0.000000123 kvm_msi_set_irq  pid=100 tid=101 cpu=1 "
		   "addr=0xfee00000 data=0x4041 ctx-tag=eventfd_write obj=0xffff888012345678");
	ev.flags = CPRV_CTX_HARDIRQ; ev.obj = 0; ev.a[2] = 35;
	check_line(&ev, 1500000000,
		   "0.000000123 kvm_msi_set_irq  pid=100 tid=101 cpu=1 "
		   "addr=0xfee00000 data=0x4041 ctx-tag=hardirq irq=35");
	ev.flags = CPRV_CTX_NONE;
	check_line(&ev, 1500000000,
		   "0.000000123 kvm_msi_set_irq  pid=100 tid=101 cpu=1 "
		   "addr=0xfee00000 data=0x4041 ctx-tag=none");

	memset(ev.a, 0, sizeof(ev.a));
	ev.type = CPRV_EV_APIC_ACCEPT;
	ev.flags = CPRV_CTX_IRQFD; ev.obj = 0xffff888012345678ull;
	ev.a[0] = 0; ev.a[1] = 1u << 16; ev.a[2] = 0xffff888000aaaa00ull; ev.a[3] = 65;
	/* dm and tm share a1; a2 is the tag's aux, as on kvm_msi_set_irq */
	check_line(&ev, 1500000000,
		   "0.000000123 apic_accept      pid=100 tid=101 cpu=1 "
		   "apicid=0 dm=0 tm=1 vector=65 ctx-tag=irqfd obj=0xffff888012345678 "
		   "kvm=0xffff888000aaaa00");

	memset(ev.a, 0, sizeof(ev.a));
	ev.flags = 0; ev.obj = 0;
	ev.type = CPRV_EV_EXEC;
	ev.a[0] = 99;
	cprv_event_set_comm(&ev, "foo");
	check_line(&ev, 1500000000,
		   "0.000000123 exec             pid=100 tid=101 cpu=1 comm=foo old-pid=99");
	/* hostile comm bytes are escaped, never raw */
	cprv_event_set_comm(&ev, "a\x1b[2J\\\xff");
	check_line(&ev, 1500000000,
		   "0.000000123 exec             pid=100 tid=101 cpu=1 "
		   "comm=a\\x1b[2J\\x5c\\xff old-pid=99");

	memset(ev.a, 0, sizeof(ev.a));
	ev.type = CPRV_EV_IRQ_NAME;
	ev.a[0] = 35;
	cprv_event_set_irq_name(&ev, "vfio-msix[0](0000:00:03.0)");
	check_line(&ev, 1500000000,
		   "0.000000123 irq_name         pid=100 tid=101 cpu=1 "
		   "irq=35 name=vfio-msix[0](0000:00:03.");

	memset(ev.a, 0, sizeof(ev.a));
	ev.type = CPRV_EV_KVM_GET_LAPIC;
	ev.obj = 0xffff888000aa0000ull; ev.flags = 2;
	ev.a[0] = 1ull << 34; ev.a[1] = 1ull << 1; ev.a[3] = 1ull << 63;
	check_line(&ev, 1500000000,
		   "0.000000123 kvm_get_lapic    pid=100 tid=101 cpu=1 "
		   "kvm=0xffff888000aa0000 vcpu=2 irr=34,65,255");
	memset(ev.a, 0, sizeof(ev.a));
	check_line(&ev, 1500000000,
		   "0.000000123 kvm_get_lapic    pid=100 tid=101 cpu=1 "
		   "kvm=0xffff888000aa0000 vcpu=2 irr=none");

	ev.type = CPRV_EV_CLOSE; ev.flags = CPRV_OBJ_KVM_VM;
	ev.a[0] = 0xffffffffull; /* fd -1 widened as u32 */
	check_line(&ev, 1500000000,
		   "0.000000123 close            pid=100 tid=101 cpu=1 "
		   "kind=kvm-vm obj=0xffff888000aa0000 fd=-1");

	memset(ev.a, 0, sizeof(ev.a));
	ev.type = CPRV_EV_VFIO_SET_IRQS; ev.flags = 0;
	ev.a[0] = 2; ev.a[1] = 0; ev.a[2] = 4;
	ev.a[3] = 0x24 | (__u64)(uint32_t)-16 << 32;
	check_line(&ev, 1500000000,
		   "0.000000123 vfio_set_irqs    pid=100 tid=101 cpu=1 "
		   "dev=0xffff888000aa0000 index=2 start=0 count=4 irq-flags=0x24 ret=-16");

	memset(ev.a, 0, sizeof(ev.a));
	ev.type = CPRV_EV_MARK; ev.obj = 0;
	ev.a[0] = CPRV_MARK_CPR_BEGIN; ev.a[1] = 3;
	check_line(&ev, 1500000000,
		   "0.000000123 mark             pid=100 tid=101 cpu=1 mark=cpr_begin cycle=3");

	ev.type = 63; ev.flags = 5; ev.obj = 6;
	ev.a[0] = 7; ev.a[1] = 8; ev.a[2] = 9; ev.a[3] = 10;
	check_line(&ev, 1500000000,
		   "0.000000123 unknown          pid=100 tid=101 cpu=1 "
		   "flags=0x5 obj=0x6 a0=0x7 a1=0x8 a2=0x9 a3=0xa");
}

static void test_format_truncation(void **state)
{
	struct cprv_event ev = { .type = CPRV_EV_EVENTFD_WRITE, .ts = 5, .a = { 1, 2, 3 } };
	char full[256], small[20];
	int n = cprv_event_format(&ev, 0, full, sizeof(full));
	int m = cprv_event_format(&ev, 0, small, sizeof(small));

	assert_int_equal(n, m);
	assert_true(n > (int)sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, full, sizeof(small) - 1);
	/* no buffer at all: just the length */
	assert_int_equal(cprv_event_format(&ev, 0, NULL, 0), n);
}

/* Every known type renders in both forms without surprises. */
static void test_every_type_renders(void **state)
{
	size_t n = sizeof(all_types) / sizeof(all_types[0]);

	for (size_t i = 0; i < n; i++) {
		struct cprv_event ev = distinct_event();
		char buf[2048];
		struct json_object *j;

		ev.type = all_types[i];
		assert_true(cprv_event_format(&ev, 0, buf, sizeof(buf)) < (int)sizeof(buf));
		assert_non_null(strstr(buf, cprv_event_type_name(ev.type)));
		j = cprv_event_to_json(&ev);
		assert_non_null(j);
		assert_string_equal(json_object_get_string(json_object_object_get(j, "type")),
				    cprv_event_type_name(ev.type));
		/* the JSON text must parse back (escaping is right) */
		struct json_object *again = json_tokener_parse(json_object_to_json_string(j));
		assert_non_null(again);
		json_object_put(again);
		json_object_put(j);
	}
}

static void test_json(void **state)
{
	struct cprv_event ev = { .ts = 1234, .pid = 100, .tid = 101, .cpu = 1,
				 .type = CPRV_EV_KVM_IRQFD,
				 .obj = 0xffff888012345678ull,
				 .a = { 0xffff888000aa0000ull, 4, 1, (__u64)-9 } };
	struct json_object *j = cprv_event_to_json(&ev), *v, *raw, *a;

	assert_non_null(j);
	assert_string_equal(json_object_get_string(json_object_object_get(j, "type")), "kvm_irqfd");
	assert_int_equal(json_object_get_int(json_object_object_get(j, "type_id")), CPRV_EV_KVM_IRQFD);
	assert_string_equal(json_object_get_string(json_object_object_get(j, "stage")), "plumbing");
	assert_int_equal(json_object_get_int64(json_object_object_get(j, "ts")), 1234);
	assert_int_equal(json_object_get_int(json_object_object_get(j, "pid")), 100);
	assert_string_equal(json_object_get_string(json_object_object_get(j, "ctx")),
			    "0xffff888012345678");
	assert_string_equal(json_object_get_string(json_object_object_get(j, "kvm")),
			    "0xffff888000aa0000");
	assert_int_equal(json_object_get_int(json_object_object_get(j, "gsi")), 4);
	v = json_object_object_get(j, "deassign");
	assert_true(json_object_is_type(v, json_type_boolean));
	assert_true(json_object_get_boolean(v));
	assert_int_equal(json_object_get_int(json_object_object_get(j, "ret")), -9);
	raw = json_object_object_get(j, "raw");
	assert_non_null(raw);
	a = json_object_object_get(raw, "a");
	assert_int_equal(json_object_array_length(a), 4);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(a, 3)),
			    "0xfffffffffffffff7");
	json_object_put(j);

	/* a write recorded without its value: null, not a number */
	struct cprv_event w = { .type = CPRV_EV_EVENTFD_WRITE, .obj = 1,
				.a = { CPRV_WRITE_VALUE_UNREAD, 3, 7 } };
	j = cprv_event_to_json(&w);
	assert_true(json_object_object_get_ex(j, "value", &v));
	assert_null(v);
	assert_int_equal(json_object_get_int(json_object_object_get(j, "count")), 3);
	json_object_put(j);
	w.a[0] = 2;
	j = cprv_event_to_json(&w);
	assert_int_equal(json_object_get_int(json_object_object_get(j, "value")), 2);
	json_object_put(j);

	/* packed strings and the IRR set */
	struct cprv_event ex = { .type = CPRV_EV_EXEC, .a = { 7 } };
	cprv_event_set_comm(&ex, "cprv-rig");
	j = cprv_event_to_json(&ex);
	assert_string_equal(json_object_get_string(json_object_object_get(j, "comm")), "cprv-rig");
	assert_int_equal(json_object_get_int(json_object_object_get(j, "old_pid")), 7);
	json_object_put(j);

	struct cprv_event lap = { .type = CPRV_EV_KVM_SET_LAPIC, .a = { 0, 2, 0, 0 } };
	j = cprv_event_to_json(&lap);
	a = json_object_object_get(j, "irr");
	assert_int_equal(json_object_array_length(a), 1);
	assert_int_equal(json_object_get_int(json_object_array_get_idx(a, 0)), 65);
	json_object_put(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_layout),
		cmocka_unit_test(test_roundtrip_extremes),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_packed_strings),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_truncation),
		cmocka_unit_test(test_every_type_renders),
		cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
