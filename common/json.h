/* json.h - lo2's small JSON layer over yajl: a document tree with typed getters for
 * bounded responses, and a writer for request bodies and lo2's own files.
 * Unbounded streams (metrics) use their own streaming parser in their module. */
#ifndef LO2_JSON_H
#define LO2_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct lo2_json; /* a node; the document root owns every node */

/* Parses NUL-terminated text; `what` names the document in the error. Free with lo2_json_free. */
int lo2_json_parse(const char *text, const char *what, struct lo2_json **doc, struct lo2_err *err);
void lo2_json_free(struct lo2_json *doc);

/* Getters return NULL/false when v is NULL or of another type, so chains need no checks. */
const struct lo2_json *lo2_json_get(const struct lo2_json *v, const char *key);
/* Walks object keys: lo2_json_path(v, "State", "Health", "Status", NULL). */
const struct lo2_json *lo2_json_path(const struct lo2_json *v, ...);
const char *lo2_json_str(const struct lo2_json *v);
bool lo2_json_int(const struct lo2_json *v, int64_t *out);
bool lo2_json_double(const struct lo2_json *v, double *out);
bool lo2_json_is_true(const struct lo2_json *v);
bool lo2_json_is_bool(const struct lo2_json *v);
bool lo2_json_is_null(const struct lo2_json *v);
bool lo2_json_is_object(const struct lo2_json *v);
bool lo2_json_is_array(const struct lo2_json *v);
bool lo2_json_is_number(const struct lo2_json *v);
/* Elements of an array or members of an object; 0 for anything else. */
size_t lo2_json_len(const struct lo2_json *v);
const struct lo2_json *lo2_json_at(const struct lo2_json *arr, size_t i);
const char *lo2_json_key_at(const struct lo2_json *obj, size_t i);
const struct lo2_json *lo2_json_val_at(const struct lo2_json *obj, size_t i);
/* The number's text as the document wrote it ("1739746339.5"), or NULL. */
const char *lo2_json_num_text(const struct lo2_json *v);

/* ---- writer ---- */
struct lo2_jw;

/* indent NULL: compact; otherwise pretty with that indent string. */
struct lo2_jw *lo2_jw_new(const char *indent);
void lo2_jw_obj(struct lo2_jw *w);
void lo2_jw_obj_end(struct lo2_jw *w);
void lo2_jw_arr(struct lo2_jw *w);
void lo2_jw_arr_end(struct lo2_jw *w);
void lo2_jw_key(struct lo2_jw *w, const char *k);
void lo2_jw_str(struct lo2_jw *w, const char *s); /* NULL writes null */
void lo2_jw_strn(struct lo2_jw *w, const char *s, size_t n);
void lo2_jw_int(struct lo2_jw *w, int64_t i);
void lo2_jw_double(struct lo2_jw *w, double d);
void lo2_jw_bool(struct lo2_jw *w, bool b);
void lo2_jw_null(struct lo2_jw *w);
/* Writes a parsed node (and everything under it) as a value. */
void lo2_jw_node(struct lo2_jw *w, const struct lo2_json *v);
/* Returns the text (caller frees) and frees the writer. */
char *lo2_jw_finish(struct lo2_jw *w, size_t *len);
void lo2_jw_free(struct lo2_jw *w);

#endif
