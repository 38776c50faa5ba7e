/* err.h - lo2's error convention: fallible functions return 0 or -1 and fill a
 * struct lo2_err whose message names the operation and the object. Callers add
 * context on the way up with lo2_err_prefix(); only cli/ prints. */
#ifndef LO2_ERR_H
#define LO2_ERR_H

#include <stdarg.h>

#define LO2_ERR_MSG_MAX 2048

/* Classes callers branch on; the message stays the thing a user reads. */
enum lo2_err_kind {
	LO2_E_NONE = 0,
	LO2_E_GENERIC,
	LO2_E_NOT_FOUND, /* 404 or a missing file/object */
	LO2_E_CONFLICT, /* 409 */
	LO2_E_NOT_MODIFIED, /* 304: already started/stopped */
	LO2_E_INVALID, /* bad input, 400 */
	LO2_E_CONNECT, /* could not reach a server */
	LO2_E_TIMEOUT,
	LO2_E_CANCELLED,
	LO2_E_AUTH, /* access denied */
	LO2_E_USAGE, /* bad command line: exit 2 */
};

struct lo2_err {
	enum lo2_err_kind kind;
	int http_status; /* 0 when no HTTP status applies */
	char msg[LO2_ERR_MSG_MAX];
};

/* Sets the message (printf-style) and the kind; returns -1 so `return lo2_err_set(...)` reads well. */
int lo2_err_set(struct lo2_err *err, enum lo2_err_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int lo2_err_vset(struct lo2_err *err, enum lo2_err_kind kind, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* Prepends "<context>: " to the message, keeping the kind; returns -1. */
int lo2_err_prefix(struct lo2_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sets the message from errno: "<what>: <strerror(errnum)>"; returns -1. */
int lo2_err_errno(struct lo2_err *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void lo2_err_clear(struct lo2_err *err);

#endif
