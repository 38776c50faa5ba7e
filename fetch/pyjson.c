/* pyjson.c - a JSON writer driven by parse events that writes exactly what Python's
 * json.dump(obj, f, indent=4) writes for the same document: ',' then newline between items,
 * ': ' after keys, "[]" and "{}" for empty containers, ASCII escapes, Python's numbers. */
#include "fetch/internal.h"

static const char spaces[] = "                                                                ";

void pyjw_indent(struct lo2_buf *b, int level)
{
	size_t n = (size_t)level * 4;

	lo2_buf_append(b, "\n", 1);
	while (n > 0) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

		lo2_buf_append(b, spaces, k);
		n -= k;
	}
}

void pyjw_init(struct pyjw *w, struct lo2_buf *out, int base)
{
	w->out = out;
	w->base = base;
	w->depth = 0;
	w->after_key = false;
}

/* Separator and indent before a value or key in the current container. */
static void before_item(struct pyjw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->depth == 0)
		return;
	if (w->count[w->depth - 1]++ > 0)
		lo2_buf_append(w->out, ",", 1);
	pyjw_indent(w->out, w->base + w->depth);
}

int pyjw_open(struct pyjw *w, char kind)
{
	if (w->depth >= PYJW_MAX_DEPTH)
		return -1;
	before_item(w);
	lo2_buf_append(w->out, &kind, 1);
	w->count[w->depth++] = 0;
	return 0;
}

int pyjw_close(struct pyjw *w, char kind)
{
	if (w->depth == 0)
		return -1;
	w->depth--;
	if (w->count[w->depth] > 0)
		pyjw_indent(w->out, w->base + w->depth);
	lo2_buf_append(w->out, &kind, 1);
	return 0;
}

void pyjw_key(struct pyjw *w, const char *k, size_t n)
{
	before_item(w);
	py_json_string(w->out, k, n);
	lo2_buf_append(w->out, ": ", 2);
	w->after_key = true;
}

void pyjw_string(struct pyjw *w, const char *s, size_t n)
{
	before_item(w);
	py_json_string(w->out, s, n);
}

void pyjw_number(struct pyjw *w, const char *s, size_t n)
{
	before_item(w);
	py_json_number(w->out, s, n);
}

void pyjw_literal(struct pyjw *w, const char *lit)
{
	before_item(w);
	lo2_buf_puts(w->out, lit);
}
