/* internal.h - what compose/'s files share (and the unit tests exercise): interpolation,
 * shell-style splitting, durations, sizes, dotenv files, paths. Not a public header. */
#ifndef LO2_COMPOSE_INTERNAL_H
#define LO2_COMPOSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/str.h"
#include "compose/compose.h"

/* Interpolates in as compose does ($$, $V, ${V}, ${V:-d}, ${V-d}, ${V:?m}, ${V?m}, ${V:+a},
 * ${V+a}, nested). Variables that are unset and have no default are added to unset (may be
 * NULL). On error returns -1 with err's message being the bare reason (the caller adds the
 * position). *out: caller frees. */
int compose_interpolate(const char *in, const struct lo2_kvv *env, char **out, struct lo2_strv *unset,
                        struct lo2_err *err);

/* Splits a command string the way go-shellwords does for compose (quotes and backslashes,
 * no expansion). */
int compose_shell_split(const char *s, struct lo2_strv *out, struct lo2_err *err);

/* Go duration syntax ("1m30s", "500ms", "1.5h", also "d" and "w"; "0" alone) to ns. */
int compose_parse_duration(const char *s, int64_t *ns, struct lo2_err *err);
/* ns as Go prints a time.Duration ("1m30s", "500ms", "0s"); out at least 48 bytes. */
void compose_format_duration(int64_t ns, char *out, size_t outsz);
/* A byte size ("64m", "1gb", "1024", "512k") to bytes. */
int compose_parse_size(const char *s, int64_t *bytes, struct lo2_err *err);

/* Parses dotenv text into kv (later keys win); values may use ${} over lookup then kv. */
int compose_dotenv_parse(const char *text, const char *file, const struct lo2_kvv *lookup, struct lo2_kvv *kv,
                         struct lo2_err *err);

/* Joins base and rel (unless rel is absolute) and cleans "." and ".." (caller frees). */
char *compose_path_resolve(const char *base, const char *rel);

/* The canonical JSON of one service (what config-hash hashes) when for_hash, else the
 * service as `lo2 config` prints it; written into w. */
struct lo2_jw;
void compose_service_write_json(struct lo2_jw *w, const struct compose_project *p,
                                const struct compose_service *s, bool for_hash);

/* Frees what a service owns (not the struct itself). */
void compose_service_release(struct compose_service *s);

/* Normalises a name as compose does for name: and folders (lowercase, [a-z0-9_-], no leading
 * '_' or '-'); caller frees. */
char *compose_normalize_name(const char *s);
/* True when s is a valid -p / COMPOSE_PROJECT_NAME value. */
bool compose_name_is_valid(const char *s);

#endif
