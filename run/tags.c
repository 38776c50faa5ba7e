/* tags.c - Locust tag discovery as the original driver did it (grep for
 * `@tag('error', ..., '<name>')`), but with a small tokenizer instead of a regex so both quote
 * styles, spaces and multi-line decorators work, and hostile names are refused. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/mem.h"
#include "run/run.h"

#define SOURCE_MAX (16u * 1024 * 1024)

static int line_of(const char *text, const char *p)
{
	int line = 1;

	for (const char *q = text; q < p; q++)
		line += *q == '\n';
	return line;
}

/* Reads a Python string literal at *p (quote ' or "), advancing past it; NULL if unterminated. */
static char *read_string(const char **p)
{
	char q = **p;
	const char *s = *p + 1;
	struct lo2_buf b = LO2_BUF_INIT;

	for (; *s && *s != q && *s != '\n'; s++) {
		if (*s == '\\' && s[1] && s[1] != '\n')
			s++;
		lo2_buf_append(&b, s, 1);
	}
	if (*s != q) {
		lo2_buf_free(&b);
		return NULL;
	}
	*p = s + 1;
	return lo2_buf_steal(&b);
}

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\\')
		p++;
	return p;
}

/* Parses the arguments after "@tag(": collects string arguments until ')'. Returns -1 when the
 * decorator is not a plain list of strings (then it is not an error tag and is ignored). */
static int tag_args(const char **pp, struct lo2_strv *args)
{
	const char *p = skip_space(*pp);

	while (*p != ')') {
		char *s;

		if (*p != '\'' && *p != '"')
			return -1;
		s = read_string(&p);
		if (s == NULL)
			return -1;
		lo2_strv_take(args, s);
		p = skip_space(p);
		if (*p == ',')
			p = skip_space(p + 1);
		else if (*p != ')')
			return -1;
	}
	*pp = p + 1;
	return 0;
}

int run_tags_from_source(const char *text, const char *file, struct lo2_strv *tags, struct lo2_err *err)
{
	for (const char *p = strstr(text, "@tag("); p != NULL; p = strstr(p, "@tag(")) {
		const char *at = p;
		struct lo2_strv args = {0};

		p += 5;
		if (tag_args(&p, &args) == 0 && args.n >= 2 && strcmp(args.v[0], "error") == 0) {
			const char *name = args.v[args.n - 1];

			if (lo2_name_check("tag", name, err) < 0) {
				lo2_strv_free(&args);
				return lo2_err_prefix(err, "%s:%d", file, line_of(text, at));
			}
			if (!lo2_strv_contains(tags, name))
				lo2_strv_push(tags, name);
		}
		lo2_strv_free(&args);
	}
	return 0;
}

static int scan_file(void *user, const char *path, const char *rel, struct lo2_err *err)
{
	lo2_autofree char *text = NULL;

	if (!lo2_str_has_suffix(rel, ".py"))
		return 0;
	if (lo2_read_file(path, SOURCE_MAX, &text, NULL, err) < 0)
		return -1;
	return run_tags_from_source(text, path, user, err);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int run_tags_discover(const char *dir, struct lo2_strv *tags, struct lo2_err *err)
{
	struct lo2_strv found = {0};

	if (access(dir, R_OK | X_OK) != 0)
		return lo2_err_errno(err, errno, "read locustfile folder %s", dir);
	lo2_strv_push(&found, "correct");
	if (lo2_walk_files(dir, scan_file, &found, err) < 0) {
		lo2_strv_free(&found);
		return -1;
	}
	qsort(found.v, found.n, sizeof(*found.v), cmp_str);
	*tags = found;
	return 0;
}
