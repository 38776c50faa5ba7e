/* interp.c - variable interpolation as docker compose does it ($$, $V, ${V} and the
 * :- - :? ? :+ + forms, nested defaults), applied to every scalar value of a compose file. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/mem.h"
#include "compose/internal.h"

#define MAX_NESTING 32

struct ictx {
	const struct lo2_kvv *env;
	struct lo2_strv *unset;
	struct lo2_err *err;
	const char *whole; /* the original text, for messages */
};

static int expand(struct ictx *c, const char *s, size_t n, struct lo2_buf *out, int depth);

static bool name_start(char ch)
{
	return ch == '_' || isalpha((unsigned char)ch);
}

static size_t name_len(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !name_start(s[0]))
		return 0;
	while (i < n && (s[i] == '_' || isalnum((unsigned char)s[i])))
		i++;
	return i;
}

static int put(struct ictx *c, struct lo2_buf *out, const char *s)
{
	if (lo2_buf_puts(out, s) < 0)
		return lo2_err_set(c->err, LO2_E_INVALID, "interpolated value of \"%.100s\" too long",
		                   c->whole);
	return 0;
}

static int invalid(struct ictx *c)
{
	return lo2_err_set(c->err, LO2_E_INVALID,
	                   "invalid interpolation format \"%.300s\" (write $$ for a literal $)", c->whole);
}

static const char *lookup(struct ictx *c, const char *name, size_t n)
{
	char key[256];

	if (n >= sizeof(key))
		return NULL;
	memcpy(key, name, n);
	key[n] = '\0';
	return c->env ? lo2_kvv_get(c->env, key) : NULL;
}

static void note_unset(struct ictx *c, const char *name, size_t n)
{
	char *k = xstrndup(name, n);

	if (c->unset && !lo2_strv_contains(c->unset, k))
		lo2_strv_push(c->unset, k);
	free(k);
}

/* Index of the '}' closing a "${" whose content starts at s[0], or n when unclosed. */
static size_t closing_brace(const char *s, size_t n)
{
	int depth = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '$' && i + 1 < n && s[i + 1] == '$') {
			i++;
		} else if (s[i] == '$' && i + 1 < n && s[i + 1] == '{') {
			depth++;
			i++;
		} else if (s[i] == '}') {
			if (depth == 0)
				return i;
			depth--;
		}
	}
	return n;
}

static int required_missing(struct ictx *c, const char *name, size_t nlen, const char *arg, size_t alen,
                            int depth)
{
	struct lo2_buf msg = LO2_BUF_INIT;
	int ret;

	if (expand(c, arg, alen, &msg, depth + 1) < 0) {
		lo2_buf_free(&msg);
		return -1;
	}
	ret = lo2_err_set(c->err, LO2_E_INVALID, "required variable %.*s is missing a value%s%.300s",
	                  (int)nlen, name, msg.len ? ": " : "", msg.len ? msg.data : "");
	lo2_buf_free(&msg);
	return ret;
}

/* ${NAME<op>arg}: content is what lies between the braces. */
static int braced(struct ictx *c, const char *s, size_t n, struct lo2_buf *out, int depth)
{
	size_t nl = name_len(s, n);
	const char *val, *op, *arg;
	size_t oplen, alen;
	bool colon, set, nonempty;

	if (nl == 0)
		return invalid(c);
	val = lookup(c, s, nl);
	set = val != NULL;
	nonempty = set && val[0] != '\0';
	if (nl == n) {
		if (!set)
			note_unset(c, s, nl);
		return put(c, out, set ? val : "");
	}
	op = s + nl;
	colon = op[0] == ':';
	oplen = colon ? 2 : 1;
	if (nl + oplen > n || strchr("-?+", op[oplen - 1]) == NULL)
		return invalid(c);
	arg = op + oplen;
	alen = n - nl - oplen;
	switch (op[oplen - 1]) {
	case '-':
		if (colon ? !nonempty : !set)
			return expand(c, arg, alen, out, depth + 1);
		return put(c, out, val);
	case '?':
		if (colon ? !nonempty : !set)
			return required_missing(c, s, nl, arg, alen, depth);
		return put(c, out, val);
	default: /* '+' */
		if (colon ? nonempty : set)
			return expand(c, arg, alen, out, depth + 1);
		return 0;
	}
}

static int dollar(struct ictx *c, const char *s, size_t n, size_t *i, struct lo2_buf *out, int depth)
{
	size_t at = *i + 1, nl, close;
	const char *val;

	if (at < n && s[at] == '$') {
		*i = at + 1;
		return put(c, out, "$");
	}
	nl = name_len(s + at, n - at);
	if (nl > 0) {
		val = lookup(c, s + at, nl);
		if (val == NULL)
			note_unset(c, s + at, nl);
		*i = at + nl;
		return put(c, out, val ? val : "");
	}
	if (at >= n || s[at] != '{')
		return invalid(c);
	close = closing_brace(s + at + 1, n - at - 1);
	if (close == n - at - 1)
		return invalid(c);
	*i = at + 1 + close + 1;
	return braced(c, s + at + 1, close, out, depth);
}

static int expand(struct ictx *c, const char *s, size_t n, struct lo2_buf *out, int depth)
{
	size_t i = 0;

	if (depth > MAX_NESTING)
		return lo2_err_set(c->err, LO2_E_INVALID,
		                   "interpolation nested deeper than %d levels in \"%.300s\"", MAX_NESTING,
		                   c->whole);
	while (i < n) {
		const char *d = memchr(s + i, '$', n - i);
		size_t plain = d ? (size_t)(d - (s + i)) : n - i;

		if (lo2_buf_append(out, s + i, plain) < 0)
			return lo2_err_set(c->err, LO2_E_INVALID, "interpolated value of \"%.100s\" too long",
			                   c->whole);
		i += plain;
		if (i < n && dollar(c, s, n, &i, out, depth) < 0)
			return -1;
	}
	return 0;
}

int compose_interpolate(const char *in, const struct lo2_kvv *env, char **out, struct lo2_strv *unset,
                        struct lo2_err *err)
{
	struct ictx c = {.env = env, .unset = unset, .err = err, .whole = in};
	struct lo2_buf b = LO2_BUF_INIT;

	b.max = 16u << 20;
	if (strchr(in, '$') == NULL) {
		*out = xstrdup(in);
		return 0;
	}
	if (expand(&c, in, strlen(in), &b, 0) < 0) {
		lo2_buf_free(&b);
		return -1;
	}
	*out = b.data ? lo2_buf_steal(&b) : xstrdup("");
	return 0;
}
