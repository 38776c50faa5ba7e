/* dockerignore.c - the .dockerignore matcher and the build context walk (see dockerignore.h).
 * Semantics follow moby's patternmatcher: each pattern is matched against the path and each of
 * its parent folders; patterns are applied in order and the last one that matches decides. */
#include "common/dockerignore.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/file.h"
#include "common/mem.h"
#include "common/str.h"

struct pattern {
	bool exception;
	struct lo2_strv segs; /* cleaned, '/'-split; "**" is its own segment */
};

struct lo2_ignore {
	struct pattern *v;
	size_t n;
	bool has_exceptions;
};

/* Splits a '/'-path into segments, resolving "." and ".." like filepath.Clean. */
static void split_clean(const char *path, struct lo2_strv *out)
{
	const char *p = path;

	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (len == 2 && p[0] == '.' && p[1] == '.' && out->n > 0 &&
		    strcmp(out->v[out->n - 1], "..") != 0) {
			free(out->v[--out->n]);
			out->v[out->n] = NULL;
		} else if (len > 0 && !(len == 1 && p[0] == '.')) {
			lo2_strv_take(out, xstrndup(p, len));
		}
		p += len;
		if (*p == '/')
			p++;
	}
}

/* Checks a character class starting after '['; returns the index after ']' or 0 when malformed. */
static size_t class_end(const char *p)
{
	size_t i = 0;

	if (p[i] == '^' || p[i] == '!')
		i++;
	if (p[i] == ']')
		return 0; /* Go: an empty class is a bad pattern */
	while (p[i] && p[i] != ']') {
		if (p[i] == '\\' && p[i + 1])
			i++;
		i++;
	}
	return p[i] == ']' ? i + 1 : 0;
}

static bool valid_segment(const char *s)
{
	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '\\') {
			if (s[i + 1] == '\0')
				return false;
			i++;
		} else if (s[i] == '[') {
			size_t e = class_end(s + i + 1);

			if (e == 0)
				return false;
			i += e;
		}
	}
	return true;
}

/* Does c fall in the class at p (just after '[')? *len gets the class length including ']'. */
static bool class_match(const char *p, char c, size_t *len)
{
	size_t i = 0;
	bool neg = false, hit = false;

	if (p[i] == '^' || p[i] == '!') {
		neg = true;
		i++;
	}
	while (p[i] && p[i] != ']') {
		char lo = p[i], hi;

		if (lo == '\\' && p[i + 1])
			lo = p[++i];
		hi = lo;
		if (p[i + 1] == '-' && p[i + 2] && p[i + 2] != ']') {
			i += 2;
			hi = p[i];
			if (hi == '\\' && p[i + 1])
				hi = p[++i];
		}
		if (c >= lo && c <= hi)
			hit = true;
		i++;
	}
	*len = i + 1;
	return hit != neg;
}

/* Does the single-byte item at *p ('?', a [class], an escaped or a plain byte) match c? On a
 * match *p moves past the item. */
static bool item_match(const char **p, char c)
{
	size_t len;

	switch (**p) {
	case '\0':
		return false;
	case '?':
		(*p)++;
		return true;
	case '[':
		if (!class_match(*p + 1, c, &len))
			return false;
		*p += 1 + len;
		return true;
	case '\\': {
		/* "\x" is a literal x; a lone '\' at the end is itself */
		const char *lit = (*p)[1] != '\0' ? *p + 1 : *p;

		if (*lit != c)
			return false;
		*p = lit + 1;
		return true;
	}
	default:
		if (**p != c)
			return false;
		(*p)++;
		return true;
	}
}

/* Go path.Match on one segment: '*' any run, '?' one byte, [classes], '\' escapes. Iterative,
 * going back only to the last '*' (a pattern of many stars is linear per star, not exponential:
 * "*a*a*a...b" against "aaaa..." took minutes with recursion). */
static bool glob(const char *p, const char *s)
{
	const char *star_p = NULL, *star_s = NULL;

	while (*s) {
		if (*p == '*') {
			while (*p == '*')
				p++;
			if (*p == '\0')
				return true;
			star_p = p;
			star_s = s;
			continue;
		}
		if (item_match(&p, *s)) {
			s++;
			continue;
		}
		if (star_p == NULL)
			return false;
		p = star_p;
		s = ++star_s;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

/* Do all of pattern segments p[0..np) match exactly path segments s[0..ns)? "**" matches any
 * number of segments (a trailing one at least one). The same last-star method as glob, over
 * segments, so many "**" stay polynomial. */
static bool match_segs(char **p, size_t np, char **s, size_t ns)
{
	size_t i = 0, j = 0, star = SIZE_MAX, mark = 0;

	while (j < ns) {
		if (i < np && strcmp(p[i], "**") == 0) {
			if (i == np - 1)
				return true; /* a trailing "**" takes the rest (one or more) */
			star = i++;
			mark = j;
			continue;
		}
		if (i < np && glob(p[i], s[j])) {
			i++;
			j++;
			continue;
		}
		if (star == SIZE_MAX)
			return false;
		i = star + 1;
		j = ++mark;
	}
	while (i < np - (np > 0) && strcmp(p[i], "**") == 0)
		i++;
	return i == np;
}

int lo2_ignore_add(struct lo2_ignore *ig, const char *line, struct lo2_err *err)
{
	lo2_autofree char *t = xstrdup(line);
	char *s = t, *end;
	bool exception = false;
	struct pattern *pt;

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		*--end = '\0';
	if (*s == '\0' || *s == '#')
		return 0;
	if (*s == '!') {
		exception = true;
		s++;
		while (*s == ' ' || *s == '\t')
			s++;
	}
	ig->v = xrealloc(ig->v, (ig->n + 1) * sizeof(*ig->v));
	pt = &ig->v[ig->n];
	memset(pt, 0, sizeof(*pt));
	pt->exception = exception;
	split_clean(s, &pt->segs);
	for (size_t i = 0; i < pt->segs.n; i++) {
		if (!valid_segment(pt->segs.v[i])) {
			lo2_strv_free(&pt->segs);
			return lo2_err_set(err, LO2_E_INVALID, "bad pattern '%s'", line);
		}
	}
	ig->n++;
	ig->has_exceptions |= exception;
	return 0;
}

int lo2_ignore_parse(const char *text, const char *what, struct lo2_ignore **out, struct lo2_err *err)
{
	struct lo2_ignore *ig = xcalloc(1, sizeof(*ig));
	const char *p = text;
	int lineno = 0;

	if (lo2_str_has_prefix(p, "\xef\xbb\xbf"))
		p += 3; /* UTF-8 byte order mark */
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		lo2_autofree char *line = xstrndup(p, len);

		lineno++;
		if (lo2_ignore_add(ig, line, err) < 0) {
			lo2_ignore_free(ig);
			return lo2_err_prefix(err, "%s:%d", what, lineno);
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	*out = ig;
	return 0;
}

void lo2_ignore_free(struct lo2_ignore *ig)
{
	if (ig == NULL)
		return;
	for (size_t i = 0; i < ig->n; i++)
		lo2_strv_free(&ig->v[i].segs);
	free(ig->v);
	free(ig);
}

bool lo2_ignore_has_exceptions(const struct lo2_ignore *ig)
{
	return ig->has_exceptions;
}

bool lo2_ignore_matches(const struct lo2_ignore *ig, const char *path)
{
	struct lo2_strv segs = {0};
	bool matched = false;

	split_clean(path, &segs);
	for (size_t i = 0; i < ig->n; i++) {
		const struct pattern *pt = &ig->v[i];
		bool hit = false;

		/* an exclusion cannot change an excluded path, an exception cannot change an included one */
		if (pt->exception != matched)
			continue;
		for (size_t k = 1; k <= segs.n && !hit; k++)
			hit = match_segs(pt->segs.v, pt->segs.n, segs.v, k);
		if (hit)
			matched = !pt->exception;
	}
	lo2_strv_free(&segs);
	return matched;
}

/* ---- the context walk ---- */

struct walk {
	struct lo2_tar *tar;
	const struct lo2_ignore *ig;
};

static int walk_dir(struct walk *w, const char *abs, const char *rel, struct lo2_err *err);

static int walk_entry(struct walk *w, const char *abs, const char *rel, struct lo2_err *err)
{
	struct stat st;
	bool excluded = lo2_ignore_matches(w->ig, rel);

	if (lstat(abs, &st) < 0)
		return lo2_err_errno(err, errno, "build context: stat %s", abs);
	if (!excluded && lo2_tar_add_path(w->tar, abs, rel, err) < 0)
		return -1;
	/* an excluded folder is still walked when an exception may re-include something in it */
	if (S_ISDIR(st.st_mode) && (!excluded || lo2_ignore_has_exceptions(w->ig)))
		return walk_dir(w, abs, rel, err);
	return 0;
}

static int walk_dir(struct walk *w, const char *abs, const char *rel, struct lo2_err *err)
{
	struct dirent **names = NULL;
	int n = scandir(abs, &names, NULL, alphasort);
	int ret = 0;

	if (n < 0)
		return lo2_err_errno(err, errno, "build context: read folder %s", abs);
	for (int i = 0; i < n; i++) {
		const char *d = names[i]->d_name;

		if (ret == 0 && strcmp(d, ".") != 0 && strcmp(d, "..") != 0) {
			lo2_autofree char *a = xasprintf("%s/%s", abs, d);
			lo2_autofree char *r = rel[0] ? xasprintf("%s/%s", rel, d) : xstrdup(d);

			ret = walk_entry(w, a, r, err);
		}
		free(names[i]);
	}
	free(names);
	return ret;
}

/* Reads dir/.dockerignore (absent: no patterns) and adds the always-sent exceptions. */
static int load_ignore(const char *dir, const char *dockerfile, struct lo2_ignore **out, struct lo2_err *err)
{
	lo2_autofree char *path = xasprintf("%s/.dockerignore", dir);
	lo2_autofree char *text = NULL;
	lo2_autofree char *keep = NULL;
	struct lo2_ignore *ig = NULL;
	size_t len;

	if (lo2_read_file(path, 1024 * 1024, &text, &len, err) < 0) {
		if (err->kind != LO2_E_NOT_FOUND)
			return -1;
		lo2_err_clear(err);
		text = xstrdup("");
	}
	if (lo2_ignore_parse(text, path, &ig, err) < 0)
		return -1;
	keep = xasprintf("!%s", dockerfile);
	if (lo2_ignore_add(ig, keep, err) < 0 || lo2_ignore_add(ig, "!.dockerignore", err) < 0) {
		lo2_ignore_free(ig);
		return -1;
	}
	*out = ig;
	return 0;
}

int lo2_build_context(const char *dir, const char *dockerfile, struct lo2_tar **out, struct lo2_err *err)
{
	struct walk w = {0};
	struct lo2_ignore *ig = NULL;
	struct stat st;
	int ret = -1;

	if (stat(dir, &st) < 0)
		return lo2_err_errno(err, errno, "build context %s", dir);
	if (!S_ISDIR(st.st_mode))
		return lo2_err_set(err, LO2_E_INVALID, "build context %s: not a folder", dir);
	if (load_ignore(dir, dockerfile ? dockerfile : "Dockerfile", &ig, err) < 0)
		return lo2_err_prefix(err, "build context %s", dir);
	w.tar = lo2_tar_new();
	w.ig = ig;
	if (walk_dir(&w, dir, "", err) < 0)
		goto out;
	*out = w.tar;
	w.tar = NULL;
	ret = 0;
out:
	lo2_tar_free(w.tar);
	lo2_ignore_free(ig);
	return ret;
}
