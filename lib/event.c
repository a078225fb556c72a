/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Event codec, names and renderings. Each type's arguments are described
 * once, in the table below; the text line and the JSON object are both
 * rendered from it, so they cannot drift apart.
 */
#include "event.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

void cprv_event_encode(const struct cprv_event *ev, uint8_t out[CPRV_EVENT_SIZE])
{
	cprv_put_le64(out + 0, ev->ts);
	cprv_put_le16(out + 8, ev->type);
	cprv_put_le16(out + 10, ev->flags);
	cprv_put_le32(out + 12, ev->cpu);
	cprv_put_le32(out + 16, ev->pid);
	cprv_put_le32(out + 20, ev->tid);
	cprv_put_le64(out + 24, ev->obj);
	for (int i = 0; i < 4; i++)
		cprv_put_le64(out + 32 + 8 * i, ev->a[i]);
}

void cprv_event_decode(const uint8_t in[CPRV_EVENT_SIZE], struct cprv_event *ev)
{
	ev->ts = cprv_get_le64(in + 0);
	ev->type = cprv_get_le16(in + 8);
	ev->flags = cprv_get_le16(in + 10);
	ev->cpu = cprv_get_le32(in + 12);
	ev->pid = cprv_get_le32(in + 16);
	ev->tid = cprv_get_le32(in + 20);
	ev->obj = cprv_get_le64(in + 24);
	for (int i = 0; i < 4; i++)
		ev->a[i] = cprv_get_le64(in + 32 + 8 * i);
}

/* Where an argument comes from in the record. */
enum src { S_OBJ, S_FLAGS, S_A0, S_A1, S_A2, S_A3, S_A3_LO, S_A3_HI, S_A1_LO16, S_A1_HI16 };

/* How it is shown. The F_* after F_S32 read several fields themselves. */
enum fmt {
	F_END,    /* terminates a type's list */
	F_HEX,    /* addresses, flags, MSI address/data */
	F_DEC,
	F_S64,    /* return values */
	F_S32,    /* fds (an int, however the BPF side widened it) */
	F_OBJKIND,
	F_CTXTAG, /* flags, obj, a2 of KVM_MSI_SET_IRQ / APIC_ACCEPT */
	F_IRQFD,  /* KVM_IRQFD flags: assign / deassign */
	F_COMM,   /* a1..a2 */
	F_IRQNAME,/* a1..a3 */
	F_IRR,    /* a0..a3 as a 256-bit vector set */
	F_MARK,
	F_WVAL,   /* an eventfd write's value, or CPRV_WRITE_VALUE_UNREAD */
};

struct arg {
	const char *name;
	uint8_t src;
	uint8_t fmt;
};

#define MAX_ARGS 6

struct type_desc {
	const char *name;
	const char *stage;
	struct arg args[MAX_ARGS];
};

#define CTX(s) { "ctx", s, F_HEX }
#define KVM(s) { "kvm", s, F_HEX }

static const struct type_desc types[CPRV_EV_MAX] = {
	[CPRV_EV_VFIO_IRQ] = { "vfio_irq", "S0", { { "irq", S_A0, F_DEC } } },
	[CPRV_EV_VFIO_MSIHANDLER] = { "vfio_msihandler", "S0",
		{ CTX(S_OBJ), { "irq", S_A0, F_DEC } } },
	[CPRV_EV_EVENTFD_WRITE] = { "eventfd_write", "S0'",
		{ CTX(S_OBJ), { "value", S_A0, F_WVAL }, { "count", S_A1, F_DEC },
		  { "fd", S_A2, F_S32 } } },
	[CPRV_EV_EVENTFD_SIGNAL] = { "eventfd_signal", "S1",
		{ CTX(S_OBJ), { "count", S_A0, F_DEC }, { "mask", S_A1, F_HEX } } },
	[CPRV_EV_IRQFD_WAKEUP] = { "irqfd_wakeup", "S2",
		{ CTX(S_OBJ), KVM(S_A0), { "gsi", S_A1, F_DEC },
		  { "poll", S_A2, F_HEX } } },
	[CPRV_EV_EVENTFD_READ] = { "eventfd_read", "S2",
		{ CTX(S_OBJ), { "value", S_A0, F_DEC }, { "ret", S_A1, F_S64 },
		  { "fd", S_A2, F_S32 } } },
	[CPRV_EV_IRQFD_INJECT] = { "irqfd_inject", "S3",
		{ CTX(S_OBJ), KVM(S_A0), { "gsi", S_A1, F_DEC } } },
	[CPRV_EV_SET_IRQ_INATOMIC] = { "set_irq_inatomic", "S3",
		{ KVM(S_OBJ), { "gsi", S_A0, F_DEC }, { "addr", S_A1, F_HEX },
		  { "data", S_A2, F_HEX } } },
	[CPRV_EV_KVM_SET_MSI] = { "kvm_set_msi", "S3",
		{ KVM(S_OBJ), { "gsi", S_A0, F_DEC }, { "addr", S_A1, F_HEX },
		  { "data", S_A2, F_HEX }, { "level", S_A3, F_DEC } } },
	[CPRV_EV_KVM_MSI_SET_IRQ] = { "kvm_msi_set_irq", "S3",
		{ { "addr", S_A0, F_HEX }, { "data", S_A1, F_HEX },
		  { "ctx_tag", 0, F_CTXTAG } } },
	[CPRV_EV_KVM_SET_IRQ] = { "kvm_set_irq", "S3",
		{ { "gsi", S_A0, F_DEC }, { "level", S_A1, F_DEC },
		  { "source", S_A2, F_DEC } } },
	[CPRV_EV_APIC_ACCEPT] = { "apic_accept", "S4",
		{ { "apicid", S_A0, F_DEC }, { "dm", S_A1_LO16, F_DEC },
		  { "tm", S_A1_HI16, F_DEC }, { "vector", S_A3, F_DEC },
		  { "ctx_tag", 0, F_CTXTAG } } },
	[CPRV_EV_APIC_DELIVER] = { "apic_deliver", "S4'",
		{ { "vector", S_A0, F_DEC }, { "flags", S_A1, F_HEX } } },
	[CPRV_EV_PI_IRTE_UPDATE] = { "pi_irte_update", "posted",
		{ { "host_irq", S_A0, F_DEC }, { "vcpu", S_A1, F_DEC },
		  { "gsi", S_A2, F_DEC }, { "gvec", S_A3_LO, F_DEC },
		  { "set", S_A3_HI, F_DEC } } },
	[CPRV_EV_KVM_CREATE_VM] = { "kvm_create_vm", "plumbing",
		{ KVM(S_OBJ), { "fd", S_A0, F_S32 }, { "vm_type", S_A1, F_DEC },
		  { "ret", S_A2, F_S64 } } },
	[CPRV_EV_KVM_IRQFD] = { "kvm_irqfd", "plumbing",
		{ CTX(S_OBJ), KVM(S_A0), { "gsi", S_A1, F_DEC },
		  { "deassign", S_A2, F_IRQFD }, { "ret", S_A3, F_S64 } } },
	[CPRV_EV_KVM_ROUTE] = { "kvm_route", "plumbing",
		{ KVM(S_OBJ), { "gsi", S_A0, F_DEC }, { "addr", S_A1, F_HEX },
		  { "data", S_A2, F_HEX }, { "index", S_A3, F_DEC } } },
	[CPRV_EV_KVM_ROUTING] = { "kvm_routing", "plumbing",
		{ KVM(S_OBJ), { "nr", S_A0, F_DEC }, { "ret", S_A1, F_S64 } } },
	[CPRV_EV_KVM_SIGNAL_MSI] = { "kvm_signal_msi", "plumbing",
		{ KVM(S_OBJ), { "addr", S_A0, F_HEX }, { "data", S_A1, F_HEX },
		  { "ret", S_A2, F_S64 } } },
	[CPRV_EV_KVM_GET_LAPIC] = { "kvm_get_lapic", "plumbing",
		{ KVM(S_OBJ), { "vcpu", S_FLAGS, F_DEC }, { "irr", 0, F_IRR } } },
	[CPRV_EV_KVM_SET_LAPIC] = { "kvm_set_lapic", "plumbing",
		{ KVM(S_OBJ), { "vcpu", S_FLAGS, F_DEC }, { "irr", 0, F_IRR } } },
	[CPRV_EV_VFIO_SET_IRQS] = { "vfio_set_irqs", "plumbing",
		{ { "dev", S_OBJ, F_HEX }, { "index", S_A0, F_DEC },
		  { "start", S_A1, F_DEC }, { "count", S_A2, F_DEC },
		  { "irq_flags", S_A3_LO, F_HEX }, { "ret", S_A3_HI, F_S32 } } },
	[CPRV_EV_VFIO_TRIGGER] = { "vfio_trigger", "plumbing",
		{ CTX(S_OBJ), { "vector", S_A0, F_DEC }, { "index", S_A1, F_DEC },
		  { "dev", S_A2, F_HEX } } },
	[CPRV_EV_VFIO_SET_SIGNAL] = { "vfio_set_signal", "plumbing",
		{ { "vdev", S_OBJ, F_HEX }, { "vector", S_A0, F_DEC },
		  { "fd", S_A1, F_S32 }, { "msix", S_A2, F_DEC } } },
	[CPRV_EV_EVENTFD_CREATE] = { "eventfd_create", "plumbing",
		{ CTX(S_OBJ), { "fd", S_A0, F_S32 }, { "initval", S_A1, F_DEC },
		  { "efd_flags", S_A2, F_HEX } } },
	[CPRV_EV_CLOSE] = { "close", "plumbing",
		{ { "kind", S_FLAGS, F_OBJKIND }, { "obj", S_OBJ, F_HEX },
		  { "fd", S_A0, F_S32 } } },
	[CPRV_EV_FD_SEND] = { "fd_send", "plumbing",
		{ { "kind", S_FLAGS, F_OBJKIND }, { "obj", S_OBJ, F_HEX },
		  { "fd", S_A0, F_S32 } } },
	[CPRV_EV_FD_RECV] = { "fd_recv", "plumbing",
		{ { "kind", S_FLAGS, F_OBJKIND }, { "obj", S_OBJ, F_HEX },
		  { "fd", S_A0, F_S32 } } },
	[CPRV_EV_EXEC] = { "exec", "process",
		{ { "comm", 0, F_COMM }, { "old_pid", S_A0, F_DEC } } },
	[CPRV_EV_FORK] = { "fork", "process", { { "child", S_A0, F_DEC } } },
	[CPRV_EV_EXIT] = { "exit", "process", { { "code", S_A0, F_S64 } } },
	[CPRV_EV_IRQ_NAME] = { "irq_name", "plumbing",
		{ { "irq", S_A0, F_DEC }, { "name", 0, F_IRQNAME } } },
	[CPRV_EV_UPROBE] = { "uprobe", "plumbing",
		{ { "fn", S_A0, F_DEC }, { "arg1", S_A1, F_HEX },
		  { "arg2", S_A2, F_HEX }, { "arg3", S_A3, F_HEX } } },
	[CPRV_EV_MARK] = { "mark", "mark", { { "mark", 0, F_MARK } } },
};

/* Unknown types show everything raw. */
static const struct type_desc unknown_type = { "unknown", "unknown",
	{ { "flags", S_FLAGS, F_HEX }, { "obj", S_OBJ, F_HEX },
	  { "a0", S_A0, F_HEX }, { "a1", S_A1, F_HEX }, { "a2", S_A2, F_HEX },
	  { "a3", S_A3, F_HEX } } };

static const struct type_desc *desc_of(uint16_t type)
{
	if (type < CPRV_EV_MAX && types[type].name)
		return &types[type];
	return &unknown_type;
}

const char *cprv_event_type_name(uint16_t type)
{
	return desc_of(type)->name;
}

int cprv_event_type_from_name(const char *name)
{
	for (int t = 0; t < CPRV_EV_MAX; t++)
		if (types[t].name && !strcmp(types[t].name, name))
			return t;
	return -1;
}

const char *cprv_event_stage(uint16_t type)
{
	return desc_of(type)->stage;
}

#define NAME_OF(tab, v) \
	((v) < sizeof(tab) / sizeof((tab)[0]) && (tab)[v] ? (tab)[v] : "unknown")

const char *cprv_obj_kind_name(uint32_t kind)
{
	static const char *const names[] = {
		[CPRV_OBJ_UNKNOWN] = "unknown",
		[CPRV_OBJ_EVENTFD] = "eventfd",
		[CPRV_OBJ_KVM_VM] = "kvm-vm",
		[CPRV_OBJ_KVM_VCPU] = "kvm-vcpu",
		[CPRV_OBJ_VFIO_DEVICE] = "vfio-device",
		[CPRV_OBJ_MEMFD] = "memfd",
		[CPRV_OBJ_KVM_DEV] = "kvm-dev",
	};
	return NAME_OF(names, kind);
}

const char *cprv_ctx_kind_name(uint32_t kind)
{
	static const char *const names[] = {
		[CPRV_CTX_NONE] = "none",
		[CPRV_CTX_EVENTFD_WRITE] = "eventfd_write",
		[CPRV_CTX_HARDIRQ] = "hardirq",
		[CPRV_CTX_KVM_SET_IRQ] = "kvm_set_irq",
		[CPRV_CTX_SIGNAL_MSI] = "signal_msi",
		[CPRV_CTX_IRQFD] = "irqfd",
	};
	return NAME_OF(names, kind);
}

const char *cprv_mark_kind_name(uint64_t kind)
{
	static const char *const names[] = {
		[CPRV_MARK_RECORD_START] = "record_start",
		[CPRV_MARK_RECORD_STOP] = "record_stop",
		[CPRV_MARK_CPR_BEGIN] = "cpr_begin",
		[CPRV_MARK_CPR_END] = "cpr_end",
		[CPRV_MARK_PHASE] = "phase",
	};
	return NAME_OF(names, kind);
}

void cprv_unpack_str(const __u64 *words, unsigned nwords, char *out)
{
	unsigned n = 8 * nwords;

	for (unsigned i = 0; i < n; i++)
		out[i] = (char)(uint8_t)(words[i / 8] >> (8 * (i % 8)));
	out[n] = '\0';
}

size_t cprv_pack_str(__u64 *words, unsigned nwords, const char *s)
{
	size_t n = strnlen(s, 8 * (size_t)nwords);

	memset(words, 0, sizeof(*words) * nwords);
	for (size_t i = 0; i < n; i++)
		words[i / 8] |= (__u64)(uint8_t)s[i] << (8 * (i % 8));
	return n;
}

void cprv_event_comm(const struct cprv_event *ev, char out[CPRV_COMM_LEN + 1])
{
	cprv_unpack_str(&ev->a[1], 2, out);
}

void cprv_event_set_comm(struct cprv_event *ev, const char *comm)
{
	__u64 w[2];

	cprv_pack_str(w, 2, comm);
	ev->a[1] = w[0];
	ev->a[2] = w[1];
}

void cprv_event_irq_name(const struct cprv_event *ev, char out[CPRV_IRQ_NAME_LEN + 1])
{
	cprv_unpack_str(&ev->a[1], 3, out);
}

void cprv_event_set_irq_name(struct cprv_event *ev, const char *name)
{
	__u64 w[3];

	cprv_pack_str(w, 3, name);
	memcpy(&ev->a[1], w, sizeof(w));
}

/*
 * Packed strings come from the kernel or from a file: make them safe for a
 * terminal and valid UTF-8 for JSON. Worst case 4 bytes out per byte in.
 */
static void escape_str(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (; *in && o + 5 <= outlen; in++) {
		unsigned char c = (unsigned char)*in;

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

/*
 * A sink takes named values and renders them either as text ("name=value",
 * names with '-' for '_') or into a JSON object.
 */
struct sink {
	char *buf;     /* text: output, may be NULL when len is 0 */
	size_t len;
	size_t pos;    /* text: length needed so far */
	struct json_object *obj; /* JSON: the object being filled */
	int oom;
};

static void text_append(struct sink *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void text_append(struct sink *s, const char *fmt, ...)
{
	va_list ap;
	char *at = s->pos < s->len ? s->buf + s->pos : NULL;
	size_t room = s->pos < s->len ? s->len - s->pos : 0;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(at, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		s->pos += (size_t)n;
}

static void text_name(struct sink *s, const char *name)
{
	char tmp[32];
	size_t i;

	for (i = 0; name[i] && i + 1 < sizeof(tmp); i++)
		tmp[i] = name[i] == '_' ? '-' : name[i];
	tmp[i] = '\0';
	text_append(s, " %s=", tmp);
}

static void json_put(struct sink *s, const char *name, struct json_object *v)
{
	if (!v || json_object_object_add(s->obj, name, v)) {
		json_object_put(v);
		s->oom = 1;
	}
}

static void put_hex(struct sink *s, const char *name, uint64_t v)
{
	char tmp[24];

	snprintf(tmp, sizeof(tmp), "0x%" PRIx64, v);
	if (s->obj) {
		json_put(s, name, json_object_new_string(tmp));
	} else {
		text_name(s, name);
		text_append(s, "%s", tmp);
	}
}

static void put_dec(struct sink *s, const char *name, uint64_t v)
{
	if (s->obj) {
		json_put(s, name, json_object_new_uint64(v));
	} else {
		text_name(s, name);
		text_append(s, "%" PRIu64, v);
	}
}

static void put_sdec(struct sink *s, const char *name, int64_t v)
{
	if (s->obj) {
		json_put(s, name, json_object_new_int64(v));
	} else {
		text_name(s, name);
		text_append(s, "%" PRId64, v);
	}
}

static void put_str(struct sink *s, const char *name, const char *v)
{
	if (s->obj) {
		json_put(s, name, json_object_new_string(v));
	} else {
		text_name(s, name);
		text_append(s, "%s", v);
	}
}

/* "unread" in text, null in JSON: recorded without the value */
static void put_write_value(struct sink *s, const char *name, uint64_t v)
{
	if (v != CPRV_WRITE_VALUE_UNREAD) {
		put_dec(s, name, v);
	} else if (s->obj) {
		if (json_object_object_add(s->obj, name, NULL))
			s->oom = 1;
	} else {
		text_name(s, name);
		text_append(s, "unread");
	}
}

static void put_packed(struct sink *s, const char *name,
		       const __u64 *words, unsigned nwords)
{
	char raw[8 * 3 + 1], esc[4 * sizeof(raw) + 1];

	cprv_unpack_str(words, nwords, raw);
	escape_str(raw, esc, sizeof(esc));
	put_str(s, name, esc);
}

/* "assign"/"deassign" as a bare word; other flag bits, if any, in hex. */
static void put_irqfd_flags(struct sink *s, uint64_t flags)
{
	int deassign = !!(flags & CPRV_KVM_IRQFD_FLAG_DEASSIGN);
	uint64_t rest = flags & ~(uint64_t)CPRV_KVM_IRQFD_FLAG_DEASSIGN;

	if (s->obj)
		json_put(s, "deassign", json_object_new_boolean(deassign));
	else
		text_append(s, " %s", deassign ? "deassign" : "assign");
	if (rest)
		put_hex(s, "irqfd_flags", rest);
}

static void put_irr(struct sink *s, const __u64 a[4])
{
	struct json_object *arr = NULL;
	int n = 0;

	if (s->obj) {
		arr = json_object_new_array();
		if (!arr) {
			s->oom = 1;
			return;
		}
	} else {
		text_name(s, "irr");
	}
	for (int v = 0; v < 256; v++) {
		if (!(a[v / 64] >> (v % 64) & 1))
			continue;
		if (arr)
			json_object_array_add(arr, json_object_new_int(v));
		else
			text_append(s, "%s%d", n ? "," : "", v);
		n++;
	}
	if (arr)
		json_put(s, "irr", arr);
	else if (!n)
		text_append(s, "none");
}

/* What the BPF side knew was running when KVM injected (cprv_event.h);
 * the tag's aux word is a2 on both event types. */
static void put_ctx_tag(struct sink *s, const struct cprv_event *ev)
{
	uint64_t aux = ev->a[2];

	put_str(s, "ctx_tag", cprv_ctx_kind_name(ev->flags));
	if (ev->flags == CPRV_CTX_NONE)
		return;
	if (ev->obj)
		put_hex(s, "obj", ev->obj);
	switch (ev->flags) {
	case CPRV_CTX_HARDIRQ:
		put_dec(s, "irq", aux);
		break;
	case CPRV_CTX_KVM_SET_IRQ:
		put_dec(s, "gsi", aux);
		break;
	case CPRV_CTX_IRQFD:
		put_hex(s, "kvm", aux);
		break;
	default:
		if (aux)
			put_hex(s, "aux", aux);
	}
}

static void put_mark(struct sink *s, const struct cprv_event *ev)
{
	put_str(s, "mark", cprv_mark_kind_name(ev->a[0]));
	switch (ev->a[0]) {
	case CPRV_MARK_CPR_BEGIN:
	case CPRV_MARK_CPR_END:
		put_dec(s, "cycle", ev->a[1]);
		break;
	case CPRV_MARK_PHASE:
		put_dec(s, "phase", ev->a[1]);
		put_dec(s, "phase_pid", ev->a[2]);
		break;
	case CPRV_MARK_RECORD_START:
	case CPRV_MARK_RECORD_STOP:
		break;
	default:
		put_dec(s, "mark_id", ev->a[0]);
		if (ev->a[1] || ev->a[2]) {
			put_hex(s, "arg1", ev->a[1]);
			put_hex(s, "arg2", ev->a[2]);
		}
	}
}

static uint64_t src_value(const struct cprv_event *ev, uint8_t src)
{
	switch (src) {
	case S_OBJ: return ev->obj;
	case S_FLAGS: return ev->flags;
	case S_A0: return ev->a[0];
	case S_A1: return ev->a[1];
	case S_A2: return ev->a[2];
	case S_A3: return ev->a[3];
	case S_A3_LO: return (uint32_t)ev->a[3];
	case S_A3_HI: return ev->a[3] >> 32;
	case S_A1_LO16: return ev->a[1] & 0xffff;
	case S_A1_HI16: return (ev->a[1] >> 16) & 0xffff;
	}
	return 0;
}

static void render_args(struct sink *s, const struct cprv_event *ev)
{
	const struct type_desc *d = desc_of(ev->type);

	for (int i = 0; i < MAX_ARGS && d->args[i].fmt != F_END; i++) {
		const struct arg *a = &d->args[i];
		uint64_t v = src_value(ev, a->src);

		switch (a->fmt) {
		case F_HEX: put_hex(s, a->name, v); break;
		case F_DEC: put_dec(s, a->name, v); break;
		case F_S64: put_sdec(s, a->name, (int64_t)v); break;
		case F_S32: put_sdec(s, a->name, (int32_t)(uint32_t)v); break;
		case F_OBJKIND: put_str(s, a->name, cprv_obj_kind_name((uint32_t)v)); break;
		case F_CTXTAG: put_ctx_tag(s, ev); break;
		case F_IRQFD: put_irqfd_flags(s, v); break;
		case F_COMM: put_packed(s, a->name, &ev->a[1], 2); break;
		case F_IRQNAME: put_packed(s, a->name, &ev->a[1], 3); break;
		case F_IRR: put_irr(s, ev->a); break;
		case F_MARK: put_mark(s, ev); break;
		case F_WVAL: put_write_value(s, a->name, v); break;
		}
	}
}

int cprv_event_format(const struct cprv_event *ev, uint64_t base_ts,
		      char *buf, size_t len)
{
	struct sink s = { .buf = buf, .len = len };
	uint64_t d = ev->ts - base_ts;
	const char *sign = "";

	if (len)
		buf[0] = '\0';
	if (base_ts && ev->ts < base_ts) {
		d = base_ts - ev->ts;
		sign = "-";
	}
	text_append(&s, "%s%" PRIu64 ".%09" PRIu64 " %-16s pid=%" PRIu32
		    " tid=%" PRIu32 " cpu=%" PRIu32, sign, d / 1000000000,
		    d % 1000000000, cprv_event_type_name(ev->type), ev->pid,
		    ev->tid, ev->cpu);
	render_args(&s, ev);
	return s.pos > INT32_MAX ? INT32_MAX : (int)s.pos;
}

struct json_object *cprv_event_to_json(const struct cprv_event *ev)
{
	struct sink s = { 0 };
	struct json_object *top, *raw, *a;

	top = s.obj = json_object_new_object();
	if (!top)
		return NULL;
	put_dec(&s, "ts", ev->ts);
	put_str(&s, "type", cprv_event_type_name(ev->type));
	put_dec(&s, "type_id", ev->type);
	put_str(&s, "stage", cprv_event_stage(ev->type));
	put_dec(&s, "pid", ev->pid);
	put_dec(&s, "tid", ev->tid);
	put_dec(&s, "cpu", ev->cpu);
	render_args(&s, ev);

	/* The raw record too, so nothing is lost to a rendering choice. */
	raw = json_object_new_object();
	json_put(&s, "raw", raw);
	if (s.oom) {
		json_object_put(top);
		return NULL;
	}
	s.obj = raw;
	put_dec(&s, "flags", ev->flags);
	put_hex(&s, "obj", ev->obj);
	a = json_object_new_array();
	json_put(&s, "a", a);
	for (int i = 0; a && i < 4; i++) {
		char tmp[24];
		struct json_object *w;

		snprintf(tmp, sizeof(tmp), "0x%" PRIx64, (uint64_t)ev->a[i]);
		w = json_object_new_string(tmp);
		if (!w || json_object_array_add(a, w)) {
			json_object_put(w);
			s.oom = 1;
		}
	}
	if (s.oom) {
		json_object_put(top);
		return NULL;
	}
	return top;
}
