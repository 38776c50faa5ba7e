/* buf.h - a growable byte buffer with a hard size cap, so nothing grows without bound. */
#ifndef LO2_BUF_H
#define LO2_BUF_H

#include <stddef.h>

struct lo2_buf {
	char *data; /* always NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
	size_t max; /* 0 = no cap */
};

#define LO2_BUF_INIT \
	{ \
		NULL, 0, 0, 0 \
	}

/* Appends n bytes; returns -1 (buffer unchanged) when the cap would be exceeded. */
int lo2_buf_append(struct lo2_buf *b, const void *p, size_t n);
int lo2_buf_puts(struct lo2_buf *b, const char *s);
int lo2_buf_printf(struct lo2_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes. */
void lo2_buf_consume(struct lo2_buf *b, size_t n);
void lo2_buf_reset(struct lo2_buf *b);
/* Hands the data to the caller (who frees it) and empties the buffer. */
char *lo2_buf_steal(struct lo2_buf *b);
void lo2_buf_free(struct lo2_buf *b);
/* Appends v as a YAML double-quoted scalar ('"' and '\\' escaped, control bytes as \xNN). */
void lo2_buf_yaml_quoted(struct lo2_buf *b, const char *v);

#endif
