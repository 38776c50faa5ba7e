/* buf.c - capped growable buffer (see buf.h). */
#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

int lo2_buf_append(struct lo2_buf *b, const void *p, size_t n)
{
	size_t need = b->len + n + 1;

	if (b->max && b->len + n > b->max)
		return -1;
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < need)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int lo2_buf_puts(struct lo2_buf *b, const char *s)
{
	return lo2_buf_append(b, s, strlen(s));
}

int lo2_buf_printf(struct lo2_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int ret;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	ret = lo2_buf_puts(b, s);
	free(s);
	return ret;
}

void lo2_buf_consume(struct lo2_buf *b, size_t n)
{
	if (n >= b->len) {
		lo2_buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void lo2_buf_reset(struct lo2_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

char *lo2_buf_steal(struct lo2_buf *b)
{
	char *p = b->data ? b->data : xstrdup("");

	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void lo2_buf_free(struct lo2_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void lo2_buf_yaml_quoted(struct lo2_buf *b, const char *v)
{
	lo2_buf_puts(b, "\"");
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\')
			lo2_buf_printf(b, "\\%c", *p);
		else if (*p < 0x20)
			lo2_buf_printf(b, "\\x%02x", *p);
		else
			lo2_buf_append(b, p, 1);
	}
	lo2_buf_puts(b, "\"");
}
