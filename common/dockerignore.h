/* dockerignore.h - .dockerignore patterns as docker reads them (Go path.Match globs per path
 * segment, "**" across segments, "!" exceptions, the last matching pattern wins, a pattern that
 * matches a parent folder matches what is inside it), and the build context walk that uses them. */
#ifndef LO2_DOCKERIGNORE_H
#define LO2_DOCKERIGNORE_H

#include <stdbool.h>

#include "common/err.h"
#include "common/tar.h"

struct lo2_ignore;

/* Parses .dockerignore text (comments '#', blank lines, surrounding spaces ignored; patterns are
 * cleaned like Go's filepath.Clean and a leading '/' dropped). A malformed character class is an
 * error naming `what` and the line. Free with lo2_ignore_free. */
int lo2_ignore_parse(const char *text, const char *what, struct lo2_ignore **out, struct lo2_err *err);
/* Appends one pattern line ("!Dockerfile" re-includes). */
int lo2_ignore_add(struct lo2_ignore *ig, const char *line, struct lo2_err *err);
void lo2_ignore_free(struct lo2_ignore *ig);
/* True when path ('/'-separated, relative to the context) is excluded. */
bool lo2_ignore_matches(const struct lo2_ignore *ig, const char *path);
/* True when any pattern is a "!" exception (so an excluded folder must still be walked). */
bool lo2_ignore_has_exceptions(const struct lo2_ignore *ig);

/* Lists the build context dir into a tar description (caller frees with lo2_tar_free): every
 * file, folder and symlink not excluded by dir/.dockerignore, sorted by name, owned by 0:0.
 * dockerfile (a path relative to dir, NULL = "Dockerfile") and .dockerignore are always sent,
 * as docker does. */
int lo2_build_context(const char *dir, const char *dockerfile, struct lo2_tar **out, struct lo2_err *err);

#endif
