/* COM1 output and a small printf: %s %c %d %u %x with l/ll, width, '0'. */
#include <stdarg.h>
#include "guest.h"
#include "hw.h"

#define COM1 0x3f8

void serial_init(void)
{
	outb(COM1 + 1, 0x00);   /* no UART interrupts: we poll */
	outb(COM1 + 3, 0x80);   /* DLAB */
	outb(COM1 + 0, 0x01);   /* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);   /* 8N1 */
	outb(COM1 + 2, 0x07);   /* FIFO on, cleared */
	outb(COM1 + 4, 0x03);   /* DTR, RTS; OUT2 off keeps the IRQ line quiet */
}

static void putc_raw(char c)
{
	/* bounded: a missing UART reads 0xff (THRE set) anyway */
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		;
	outb(COM1, (uint8_t)c);
}

static void putc_nl(char c)
{
	if (c == '\n')
		putc_raw('\r');
	putc_raw(c);
}

static void put_u64(uint64_t v, unsigned base, int width, char pad)
{
	char buf[24];
	int n = 0;
	do {
		uint32_t d = divmod64(&v, base);
		buf[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
	} while (v);
	while (n < width && n < (int)sizeof(buf))
		buf[n++] = pad;
	while (n)
		putc_nl(buf[--n]);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	/* the main loop and exception paths both print: keep lines whole */
	uint32_t fl = irq_save();
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			putc_nl(*p);
			continue;
		}
		p++;
		char pad = ' ';
		int width = 0, longs = 0;
		if (*p == '0') {
			pad = '0';
			p++;
		}
		while (*p >= '0' && *p <= '9')
			width = width * 10 + (*p++ - '0');
		while (*p == 'l') {
			longs++;
			p++;
		}
		switch (*p) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			for (s = s ? s : "(null)"; *s; s++)
				putc_nl(*s);
			break;
		}
		case 'c':
			putc_nl((char)va_arg(ap, int));
			break;
		case 'd': {
			int64_t v = longs >= 2 ? va_arg(ap, int64_t) : va_arg(ap, int32_t);
			if (v < 0) {
				putc_nl('-');
				v = -v;
			}
			put_u64((uint64_t)v, 10, width, pad);
			break;
		}
		case 'u':
		case 'x': {
			uint64_t v = longs >= 2 ? va_arg(ap, uint64_t) : va_arg(ap, uint32_t);
			put_u64(v, *p == 'u' ? 10 : 16, width, pad);
			break;
		}
		case '%':
			putc_nl('%');
			break;
		default:
			putc_nl('?');
			if (!*p)
				p--;
		}
	}
	irq_restore(fl);
	va_end(ap);
}
