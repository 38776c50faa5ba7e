/* yaml.c - the YAML reader (see yaml.h): libyaml's event stream folded into a node tree.
 * The only file of lo2 that includes <yaml.h>. */
#include "compose/yaml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <yaml.h>

#include "common/mem.h"

/* A mapping with more entries than this is refused (duplicate checks are quadratic). */
#define MAX_MAP_ENTRIES 10000

struct frame {
	struct compose_ynode *node;
	struct compose_ynode *pending_key;
	char *anchor;
};

struct anchor {
	char *name;
	struct compose_ynode *node;
};

struct builder {
	struct compose_ydoc *d;
	struct frame *st;
	size_t depth, cap;
	struct anchor *anchors;
	size_t n_anchors;
	size_t max_nodes;
	struct lo2_err *err;
	bool done;
};

static void parser_cleanup(yaml_parser_t *p)
{
	yaml_parser_delete(p);
}
#define yaml_autoparser __attribute__((cleanup(parser_cleanup)))

static int fail_at(struct builder *b, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_at(struct builder *b, int line, int col, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return lo2_err_set(b->err, LO2_E_INVALID, "%s:%d:%d: %s", b->d->file, line, col, what);
}

static struct compose_ynode *node_new(struct builder *b, enum compose_ykind kind, const yaml_mark_t *m)
{
	struct compose_ydoc *d = b->d;
	struct compose_ynode *n = xcalloc(1, sizeof(*n));

	n->kind = kind;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	n->weight = 1;
	n->file = d->file;
	if (d->n_all == d->cap_all) {
		d->cap_all = d->cap_all ? d->cap_all * 2 : 64;
		d->all = xrealloc(d->all, d->cap_all * sizeof(*d->all));
	}
	d->all[d->n_all++] = n;
	return n;
}

static void node_append(struct compose_ynode *n, struct compose_ynode *key, struct compose_ynode *val)
{
	n->items = xrealloc(n->items, (n->n + 1) * sizeof(*n->items));
	if (n->kind == COMPOSE_YMAP) {
		n->keys = xrealloc(n->keys, (n->n + 1) * sizeof(*n->keys));
		n->keys[n->n] = key;
		n->weight += key->weight;
		n->bytes += key->bytes;
	}
	n->items[n->n++] = val;
	n->weight += val->weight;
	n->bytes += val->bytes;
}

static int check_weight(struct builder *b, const struct compose_ynode *n)
{
	if (n->bytes > COMPOSE_YAML_MAX_BYTES)
		return fail_at(b, n->line, n->col,
		               "document expands to more than %zu MiB of text (a large anchor aliased many "
		               "times?); refusing it",
		               COMPOSE_YAML_MAX_BYTES >> 20);
	if (n->weight <= b->max_nodes)
		return 0;
	return fail_at(b, n->line, n->col,
	               "document expands to more than %zu nodes (aliases nested too deeply?); refusing it",
	               b->max_nodes);
}

static bool is_merge_key(const struct compose_ynode *k)
{
	return !k->quoted && strcmp(k->value, "<<") == 0;
}

static ssize_t map_find(const struct compose_ynode *map, const char *key)
{
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->keys[i]->value, key) == 0)
			return (ssize_t)i;
	return -1;
}

static int add_to_map(struct builder *b, struct frame *f, struct compose_ynode *child)
{
	struct compose_ynode *map = f->node;
	struct compose_ynode *key = f->pending_key;
	ssize_t prev;
	char line[32];

	if (key == NULL) {
		if (child->kind != COMPOSE_YSCALAR)
			return fail_at(b, child->line, child->col, "a mapping key must be a string, not %s",
			               compose_ynode_kind_name(child));
		f->pending_key = child;
		return 0;
	}
	f->pending_key = NULL;
	if (map->n >= MAX_MAP_ENTRIES)
		return fail_at(b, key->line, key->col, "mapping has more than %d entries", MAX_MAP_ENTRIES);
	prev = is_merge_key(key) ? -1 : map_find(map, key->value);
	if (prev >= 0) {
		snprintf(line, sizeof(line), "%d", map->keys[prev]->line);
		lo2_err_set(b->err, LO2_E_INVALID,
		            "%s:%d:%d: duplicate key \"%.200s\" (first defined at line %s)", b->d->file,
		            key->line, key->col, key->value, line);
		return -1;
	}
	node_append(map, key, child);
	return check_weight(b, map);
}

/* Hands a finished node to its parent (or makes it the root). */
static int add_child(struct builder *b, struct compose_ynode *child)
{
	struct frame *f;

	if (b->depth == 0) {
		b->d->root = child;
		return 0;
	}
	f = &b->st[b->depth - 1];
	if (f->node->kind == COMPOSE_YMAP)
		return add_to_map(b, f, child);
	node_append(f->node, NULL, child);
	return check_weight(b, f->node);
}

static void anchor_set(struct builder *b, const char *name, struct compose_ynode *n)
{
	for (size_t i = 0; i < b->n_anchors; i++)
		if (strcmp(b->anchors[i].name, name) == 0) {
			b->anchors[i].node = n;
			return;
		}
	b->anchors = xrealloc(b->anchors, (b->n_anchors + 1) * sizeof(*b->anchors));
	b->anchors[b->n_anchors].name = xstrdup(name);
	b->anchors[b->n_anchors].node = n;
	b->n_anchors++;
}

static struct compose_ynode *anchor_get(struct builder *b, const char *name)
{
	for (size_t i = 0; i < b->n_anchors; i++)
		if (strcmp(b->anchors[i].name, name) == 0)
			return b->anchors[i].node;
	return NULL;
}

static int push(struct builder *b, enum compose_ykind kind, const yaml_mark_t *m, const yaml_char_t *anchor)
{
	if (b->depth >= COMPOSE_YAML_MAX_DEPTH)
		return fail_at(b, (int)m->line + 1, (int)m->column + 1, "nesting deeper than %d levels",
		               COMPOSE_YAML_MAX_DEPTH);
	if (b->depth == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->st = xrealloc(b->st, b->cap * sizeof(*b->st));
	}
	b->st[b->depth].node = node_new(b, kind, m);
	b->st[b->depth].pending_key = NULL;
	b->st[b->depth].anchor = anchor ? xstrdup((const char *)anchor) : NULL;
	b->depth++;
	return 0;
}

/* Adds the entries of src that dst (the explicit part) lacks. */
static void merge_from(struct compose_ynode *dst, const struct compose_ynode *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (map_find(dst, src->keys[i]->value) < 0)
			node_append(dst, src->keys[i], src->items[i]);
}

static int merge_source_check(struct builder *b, const struct compose_ynode *v)
{
	if (v->kind == COMPOSE_YMAP)
		return 0;
	if (v->kind == COMPOSE_YSEQ) {
		for (size_t i = 0; i < v->n; i++)
			if (v->items[i]->kind != COMPOSE_YMAP)
				return fail_at(b, v->items[i]->line, v->items[i]->col,
				               "a merge key (<<) list must hold mappings, not %s",
				               compose_ynode_kind_name(v->items[i]));
		return 0;
	}
	return fail_at(b, v->line, v->col, "a merge key (<<) takes a mapping or a list of mappings, not %s",
	               compose_ynode_kind_name(v));
}

/* Applies `<<:` entries: explicit keys win, then earlier merged mappings win over later ones. */
static int apply_merges(struct builder *b, struct compose_ynode *map)
{
	struct compose_ynode tmp = {.kind = COMPOSE_YMAP, .weight = 1};
	bool any = false;

	for (size_t i = 0; i < map->n; i++)
		if (is_merge_key(map->keys[i])) {
			any = true;
			if (merge_source_check(b, map->items[i]) < 0)
				return -1;
		}
	if (!any)
		return 0;
	for (size_t i = 0; i < map->n; i++)
		if (!is_merge_key(map->keys[i]))
			node_append(&tmp, map->keys[i], map->items[i]);
	for (size_t i = 0; i < map->n; i++) {
		const struct compose_ynode *v = map->items[i];

		if (!is_merge_key(map->keys[i]))
			continue;
		if (v->kind == COMPOSE_YMAP)
			merge_from(&tmp, v);
		else
			for (size_t j = 0; j < v->n; j++)
				merge_from(&tmp, v->items[j]);
	}
	free(map->items);
	free(map->keys);
	map->items = tmp.items;
	map->keys = tmp.keys;
	map->n = tmp.n;
	map->weight = tmp.weight;
	map->bytes = tmp.bytes;
	return check_weight(b, map);
}

static int pop(struct builder *b)
{
	struct frame f = b->st[--b->depth];
	int ret = -1;

	if (f.node->kind == COMPOSE_YMAP && apply_merges(b, f.node) < 0)
		goto out;
	if (f.anchor)
		anchor_set(b, f.anchor, f.node);
	ret = add_child(b, f.node);
out:
	free(f.anchor);
	return ret;
}

static bool is_str_tag(const yaml_char_t *tag)
{
	return tag && (strcmp((const char *)tag, YAML_STR_TAG) == 0 || strcmp((const char *)tag, "!") == 0);
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
	struct compose_ynode *n = node_new(b, COMPOSE_YSCALAR, &ev->start_mark);

	n->value = xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
	n->bytes = ev->data.scalar.length;
	n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || is_str_tag(ev->data.scalar.tag);
	if (ev->data.scalar.anchor)
		anchor_set(b, (const char *)ev->data.scalar.anchor, n);
	return add_child(b, n);
}

static int on_alias(struct builder *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct compose_ynode *n = anchor_get(b, name);

	if (n == NULL)
		return fail_at(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
		               "unknown anchor \"%.200s\" (an alias must follow its anchor)", name);
	return add_child(b, n);
}

static int on_event(struct builder *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return push(b, COMPOSE_YSEQ, &ev->start_mark, ev->data.sequence_start.anchor);
	case YAML_MAPPING_START_EVENT:
		return push(b, COMPOSE_YMAP, &ev->start_mark, ev->data.mapping_start.anchor);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return pop(b);
	case YAML_DOCUMENT_END_EVENT:
	case YAML_STREAM_END_EVENT:
		b->done = true;
		return 0;
	default:
		return 0;
	}
}

static int parser_error(struct builder *b, const yaml_parser_t *p)
{
	const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;

	return lo2_err_set(b->err, LO2_E_INVALID, "%s:%d:%d: invalid YAML: %s%s%s", b->d->file,
	                   (int)m->line + 1, (int)m->column + 1, p->problem ? p->problem : "syntax error",
	                   p->context ? " " : "", p->context ? p->context : "");
}

static int run_parser(struct builder *b, const char *text, size_t len)
{
	yaml_autoparser yaml_parser_t p;
	yaml_event_t ev;
	int rc;

	if (!yaml_parser_initialize(&p))
		return lo2_err_set(b->err, LO2_E_GENERIC, "%s: cannot initialise the YAML parser",
		                   b->d->file);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!b->done) {
		if (!yaml_parser_parse(&p, &ev))
			return parser_error(b, &p);
		rc = on_event(b, &ev);
		yaml_event_delete(&ev);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static void builder_free(struct builder *b)
{
	for (size_t i = 0; i < b->depth; i++)
		free(b->st[i].anchor);
	free(b->st);
	for (size_t i = 0; i < b->n_anchors; i++)
		free(b->anchors[i].name);
	free(b->anchors);
}

int compose_yaml_parse(const char *text, size_t len, const char *file, size_t max_nodes,
                       struct compose_ydoc **out, struct lo2_err *err)
{
	struct compose_ydoc *d = xcalloc(1, sizeof(*d));
	struct builder b = {.d = d, .max_nodes = max_nodes ? max_nodes : COMPOSE_YAML_MAX_NODES, .err = err};
	int ret = -1;

	d->file = xstrdup(file ? file : "<input>");
	if (run_parser(&b, text, len) < 0)
		goto out;
	*out = d;
	d = NULL;
	ret = 0;
out:
	builder_free(&b);
	compose_ydoc_free(d);
	return ret;
}

void compose_ydoc_free(struct compose_ydoc *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n_all; i++) {
		free(d->all[i]->value);
		free(d->all[i]->items);
		free(d->all[i]->keys);
		free(d->all[i]);
	}
	free(d->all);
	free(d->file);
	free(d);
}

struct compose_ynode *compose_ynode_new(struct compose_ydoc *d, enum compose_ykind kind,
                                        const struct compose_ynode *at, const char *value)
{
	struct compose_ynode *n = xcalloc(1, sizeof(*n));

	n->kind = kind;
	n->line = at ? at->line : 0;
	n->col = at ? at->col : 0;
	n->file = at ? at->file : d->file;
	n->weight = 1;
	n->quoted = kind == COMPOSE_YSCALAR;
	n->value = kind == COMPOSE_YSCALAR ? xstrdup(value ? value : "") : NULL;
	if (d->n_all == d->cap_all) {
		d->cap_all = d->cap_all ? d->cap_all * 2 : 64;
		d->all = xrealloc(d->all, d->cap_all * sizeof(*d->all));
	}
	d->all[d->n_all++] = n;
	return n;
}

void compose_ynode_append(struct compose_ynode *n, struct compose_ynode *key, struct compose_ynode *val)
{
	node_append(n, key, val);
}

const struct compose_ynode *compose_ynode_get(const struct compose_ynode *map, const char *key)
{
	ssize_t i;

	if (map == NULL || map->kind != COMPOSE_YMAP)
		return NULL;
	i = map_find(map, key);
	return i < 0 ? NULL : map->items[i];
}

bool compose_ynode_is_null(const struct compose_ynode *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

	if (n == NULL || n->kind != COMPOSE_YSCALAR || n->quoted)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(n->value, nulls[i]) == 0)
			return true;
	return false;
}

const char *compose_ynode_kind_name(const struct compose_ynode *n)
{
	if (n == NULL || compose_ynode_is_null(n))
		return "null";
	if (n->kind == COMPOSE_YSEQ)
		return "a list";
	if (n->kind == COMPOSE_YMAP)
		return "a mapping";
	return "a string";
}

int compose_ynode_err(struct lo2_err *err, const char *file, const struct compose_ynode *n, const char *fmt,
                      ...)
{
	va_list ap;

	va_start(ap, fmt);
	lo2_err_vset(err, LO2_E_INVALID, fmt, ap);
	va_end(ap);
	return lo2_err_prefix(err, "%s:%d:%d", file, n->line, n->col);
}
