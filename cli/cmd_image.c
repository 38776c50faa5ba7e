/* cmd_image.c - `lo2 image import|build|inspect|pull|rm`. A rootfs tar becomes an image through
 * import; a folder with a Dockerfile through the classic builder; pull fetches from a registry. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/sink.h"
#include "common/str.h"
#include "common/tar.h"
#include "engine/engine.h"

struct image_sub {
	const char *name;
	const char *usage;
	const char *help;
	int (*run)(int argc, char **argv);
};

/* Options, one table per command: an id, the short and long spelling, whether a value follows. */
struct opt {
	int id;
	const char *s, *l;
	bool takes_value;
};

enum {
	OPT_ERR = -1,
	OPT_ARG = 0,
	O_CHANGE,
	O_HOST,
	O_TAG,
	O_FILE,
	O_BUILD_ARG,
	O_LABEL,
	O_NO_CACHE,
	O_QUIET,
	O_FORMAT,
	O_FORCE,
	O_PLATFORM,
	O_OUTPUT
};

static const struct opt *find_opt(const struct opt *opts, const char *a, const char **inline_val)
{
	*inline_val = NULL;
	for (const struct opt *o = opts; o->id != 0; o++) {
		size_t ll = o->l ? strlen(o->l) : 0;

		if ((o->s && strcmp(a, o->s) == 0) || (o->l && strcmp(a, o->l) == 0))
			return o;
		if (o->l && o->takes_value && strncmp(a, o->l, ll) == 0 && a[ll] == '=') {
			*inline_val = a + ll + 1;
			return o;
		}
	}
	return NULL;
}

/* Reads argv[*i] against opts: returns the option's id (*val: its value, *i moved past it),
 * OPT_ARG for an argument (*val: it; "-" is an argument), or OPT_ERR after printing the usage error. */
static int next_opt(const char *cmd, const struct opt *opts, int argc, char **argv, int *i, const char **val)
{
	const char *a = argv[*i], *inline_val;
	const struct opt *o;

	*val = a;
	if (a[0] != '-' || a[1] == '\0')
		return OPT_ARG;
	o = find_opt(opts, a, &inline_val);
	if (o == NULL) {
		cli_usage_error(cmd, "unknown option '%s'", a);
		return OPT_ERR;
	}
	if (!o->takes_value || inline_val != NULL) {
		*val = inline_val;
		return o->id;
	}
	if (*i + 1 >= argc) {
		cli_usage_error(cmd, "option '%s' needs a value", a);
		return OPT_ERR;
	}
	*i += 1;
	*val = argv[*i];
	return o->id;
}

/* Splits "K=V" into kv; "K" alone takes K from the environment (as docker's --build-arg does). */
static int kv_arg(const char *cmd, const char *opt, const char *a, struct lo2_kvv *kv)
{
	const char *eq = strchr(a, '=');
	lo2_autofree char *k = NULL;

	if (a[0] == '=' || a[0] == '\0')
		return cli_usage_error(cmd, "%s wants KEY=VALUE, got '%s'", opt, a);
	if (eq == NULL) {
		if (getenv(a) != NULL)
			lo2_kvv_set(kv, a, getenv(a));
		return 0;
	}
	k = xstrndup(a, (size_t)(eq - a));
	lo2_kvv_set(kv, k, eq + 1);
	return 0;
}

static void print_line(void *user, const char *line)
{
	FILE *f = user;

	fprintf(f, "%s\n", line);
	fflush(f);
}

/* ---- import ---- */

static const char import_help[] =
    "Creates an image from a root filesystem tar (plain or compressed), read from FILE or stdin ('-').\n\n"
    "Options:\n"
    "  -c, --change LINE   apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, LABEL, WORKDIR, ...)\n"
    "  -H, --host HOST     engine address (default $DOCKER_HOST or the local socket)\n"
    "Prints the new image ID.\n";

static const struct opt import_opts[] = {
    {O_CHANGE, "-c", "--change", true},
    {O_HOST, "-H", "--host", true},
    {0, NULL, NULL, false},
};

static int image_import(int argc, char **argv)
{
	const char *pos[2] = {NULL, NULL}, *host = NULL, *v;
	struct lo2_strv changes = {0};
	struct lo2_err err = {0};
	struct engine *e = NULL;
	lo2_autofree char *id = NULL;
	int fd = -1, npos = 0, ret = CLI_USAGE;

	for (int i = 1; i < argc; i++) {
		switch (next_opt("image import", import_opts, argc, argv, &i, &v)) {
		case O_CHANGE:
			lo2_strv_push(&changes, v);
			break;
		case O_HOST:
			host = v;
			break;
		case OPT_ARG:
			if (npos == 2) {
				cli_usage_error("image import", "unexpected argument '%s'", v);
				goto out;
			}
			pos[npos++] = v;
			break;
		default:
			goto out;
		}
	}
	if (npos != 2) {
		cli_usage_error("image import", "wants FILE.tar|- and NAME:TAG");
		goto out;
	}
	ret = CLI_FAIL;
	fd = strcmp(pos[0], "-") == 0 ? dup(0) : open(pos[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		lo2_err_errno(&err, errno, "import image %s: open %s", pos[1], pos[0]);
		ret = cli_fail(&err);
		goto out;
	}
	if (cli_engine_open(host, &e) < 0)
		goto out;
	if (engine_image_import(e, engine_read_fd, &fd, pos[1], &changes, NULL, NULL, &id, &err) < 0) {
		ret = cli_fail(&err);
		goto out;
	}
	printf("%s\n", id ? id : pos[1]);
	ret = CLI_OK;
out:
	if (fd >= 0)
		close(fd);
	engine_free(e);
	lo2_strv_free(&changes);
	return ret;
}

/* ---- build ---- */

static const char build_help[] =
    "Builds an image from CONTEXT_DIR with the engine's classic builder (never pulls: FROM must name\n"
    "an image that is present). The context is sent as a tar, honouring CONTEXT_DIR/.dockerignore.\n\n"
    "Options:\n"
    "  -t, --tag NAME:TAG      name the result (required)\n"
    "  -f, --file PATH         the Dockerfile (default CONTEXT_DIR/Dockerfile)\n"
    "      --build-arg K=V     set a build argument (repeatable; K alone takes $K)\n"
    "      --label K=V         set a label on the image (repeatable)\n"
    "      --no-cache          do not use the build cache\n"
    "  -q, --quiet             print only the image ID\n"
    "  -H, --host HOST         engine address (default $DOCKER_HOST or the local socket)\n";

struct build_args {
	const char *ctx, *tag, *file, *host;
	struct lo2_kvv build_args, labels;
	bool no_cache, quiet;
};

static const struct opt build_opts[] = {
    {O_TAG, "-t", "--tag", true},      {O_FILE, "-f", "--file", true},
    {O_HOST, "-H", "--host", true},    {O_BUILD_ARG, NULL, "--build-arg", true},
    {O_LABEL, NULL, "--label", true},  {O_NO_CACHE, NULL, "--no-cache", false},
    {O_QUIET, "-q", "--quiet", false}, {0, NULL, NULL, false},
};

/* Applies one parsed option or argument of build; returns CLI_OK or CLI_USAGE (error printed). */
static int build_apply(struct build_args *a, int id, const char *v)
{
	switch (id) {
	case O_TAG:
		a->tag = v;
		break;
	case O_FILE:
		a->file = v;
		break;
	case O_HOST:
		a->host = v;
		break;
	case O_BUILD_ARG:
		return kv_arg("image build", "--build-arg", v, &a->build_args);
	case O_LABEL:
		return kv_arg("image build", "--label", v, &a->labels);
	case O_NO_CACHE:
		a->no_cache = true;
		break;
	case O_QUIET:
		a->quiet = true;
		break;
	case OPT_ARG:
		if (a->ctx != NULL)
			return cli_usage_error("image build", "unexpected argument '%s'", v);
		a->ctx = v;
		break;
	default:
		return CLI_USAGE;
	}
	return CLI_OK;
}

/* Parses build's command line; returns CLI_OK or CLI_USAGE (error printed). */
static int build_parse(int argc, char **argv, struct build_args *a)
{
	const char *v;

	for (int i = 1; i < argc; i++) {
		int id = next_opt("image build", build_opts, argc, argv, &i, &v);

		if (build_apply(a, id, v) != CLI_OK)
			return CLI_USAGE;
	}
	if (a->ctx == NULL)
		return cli_usage_error("image build", "wants CONTEXT_DIR");
	if (a->tag == NULL)
		return cli_usage_error("image build", "wants -t NAME:TAG");
	return CLI_OK;
}

/* -f as docker reads it: relative to the current folder when that exists, else to the context. */
static char *dockerfile_arg(const char *file)
{
	if (file == NULL)
		return NULL;
	if (file[0] != '/' && access(file, F_OK) == 0) {
		char *real = realpath(file, NULL);

		if (real)
			return real;
	}
	return xstrdup(file);
}

static int build_run(struct build_args *a, struct lo2_err *err)
{
	lo2_autofree char *df = dockerfile_arg(a->file), *id = NULL;
	struct engine *e = NULL;
	struct engine_build_opts o = {.tag = a->tag,
	                              .dockerfile = df,
	                              .build_args = &a->build_args,
	                              .labels = &a->labels,
	                              .no_cache = a->no_cache};
	int ret = -1;

	if (engine_open(a->host, &e, err) < 0)
		goto out;
	if (engine_image_build_dir(e, a->ctx, &o, a->quiet ? NULL : print_line, stdout, &id, err) < 0)
		goto out;
	if (a->quiet)
		printf("%s\n", id ? id : a->tag);
	ret = 0;
out:
	engine_free(e);
	return ret;
}

static int image_build(int argc, char **argv)
{
	struct build_args a = {0};
	struct lo2_err err = {0};
	int ret = build_parse(argc, argv, &a);

	if (ret == CLI_OK && build_run(&a, &err) < 0)
		ret = cli_fail(&err);
	lo2_kvv_free(&a.build_args);
	lo2_kvv_free(&a.labels);
	return ret;
}

/* ---- inspect ---- */

static const char inspect_help[] =
    "Shows an image: its ID, tags, repo digests, labels, size and creation time, as JSON.\n\n"
    "Options:\n"
    "      --format FMT   json (default), id, size, or label=KEY (the label's value; an empty line\n"
    "                     when the image has no such label)\n"
    "  -H, --host HOST    engine address (default $DOCKER_HOST or the local socket)\n"
    "Exits 1 when the image does not exist.\n";

static void print_image_json(const struct engine_image_info *info)
{
	struct lo2_jw *w = lo2_jw_new("  ");
	lo2_autofree char *text = NULL;

	lo2_jw_obj(w);
	lo2_jw_key(w, "Id");
	lo2_jw_str(w, info->id);
	lo2_jw_key(w, "RepoTags");
	lo2_jw_arr(w);
	for (size_t i = 0; i < info->tags.n; i++)
		lo2_jw_str(w, info->tags.v[i]);
	lo2_jw_arr_end(w);
	lo2_jw_key(w, "RepoDigests");
	lo2_jw_arr(w);
	for (size_t i = 0; i < info->repo_digests.n; i++)
		lo2_jw_str(w, info->repo_digests.v[i]);
	lo2_jw_arr_end(w);
	lo2_jw_key(w, "Labels");
	lo2_jw_obj(w);
	for (size_t i = 0; i < info->labels.n; i++) {
		lo2_jw_key(w, info->labels.v[i].key);
		lo2_jw_str(w, info->labels.v[i].val);
	}
	lo2_jw_obj_end(w);
	lo2_jw_key(w, "Size");
	lo2_jw_int(w, info->size);
	lo2_jw_key(w, "Created");
	lo2_jw_str(w, info->created);
	lo2_jw_obj_end(w);
	text = lo2_jw_finish(w, NULL);
	printf("%s\n", text);
}

static int print_image(const struct engine_image_info *info, const char *fmt)
{
	if (fmt == NULL || strcmp(fmt, "json") == 0) {
		print_image_json(info);
	} else if (strcmp(fmt, "id") == 0) {
		printf("%s\n", info->id ? info->id : "");
	} else if (strcmp(fmt, "size") == 0) {
		printf("%lld\n", (long long)info->size);
	} else if (strncmp(fmt, "label=", 6) == 0) {
		const char *val = lo2_kvv_get(&info->labels, fmt + 6);

		printf("%s\n", val ? val : "");
	} else {
		return cli_usage_error("image inspect", "unknown --format '%s' (json, id, size, label=KEY)",
		                       fmt);
	}
	return CLI_OK;
}

static const struct opt inspect_opts[] = {
    {O_FORMAT, NULL, "--format", true},
    {O_HOST, "-H", "--host", true},
    {0, NULL, NULL, false},
};

static int image_inspect(int argc, char **argv)
{
	const char *name = NULL, *fmt = NULL, *host = NULL, *v;
	struct engine_image_info info = {0};
	struct lo2_err err = {0};
	struct engine *e = NULL;
	int ret;

	for (int i = 1; i < argc; i++) {
		switch (next_opt("image inspect", inspect_opts, argc, argv, &i, &v)) {
		case O_FORMAT:
			fmt = v;
			break;
		case O_HOST:
			host = v;
			break;
		case OPT_ARG:
			if (name != NULL)
				return cli_usage_error("image inspect", "unexpected argument '%s'", v);
			name = v;
			break;
		default:
			return CLI_USAGE;
		}
	}
	if (name == NULL)
		return cli_usage_error("image inspect", "wants an image NAME");
	if (cli_engine_open(host, &e) < 0)
		return CLI_FAIL;
	if (engine_image_inspect(e, name, &info, &err) < 0)
		ret = cli_fail(&err);
	else
		ret = print_image(&info, fmt);
	engine_image_info_free(&info);
	engine_free(e);
	return ret;
}

/* ---- pull ---- */

static const char pull_help[] =
    "Pulls an image from its registry, with the credentials the docker CLI would use\n"
    "(DOCKER_CONFIG or ~/.docker/config.json: auths, credsStore, credHelpers; DOCKER_AUTH_CONFIG).\n\n"
    "Options:\n"
    "      --platform P    os/arch[/variant] to pull (default: the engine's)\n"
    "  -q, --quiet         no progress; print only the reference when pulled\n"
    "  -H, --host HOST     engine address (default $DOCKER_HOST or the local socket)\n";

static const struct opt pull_opts[] = {
    {O_PLATFORM, NULL, "--platform", true},
    {O_QUIET, "-q", "--quiet", false},
    {O_HOST, "-H", "--host", true},
    {0, NULL, NULL, false},
};

static int image_pull(int argc, char **argv)
{
	struct cli_pull_item item = {0};
	const char *host = NULL, *v;
	struct engine *e = NULL;
	bool quiet = false;
	int ret;

	for (int i = 1; i < argc; i++) {
		switch (next_opt("image pull", pull_opts, argc, argv, &i, &v)) {
		case O_PLATFORM:
			item.platform = v;
			break;
		case O_QUIET:
			quiet = true;
			break;
		case O_HOST:
			host = v;
			break;
		case OPT_ARG:
			if (item.ref != NULL)
				return cli_usage_error("image pull", "unexpected argument '%s'", v);
			item.ref = v;
			break;
		default:
			return CLI_USAGE;
		}
	}
	if (item.ref == NULL)
		return cli_usage_error("image pull", "wants an image NAME[:TAG|@DIGEST]");
	if (cli_engine_open(host, &e) < 0)
		return CLI_FAIL;
	ret = cli_pull_images(e, &item, 1, quiet);
	if (ret == CLI_OK && quiet)
		printf("%s\n", item.ref);
	engine_free(e);
	return ret;
}

/* ---- rm ---- */

static const char rm_help[] =
    "Removes images (untags them, and deletes the layers no other image uses).\n\n"
    "Options:\n"
    "  -f, --force       remove even when a container uses the image\n"
    "  -H, --host HOST   engine address (default $DOCKER_HOST or the local socket)\n";

static const struct opt rm_opts[] = {
    {O_FORCE, "-f", "--force", false},
    {O_HOST, "-H", "--host", true},
    {0, NULL, NULL, false},
};

static int image_rm(int argc, char **argv)
{
	const char *host = NULL, *v;
	struct lo2_strv names = {0};
	struct lo2_err err = {0};
	struct engine *e = NULL;
	bool force = false;
	int ret = CLI_USAGE;

	for (int i = 1; i < argc; i++) {
		switch (next_opt("image rm", rm_opts, argc, argv, &i, &v)) {
		case O_FORCE:
			force = true;
			break;
		case O_HOST:
			host = v;
			break;
		case OPT_ARG:
			lo2_strv_push(&names, v);
			break;
		default:
			goto out;
		}
	}
	if (names.n == 0) {
		cli_usage_error("image rm", "wants at least one image NAME");
		goto out;
	}
	ret = CLI_FAIL;
	if (cli_engine_open(host, &e) < 0)
		goto out;
	ret = CLI_OK;
	for (size_t i = 0; i < names.n; i++) {
		if (engine_image_remove(e, names.v[i], force, &err) < 0)
			ret = cli_fail(&err);
		else
			printf("%s\n", names.v[i]);
	}
out:
	engine_free(e);
	lo2_strv_free(&names);
	return ret;
}

/* ---- save / load ---- */

static const char save_help[] =
    "Writes images, with their tags, as the tar `docker save` writes (the engine's export), to FILE\n"
    "(it appears only when complete) or to stdout ('-').\n\n"
    "Options:\n"
    "  -o, --output FILE   where the tar goes (required; '-' for stdout)\n"
    "  -H, --host HOST     engine address (default $DOCKER_HOST or the local socket)\n";

static const struct opt save_opts[] = {
    {O_OUTPUT, "-o", "--output", true},
    {O_HOST, "-H", "--host", true},
    {0, NULL, NULL, false},
};

static int image_save(int argc, char **argv)
{
	const char *out = NULL, *host = NULL, *v;
	struct lo2_strv names = {0};
	struct lo2_err err = {0};
	struct engine *e = NULL;
	struct lo2_sink *sink = NULL;
	int ret = CLI_USAGE;

	for (int i = 1; i < argc; i++) {
		switch (next_opt("image save", save_opts, argc, argv, &i, &v)) {
		case O_OUTPUT:
			out = v;
			break;
		case O_HOST:
			host = v;
			break;
		case OPT_ARG:
			lo2_strv_push(&names, v);
			break;
		default:
			goto out;
		}
	}
	if (names.n == 0 || out == NULL) {
		cli_usage_error("image save", "wants -o FILE and at least one image NAME");
		goto out;
	}
	ret = CLI_FAIL;
	if (cli_engine_open(host, &e) < 0)
		goto out;
	if (lo2_sink_file_open(out, &sink, &err) < 0 || engine_image_save(e, &names, sink, &err) < 0) {
		lo2_sink_abort(sink);
		ret = cli_fail(&err);
		goto out;
	}
	if (lo2_sink_commit(sink, &err) < 0) {
		ret = cli_fail(&err);
		goto out;
	}
	ret = CLI_OK;
out:
	engine_free(e);
	lo2_strv_free(&names);
	return ret;
}

static const char load_help[] =
    "Loads images from a tar of `lo2 image save` (or `docker save`) read from FILE or stdin ('-').\n\n"
    "Options:\n"
    "  -H, --host HOST     engine address (default $DOCKER_HOST or the local socket)\n"
    "Prints the engine's lines (\"Loaded image: NAME:TAG\").\n";

static const struct opt load_opts[] = {
    {O_HOST, "-H", "--host", true},
    {0, NULL, NULL, false},
};

static int image_load(int argc, char **argv)
{
	const char *file = NULL, *host = NULL, *v;
	struct lo2_err err = {0};
	struct engine *e = NULL;
	int fd = -1, ret = CLI_USAGE;

	for (int i = 1; i < argc; i++) {
		switch (next_opt("image load", load_opts, argc, argv, &i, &v)) {
		case O_HOST:
			host = v;
			break;
		case OPT_ARG:
			if (file) {
				cli_usage_error("image load", "unexpected argument '%s'", v);
				goto out;
			}
			file = v;
			break;
		default:
			goto out;
		}
	}
	if (file == NULL) {
		cli_usage_error("image load", "wants FILE.tar|-");
		goto out;
	}
	ret = CLI_FAIL;
	fd = strcmp(file, "-") == 0 ? dup(0) : open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		lo2_err_errno(&err, errno, "load images: open %s", file);
		ret = cli_fail(&err);
		goto out;
	}
	if (cli_engine_open(host, &e) < 0)
		goto out;
	if (engine_image_load(e, engine_read_fd, &fd, print_line, stdout, &err) < 0) {
		ret = cli_fail(&err);
		goto out;
	}
	ret = CLI_OK;
out:
	if (fd >= 0)
		close(fd);
	engine_free(e);
	return ret;
}

static const struct image_sub subs[] = {
    {"import", "FILE.tar|- NAME:TAG [--change LINE]...", import_help, image_import},
    {"build", "CONTEXT_DIR -t NAME:TAG [-f Dockerfile] [--build-arg K=V]... [--label K=V]... [--no-cache]",
     build_help, image_build},
    {"inspect", "NAME [--format json|id|size|label=KEY]", inspect_help, image_inspect},
    {"pull", "NAME[:TAG|@DIGEST] [--platform P] [-q]", pull_help, image_pull},
    {"rm", "NAME... [--force]", rm_help, image_rm},
    {"save", "NAME... -o FILE|-", save_help, image_save},
    {"load", "FILE|-", load_help, image_load},
};

static void image_usage(FILE *f)
{
	fprintf(f, "Usage: lo2 image COMMAND [ARGS...]\n\nImages: import and build (no registry needed), "
	           "pull, inspect, remove, save and load.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		fprintf(f, "  lo2 image %s %s\n", subs[i].name, subs[i].usage);
	fprintf(f, "Run 'lo2 image COMMAND --help' for a command's options.\n");
}

int cmd_image(int argc, char **argv)
{
	if (argc < 2) {
		image_usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		image_usage(stdout);
		return CLI_OK;
	}
	/* a build or import whose engine goes away must fail with an error, not die of SIGPIPE */
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(argv[1], subs[i].name) != 0)
			continue;
		if (cli_wants_help(argc - 1, argv + 1)) {
			printf("Usage: lo2 image %s %s\n\n%s", subs[i].name, subs[i].usage, subs[i].help);
			return CLI_OK;
		}
		return subs[i].run(argc - 1, argv + 1);
	}
	return cli_usage_error("image", "unknown command '%s'", argv[1]);
}
