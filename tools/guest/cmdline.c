/* Multiboot command line: `edu`, `rate=N`, `vector=V` (decimal or 0x hex).
 * Loaders put the kernel's own path first; an unrecognised first word is
 * taken to be that path. Bad values are reported and the default is kept. */
#include "guest.h"

static bool parse_num(const char *s, uint32_t *out)
{
	uint32_t v = 0, base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		uint32_t d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return false;
		if (v > (0xffffffffu - d) / base)
			return false;
		v = v * base + d;
	}
	*out = v;
	return true;
}

static bool starts(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return false;
	return true;
}

/* Returns false if the word is not an option at all. */
static bool option(struct guest *g, const char *w)
{
	uint32_t v;

	if (w[0] == 'e' && w[1] == 'd' && w[2] == 'u' && !w[3]) {
		g->edu.wanted = true;
		return true;
	}
	if (starts(w, "rate=")) {
		if (parse_num(w + 5, &v) && v <= 1000000)
			g->edu.rate = v;
		else
			kprintf("cprv-guest error: bad option '%s' (0..1000000 MSIs/s), keeping rate=%u\n",
				w, g->edu.rate);
		return true;
	}
	if (starts(w, "vector=")) {
		if (parse_num(w + 7, &v) && v >= 0x20 && v < TIMER_VECTOR)
			g->edu.vector = (uint8_t)v;
		else
			kprintf("cprv-guest error: bad option '%s' (0x20..0x%x), keeping vector=0x%x\n",
				w, TIMER_VECTOR - 1, g->edu.vector);
		return true;
	}
	return false;
}

void cmdline_parse(struct guest *g, const char *cmdline)
{
	char word[128];
	int nword = 0;
	const char *p = cmdline;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		unsigned n = 0;
		while (*p && *p != ' ' && *p != '\t') {
			if (n < sizeof(word) - 1)
				word[n++] = *p;
			p++;
		}
		word[n] = 0;
		if (!option(g, word) && nword > 0)
			kprintf("cprv-guest error: unknown option '%s' (known: edu rate=N vector=V)\n", word);
		nword++;
	}
	if (g->edu.wanted)
		g->hb->flags |= CPRV_GUEST_F_EDU_WANTED;
}
