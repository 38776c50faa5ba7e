/* build.c - building an image from a folder: the context tarred as docker does (.dockerignore
 * applied, a Dockerfile outside the context sent under a name of its own) and streamed to
 * engine_image_build. `lo2 image build` and compose's build: share it. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/dockerignore.h"
#include "common/mem.h"
#include "common/tar.h"
#include "engine/engine.h"

/* The Dockerfile's name inside the context: -f as given relative to the current folder when that
 * exists (made relative to the context when inside it), else relative to the context. A Dockerfile
 * outside the context is added to the tar under a name of its own, as docker does. */
static int dockerfile_in_context(const char *ctx, const char *file, char **name, char **outside,
                                 struct lo2_err *err)
{
	lo2_autofree char *rctx = NULL, *rfile = NULL;
	size_t n;

	*outside = NULL;
	if (file == NULL) {
		*name = xstrdup("Dockerfile");
		return 0;
	}
	rctx = realpath(ctx, NULL);
	rfile = realpath(file, NULL);
	if (rctx == NULL)
		return lo2_err_errno(err, errno, "build context %s", ctx);
	if (rfile == NULL) {
		lo2_autofree char *p = xasprintf("%s/%s", ctx, file);

		rfile = realpath(p, NULL);
		if (rfile == NULL)
			return lo2_err_errno(err, errno, "Dockerfile %s", file);
	}
	n = strlen(rctx);
	if (strncmp(rfile, rctx, n) == 0 && rfile[n] == '/') {
		*name = xstrdup(rfile + n + 1);
		return 0;
	}
	*name = xstrdup(".dockerfile.lo2");
	*outside = rfile;
	rfile = NULL;
	return 0;
}

static ssize_t tar_reader(void *user, char *buf, size_t n, struct lo2_err *err)
{
	return lo2_tar_read(user, buf, n, err);
}

int engine_image_build_dir(struct engine *e, const char *ctx, const char *file, struct engine_build_opts *o,
                           engine_progress_fn progress, void *user, char **id_out, struct lo2_err *err)
{
	lo2_autofree char *df = NULL, *outside = NULL;
	const char *tag = o->tag ? o->tag : "(untagged)";
	struct lo2_tar *tar = NULL;
	int ret = -1;

	if (dockerfile_in_context(ctx, file, &df, &outside, err) < 0)
		return lo2_err_prefix(err, "build image %s", tag);
	if (lo2_build_context(ctx, df, &tar, err) < 0)
		return lo2_err_prefix(err, "build image %s", tag);
	if (outside && lo2_tar_add_path(tar, outside, df, err) < 0) {
		lo2_err_prefix(err, "build image %s", tag);
		goto out;
	}
	o->dockerfile = df;
	ret = engine_image_build(e, tar_reader, tar, o, progress, user, id_out, err);
	o->dockerfile = NULL;
out:
	lo2_tar_free(tar);
	return ret;
}
