/* err.c - the error type shared by every module (see err.h). */
#include "common/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int lo2_err_vset(struct lo2_err *err, enum lo2_err_kind kind, const char *fmt, va_list ap)
{
	if (err == NULL)
		return -1;
	err->kind = kind;
	err->http_status = 0;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return -1;
}

int lo2_err_set(struct lo2_err *err, enum lo2_err_kind kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lo2_err_vset(err, kind, fmt, ap);
	va_end(ap);
	return -1;
}

int lo2_err_prefix(struct lo2_err *err, const char *fmt, ...)
{
	char ctx[LO2_ERR_MSG_MAX];
	char old[LO2_ERR_MSG_MAX];
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	snprintf(err->msg, sizeof(err->msg), "%s: %s", ctx, old);
	return -1;
}

int lo2_err_errno(struct lo2_err *err, int errnum, const char *fmt, ...)
{
	char what[LO2_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return lo2_err_set(err, errnum == ENOENT ? LO2_E_NOT_FOUND : LO2_E_GENERIC, "%s: %s", what,
	                   strerror(errnum));
}

void lo2_err_clear(struct lo2_err *err)
{
	if (err == NULL)
		return;
	err->kind = LO2_E_NONE;
	err->http_status = 0;
	err->msg[0] = '\0';
}
