/* mem.h - allocation that aborts on failure (so ordinary code has no NULL checks
 * after allocating) and the cleanup attribute used for owned pointers. */
#ifndef LO2_MEM_H
#define LO2_MEM_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s); /* xstrdup(NULL) returns NULL */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

void lo2_freep(void *pp);
void lo2_closep(int *fdp);
/* A char * that is freed when it goes out of scope. */
#define lo2_autofree __attribute__((cleanup(lo2_freep)))
/* An int fd (or -1) that is closed when it goes out of scope. */
#define lo2_autoclose __attribute__((cleanup(lo2_closep)))

#endif
