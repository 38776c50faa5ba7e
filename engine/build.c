/* build.c - building an image from a folder: the one build path of `lo2 image build` and of
 * compose's `build:` (`lo2 up`, `lo2 run`). The folder becomes a tar context (.dockerignore
 * applied); a Dockerfile outside the folder is added under a name of its own, as docker does. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/dockerignore.h"
#include "common/mem.h"
#include "common/tar.h"
#include "engine/engine.h"

static ssize_t tar_reader(void *user, char *buf, size_t n, struct lo2_err *err)
{
	return lo2_tar_read(user, buf, n, err);
}

/* The Dockerfile's name inside the context; *outside is its real path when it lies outside. */
static int dockerfile_name(const char *ctx, const char *file, char **name, char **outside,
                           struct lo2_err *err)
{
	lo2_autofree char *rctx = NULL, *rfile = NULL, *joined = NULL;
	size_t n;

	*outside = NULL;
	if (file == NULL || file[0] == '\0') {
		*name = xstrdup("Dockerfile");
		return 0;
	}
	rctx = realpath(ctx, NULL);
	if (rctx == NULL)
		return lo2_err_errno(err, errno, "build context %s", ctx);
	joined = file[0] == '/' ? xstrdup(file) : xasprintf("%s/%s", rctx, file);
	rfile = realpath(joined, NULL);
	if (rfile == NULL)
		return lo2_err_errno(err, errno, "Dockerfile %s", joined);
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

int engine_image_build_dir(struct engine *e, const char *ctx, const struct engine_build_opts *o,
                           engine_progress_fn progress, void *user, char **id_out, struct lo2_err *err)
{
	lo2_autofree char *df = NULL, *outside = NULL;
	struct engine_build_opts bo = *o;
	struct lo2_tar *tar = NULL;
	int ret = -1;

	if (dockerfile_name(ctx, o->dockerfile, &df, &outside, err) < 0 ||
	    lo2_build_context(ctx, df, &tar, err) < 0)
		return lo2_err_prefix(err, "build image %s", o->tag);
	if (outside && lo2_tar_add_path(tar, outside, df, err) < 0) {
		lo2_err_prefix(err, "build image %s", o->tag);
		goto out;
	}
	bo.dockerfile = df;
	ret = engine_image_build(e, tar_reader, tar, &bo, progress, user, id_out, err);
out:
	lo2_tar_free(tar);
	return ret;
}
