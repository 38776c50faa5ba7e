/* util.c - compose/'s small value parsers: shell-style splitting, Go durations, byte sizes,
 * dotenv files, path joining and project-name rules (see internal.h). */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/mem.h"
#include "common/time.h"
#include "compose/internal.h"

/* ---- shell words ---- */

int compose_shell_split(const char *s, struct lo2_strv *out, struct lo2_err *err)
{
	struct lo2_buf w = LO2_BUF_INIT;
	bool in_word = false, escaped = false;
	char quote = 0;

	for (const char *p = s; *p; p++) {
		if (escaped) {
			lo2_buf_append(&w, p, 1);
			escaped = false;
			in_word = true;
		} else if (*p == '\\' && quote != '\'') {
			escaped = true;
		} else if (quote) {
			if (*p == quote)
				quote = 0;
			else
				lo2_buf_append(&w, p, 1);
		} else if (*p == '\'' || *p == '"') {
			quote = *p;
			in_word = true;
		} else if (isspace((unsigned char)*p)) {
			if (in_word)
				lo2_strv_take(out, w.data ? lo2_buf_steal(&w) : xstrdup(""));
			in_word = false;
		} else {
			lo2_buf_append(&w, p, 1);
			in_word = true;
		}
	}
	if (quote || escaped) {
		lo2_buf_free(&w);
		return lo2_err_set(err, LO2_E_INVALID, "unterminated %s in \"%.200s\"",
		                   escaped ? "escape" : "quote", s);
	}
	if (in_word)
		lo2_strv_take(out, w.data ? lo2_buf_steal(&w) : xstrdup(""));
	return 0;
}

/* ---- durations ---- */

int compose_parse_duration(const char *s, int64_t *ns, struct lo2_err *err)
{
	return lo2_duration_parse(s, ns, err);
}

/* "<whole>[.<frac>]<unit>" with trailing zeros of frac dropped. */
static size_t put_frac(char *out, size_t outsz, uint64_t v, uint64_t unit, const char *name)
{
	uint64_t whole = v / unit, frac = v % unit;
	char digits[24];
	int width = 0;

	for (uint64_t u = unit; u > 1; u /= 10)
		width++;
	if (frac == 0)
		return (size_t)snprintf(out, outsz, "%" PRIu64 "%s", whole, name);
	snprintf(digits, sizeof(digits), "%0*" PRIu64, width, frac);
	for (int i = width - 1; i > 0 && digits[i] == '0'; i--)
		digits[i] = '\0';
	return (size_t)snprintf(out, outsz, "%" PRIu64 ".%s%s", whole, digits, name);
}

void compose_format_duration(int64_t ns, char *out, size_t outsz)
{
	uint64_t u = ns < 0 ? (uint64_t)(-(ns + 1)) + 1 : (uint64_t)ns;
	size_t off = 0;

	if (ns == 0) {
		snprintf(out, outsz, "0s");
		return;
	}
	if (ns < 0)
		off = (size_t)snprintf(out, outsz, "-");
	if (u < 1000) {
		snprintf(out + off, outsz - off, "%" PRIu64 "ns", u);
		return;
	}
	if (u < 1000000000) {
		put_frac(out + off, outsz - off, u, u < 1000000 ? 1000 : 1000000,
		         u < 1000000 ? "\xc2\xb5s" : "ms");
		return;
	}
	if (u >= UINT64_C(3600000000000))
		off += (size_t)snprintf(out + off, outsz - off, "%" PRIu64 "h", u / UINT64_C(3600000000000));
	if (u >= UINT64_C(60000000000))
		off += (size_t)snprintf(out + off, outsz - off, "%" PRIu64 "m",
		                        (u / UINT64_C(60000000000)) % 60);
	put_frac(out + off, outsz - off, u % UINT64_C(60000000000), 1000000000, "s");
}

/* ---- sizes ---- */

int compose_parse_size(const char *s, int64_t *bytes, struct lo2_err *err)
{
	static const char units[] = "bkmgtp";
	char *end;
	double v = strtod(s, &end);
	const char *u;
	int64_t mul = 1;

	if (end == s || v < 0 || !isdigit((unsigned char)s[0]))
		goto bad;
	while (*end == ' ')
		end++;
	if (*end) {
		u = strchr(units, tolower((unsigned char)*end));
		if (u == NULL)
			goto bad;
		for (const char *q = units; q < u; q++)
			mul *= 1024;
		end++;
		if (*end == 'i' || *end == 'I')
			end++;
		if (u != units && (*end == 'b' || *end == 'B'))
			end++;
		if (*end)
			goto bad;
	}
	if (v * (double)mul > 9.2e18)
		goto bad;
	*bytes = (int64_t)(v * (double)mul);
	return 0;
bad:
	return lo2_err_set(err, LO2_E_INVALID, "invalid size \"%.100s\" (expected e.g. 64m, 1g, 1024)", s);
}

/* ---- dotenv ---- */

struct dotenv {
	const char *p;
	const char *file;
	int line;
	const struct lo2_kvv *lookup;
	struct lo2_kvv *kv;
	struct lo2_err *err;
};

static void skip_blank(struct dotenv *d)
{
	while (*d->p == ' ' || *d->p == '\t' || *d->p == '\r')
		d->p++;
}

static void skip_line(struct dotenv *d)
{
	while (*d->p && *d->p != '\n')
		d->p++;
	if (*d->p == '\n') {
		d->p++;
		d->line++;
	}
}

static int dotenv_interp(struct dotenv *d, const char *raw, char **out)
{
	struct lo2_kvv env = {0};
	int rc;

	if (d->lookup)
		lo2_kvv_copy(&env, d->lookup);
	lo2_kvv_copy(&env, d->kv);
	rc = compose_interpolate(raw, &env, out, NULL, d->err);
	lo2_kvv_free(&env);
	if (rc < 0)
		return lo2_err_prefix(d->err, "%s:%d", d->file, d->line);
	return 0;
}

static char dq_escape(char c)
{
	switch (c) {
	case 'n':
		return '\n';
	case 't':
		return '\t';
	case 'r':
		return '\r';
	default:
		return c;
	}
}

/* A quoted value at d->p (opening quote included); may span lines. */
static int dotenv_quoted(struct dotenv *d, struct lo2_buf *v)
{
	char q = *d->p++;
	int start = d->line;

	while (*d->p && *d->p != q) {
		if (*d->p == '\n')
			d->line++;
		if (q == '"' && d->p[0] == '\\' && d->p[1]) {
			char e = dq_escape(d->p[1]);

			lo2_buf_append(v, &e, 1);
			d->p += 2;
			continue;
		}
		lo2_buf_append(v, d->p++, 1);
	}
	if (*d->p != q)
		return lo2_err_set(d->err, LO2_E_INVALID, "%s:%d: unterminated quoted value", d->file, start);
	d->p++;
	return 0;
}

static void dotenv_unquoted(struct dotenv *d, struct lo2_buf *v)
{
	const char *start = d->p;
	size_t n;

	while (*d->p && *d->p != '\n' && !(*d->p == '#' && d->p > start && isspace((unsigned char)d->p[-1])))
		d->p++;
	n = (size_t)(d->p - start);
	while (n > 0 && isspace((unsigned char)start[n - 1]))
		n--;
	lo2_buf_append(v, start, n);
}

static int dotenv_value(struct dotenv *d, const char *key)
{
	struct lo2_buf v = LO2_BUF_INIT;
	char *val = NULL;
	bool single = *d->p == '\'';
	int ret = -1;

	if (*d->p == '\'' || *d->p == '"') {
		if (dotenv_quoted(d, &v) < 0)
			goto out;
	} else {
		dotenv_unquoted(d, &v);
	}
	if (single)
		val = xstrdup(v.data ? v.data : "");
	else if (dotenv_interp(d, v.data ? v.data : "", &val) < 0)
		goto out;
	lo2_kvv_set(d->kv, key, val);
	ret = 0;
out:
	free(val);
	lo2_buf_free(&v);
	return ret;
}

static int dotenv_line(struct dotenv *d)
{
	const char *k;
	char *key;
	const char *from;
	size_t kn;
	int rc = 0;

	skip_blank(d);
	if (*d->p == '#' || *d->p == '\n' || *d->p == '\0')
		return 0;
	if (strncmp(d->p, "export ", 7) == 0)
		d->p += 7;
	skip_blank(d);
	k = d->p;
	while (*d->p && *d->p != '=' && *d->p != '\n' && !isspace((unsigned char)*d->p))
		d->p++;
	kn = (size_t)(d->p - k);
	if (kn == 0)
		return lo2_err_set(d->err, LO2_E_INVALID, "%s:%d: expected KEY=VALUE", d->file, d->line);
	key = xstrndup(k, kn);
	skip_blank(d);
	if (*d->p == '=') {
		d->p++;
		skip_blank(d);
		rc = dotenv_value(d, key);
	} else {
		from = d->lookup ? lo2_kvv_get(d->lookup, key) : NULL;
		if (from)
			lo2_kvv_set(d->kv, key, from);
	}
	free(key);
	return rc;
}

int compose_dotenv_parse(const char *text, const char *file, const struct lo2_kvv *lookup, struct lo2_kvv *kv,
                         struct lo2_err *err)
{
	struct dotenv d = {.p = text, .file = file, .line = 1, .lookup = lookup, .kv = kv, .err = err};

	while (*d.p) {
		if (dotenv_line(&d) < 0)
			return -1;
		skip_line(&d);
	}
	return 0;
}

/* ---- paths and names ---- */

char *compose_path_resolve(const char *base, const char *rel)
{
	char *joined = rel[0] == '/' ? xstrdup(rel) : xasprintf("%s/%s", base, rel);
	char *out = xmalloc(strlen(joined) + 2);
	size_t n = 0;
	char *save = NULL;

	for (char *seg = strtok_r(joined, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
			continue;
		}
		out[n++] = '/';
		memcpy(out + n, seg, strlen(seg));
		n += strlen(seg);
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	free(joined);
	return out;
}

char *compose_normalize_name(const char *s)
{
	char *out = xmalloc(strlen(s) + 1);
	size_t n = 0;

	for (const char *p = s; *p; p++) {
		char c = (char)tolower((unsigned char)*p);

		if (!(isdigit((unsigned char)c) || (c >= 'a' && c <= 'z') || c == '_' || c == '-'))
			continue;
		if (n == 0 && (c == '_' || c == '-'))
			continue;
		out[n++] = c;
	}
	out[n] = '\0';
	return out;
}

bool compose_name_is_valid(const char *s)
{
	if (!(isdigit((unsigned char)s[0]) || (s[0] >= 'a' && s[0] <= 'z')))
		return false;
	for (const char *p = s; *p; p++)
		if (!(isdigit((unsigned char)*p) || (*p >= 'a' && *p <= 'z') || *p == '_' || *p == '-'))
			return false;
	return true;
}
