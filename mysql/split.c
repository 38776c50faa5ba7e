/* split.c - the SQL script splitter: statements separated by ';' (or a DELIMITER) outside
 * quotes and comments, each with the line it starts on, as the mysql client reads a script.
 * Pure text work: no server, no libmariadb. */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/mem.h"
#include "mysql/mysql.h"

#define DELIM_MAX 16

struct splitter {
	const char *s;
	size_t len;
	size_t i; /* scan position */
	size_t line; /* line of line_pos */
	size_t line_pos; /* newlines before this are counted in line */
	char delim[DELIM_MAX + 1];
	size_t delim_len;
	struct db_script *out;
	size_t cap;
};

/* The 1-based line of offset pos (pos never goes backwards between calls). */
static size_t line_at(struct splitter *sp, size_t pos)
{
	for (; sp->line_pos < pos; sp->line_pos++)
		if (sp->s[sp->line_pos] == '\n')
			sp->line++;
	return sp->line;
}

static bool at(const struct splitter *sp, size_t pos, const char *lit)
{
	size_t n = strlen(lit);

	return pos + n <= sp->len && memcmp(sp->s + pos, lit, n) == 0;
}

/* "-- " starts a comment only when followed by whitespace, a control character or the end. */
static bool at_dash_comment(const struct splitter *sp, size_t pos)
{
	if (!at(sp, pos, "--"))
		return false;
	return pos + 2 == sp->len || isspace((unsigned char)sp->s[pos + 2]) ||
	       iscntrl((unsigned char)sp->s[pos + 2]);
}

static bool at_line_comment(const struct splitter *sp, size_t pos)
{
	return sp->s[pos] == '#' || at_dash_comment(sp, pos);
}

/* A C comment that is not an executable one (/ *! or / *M!), which the server must see. */
static bool at_plain_c_comment(const struct splitter *sp, size_t pos)
{
	return at(sp, pos, "/*") && !at(sp, pos, "/*!") && !at(sp, pos, "/*M!");
}

static size_t skip_line(const struct splitter *sp, size_t pos)
{
	while (pos < sp->len && sp->s[pos] != '\n')
		pos++;
	return pos;
}

/* Past the comment opened at pos, or -1 (err set) when it never closes. */
static int skip_c_comment(struct splitter *sp, size_t *pos, struct lo2_err *err)
{
	const char *end = NULL;
	size_t start = *pos;

	if (start + 2 <= sp->len)
		end = memmem(sp->s + start + 2, sp->len - start - 2, "*/", 2);
	if (end == NULL)
		return lo2_err_set(err, LO2_E_INVALID, "line %zu: unterminated /* comment",
		                   line_at(sp, start));
	*pos = (size_t)(end - sp->s) + 2;
	return 0;
}

/* Past the quoted string opened at pos, or -1 (err set) when it never closes. */
static int skip_quoted(struct splitter *sp, size_t *pos, struct lo2_err *err)
{
	char q = sp->s[*pos];
	size_t p = *pos + 1;

	while (p < sp->len) {
		if (sp->s[p] == '\\' && q != '`') {
			p += 2;
			continue;
		}
		if (sp->s[p] == q) {
			*pos = p + 1;
			return 0;
		}
		p++;
	}
	return lo2_err_set(err, LO2_E_INVALID, "line %zu: unterminated %c...%c string", line_at(sp, *pos), q,
	                   q);
}

/* A "DELIMITER x" line at pos (case-insensitive): sets the delimiter and moves past the line. */
static int try_delimiter_line(struct splitter *sp, struct lo2_err *err)
{
	size_t p = sp->i + 9, start, n;

	if (sp->i + 9 >= sp->len || strncasecmp(sp->s + sp->i, "DELIMITER", 9) != 0 ||
	    (sp->s[p] != ' ' && sp->s[p] != '\t'))
		return 0;
	while (p < sp->len && (sp->s[p] == ' ' || sp->s[p] == '\t'))
		p++;
	start = p;
	while (p < sp->len && !isspace((unsigned char)sp->s[p]))
		p++;
	n = p - start;
	if (n == 0 || n > DELIM_MAX)
		return lo2_err_set(err, LO2_E_INVALID,
		                   "line %zu: DELIMITER needs a delimiter of 1 to %d characters",
		                   line_at(sp, sp->i), DELIM_MAX);
	memcpy(sp->delim, sp->s + start, n);
	sp->delim[n] = '\0';
	sp->delim_len = n;
	sp->i = skip_line(sp, p);
	return 1;
}

static void push(struct splitter *sp, size_t start, size_t end)
{
	struct db_stmt *st;

	while (end > start && isspace((unsigned char)sp->s[end - 1]))
		end--;
	if (end == start)
		return;
	if (sp->out->n == sp->cap) {
		sp->cap = sp->cap ? sp->cap * 2 : 16;
		sp->out->v = xrealloc(sp->out->v, sp->cap * sizeof(*sp->out->v));
	}
	st = &sp->out->v[sp->out->n++];
	st->text = xstrndup(sp->s + start, end - start);
	st->line = line_at(sp, start);
}

/* Moves past whitespace, comments and DELIMITER lines between statements. Returns 1 when a
 * statement starts at sp->i, 0 at the end, -1 on error. */
static int skip_gap(struct splitter *sp, struct lo2_err *err)
{
	int r;

	while (sp->i < sp->len) {
		if (isspace((unsigned char)sp->s[sp->i])) {
			sp->i++;
			continue;
		}
		if (at_line_comment(sp, sp->i)) {
			sp->i = skip_line(sp, sp->i);
			continue;
		}
		if (at_plain_c_comment(sp, sp->i)) {
			if (skip_c_comment(sp, &sp->i, err) < 0)
				return -1;
			continue;
		}
		r = try_delimiter_line(sp, err);
		if (r < 0)
			return -1;
		if (r > 0)
			continue;
		if (!at(sp, sp->i, sp->delim))
			return 1;
		sp->i += sp->delim_len; /* an empty statement */
	}
	return 0;
}

/* Scans one statement from sp->i to its delimiter (or the end) and records it. */
static int scan_statement(struct splitter *sp, struct lo2_err *err)
{
	size_t start = sp->i;
	char c;

	while (sp->i < sp->len) {
		c = sp->s[sp->i];
		if (c == '\'' || c == '"' || c == '`') {
			if (skip_quoted(sp, &sp->i, err) < 0)
				return -1;
		} else if (at(sp, sp->i, sp->delim)) {
			push(sp, start, sp->i);
			sp->i += sp->delim_len;
			return 0;
		} else if (at_line_comment(sp, sp->i)) {
			sp->i = skip_line(sp, sp->i);
		} else if (at(sp, sp->i, "/*")) {
			if (skip_c_comment(sp, &sp->i, err) < 0)
				return -1;
		} else {
			sp->i++;
		}
	}
	push(sp, start, sp->len);
	return 0;
}

int db_script_split(const char *text, size_t len, struct db_script *out, struct lo2_err *err)
{
	struct splitter sp = {.s = text, .len = len, .line = 1, .delim = ";", .delim_len = 1, .out = out};
	int r;

	out->v = NULL;
	out->n = 0;
	for (;;) {
		r = skip_gap(&sp, err);
		if (r > 0)
			r = scan_statement(&sp, err);
		else
			break;
		if (r < 0)
			break;
	}
	if (r < 0) {
		db_script_free(out);
		return -1;
	}
	return 0;
}

void db_script_free(struct db_script *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].text);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* True when the word at p (case-insensitive) is one after which a secret may follow. */
static bool at_secret_word(const char *p, const char *text)
{
	static const char *const words[] = {"IDENTIFIED", "PASSWORD"};

	if (p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
		return false;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strncasecmp(p, words[i], strlen(words[i])) == 0)
			return true;
	return false;
}

/* Copies the secret word at p into out (within lim); returns its length copied. */
static size_t copy_word(const char *p, char *out, size_t n, size_t lim)
{
	size_t w = strncasecmp(p, "IDENTIFIED", 10) == 0 ? 10 : 8;

	if (n + w > lim)
		w = lim - n;
	memcpy(out + n, p, w);
	return w;
}

void db_stmt_excerpt(const char *text, char *out, size_t outsz)
{
	const size_t max = 60;
	size_t n = 0, lim;
	bool space = false, cut = false;

	if (outsz < 6) {
		if (outsz)
			out[0] = '\0';
		return;
	}
	lim = outsz - 5 < max ? outsz - 5 : max; /* room for " ..." and the NUL */
	for (const char *p = text; *p; p++) {
		if (isspace((unsigned char)*p)) {
			space = n > 0;
			continue;
		}
		if (n + (space ? 1 : 0) >= lim) {
			cut = true;
			break;
		}
		if (space)
			out[n++] = ' ';
		space = false;
		if (at_secret_word(p, text)) {
			n += copy_word(p, out, n, lim);
			cut = true;
			break;
		}
		out[n++] = *p;
	}
	if (cut) {
		memcpy(out + n, " ...", 4);
		n += 4;
	}
	out[n] = '\0';
}
