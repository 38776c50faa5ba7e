/* yaml.h - lo2's YAML reader: a document becomes a tree of scalars, lists and mappings,
 * each node marked with its file:line:col. Anchors and aliases share nodes, merge keys
 * (`<<:`) are applied, and a document that expands beyond a node cap (alias bombs) is
 * refused. compose/ and run/ read their files through it; <yaml.h> stays in yaml.c. */
#ifndef LO2_COMPOSE_YAML_H
#define LO2_COMPOSE_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

/* The default cap on expanded nodes (every alias counts the nodes it stands for). */
#define COMPOSE_YAML_MAX_NODES 1000000
/* Nesting deeper than this is refused, so readers may recurse. */
#define COMPOSE_YAML_MAX_DEPTH 200
/* The cap on the expanded document's scalar bytes: one large anchored scalar aliased many times
 * must be refused at once, not expanded into gigabytes. */
#define COMPOSE_YAML_MAX_BYTES ((size_t)64 << 20)

enum compose_ykind { COMPOSE_YSCALAR, COMPOSE_YSEQ, COMPOSE_YMAP };

struct compose_ynode {
	enum compose_ykind kind;
	int line, col; /* 1-based, where the node starts (an alias: where its anchor's node starts) */
	const char *file; /* the document's file as given (messages); owned by the document */
	bool quoted; /* scalar written quoted, as a block scalar, or tagged !!str */
	char *value; /* scalar text ("" for an empty plain scalar) */
	size_t n; /* list items or mapping entries */
	struct compose_ynode **items; /* list items, or mapping values */
	struct compose_ynode **keys; /* mapping keys (always scalars) */
	size_t weight; /* expanded node count of this subtree */
	size_t bytes; /* expanded scalar bytes of this subtree (keys included) */
};

struct compose_ydoc {
	char *file; /* as given, for messages */
	struct compose_ynode *root; /* NULL for an empty document */
	struct compose_ynode **all; /* every node, for freeing (aliases share nodes) */
	size_t n_all, cap_all;
};

/* Parses the first document of text (len bytes). max_nodes 0 means COMPOSE_YAML_MAX_NODES.
 * Errors read "FILE:LINE:COL: what". *out: free with compose_ydoc_free. */
int compose_yaml_parse(const char *text, size_t len, const char *file, size_t max_nodes,
                       struct compose_ydoc **out, struct lo2_err *err);
void compose_ydoc_free(struct compose_ydoc *d);
/* Sets err (LO2_E_INVALID) to "FILE:LINE:COL: <message>" at node n; returns -1. */
int compose_ynode_err(struct lo2_err *err, const char *file, const struct compose_ynode *n, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

/* A node made after parsing (extends merges), owned and freed by d; it carries at's position
 * (and file) for messages. value: the scalar's text, or NULL for a list or a mapping. */
struct compose_ynode *compose_ynode_new(struct compose_ydoc *d, enum compose_ykind kind,
                                        const struct compose_ynode *at, const char *value);
/* Appends an item to a list (key NULL) or an entry to a mapping. */
void compose_ynode_append(struct compose_ynode *n, struct compose_ynode *key, struct compose_ynode *val);

/* The value under key in a mapping, or NULL (also when map is not a mapping). */
const struct compose_ynode *compose_ynode_get(const struct compose_ynode *map, const char *key);
/* True for a plain `~`, `null`, `Null`, `NULL` or empty scalar. */
bool compose_ynode_is_null(const struct compose_ynode *n);
/* "a string", "a list", "a mapping" or "null", for messages. */
const char *compose_ynode_kind_name(const struct compose_ynode *n);

#endif
