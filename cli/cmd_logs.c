/* cmd_logs.c - `lo2 logs CONTAINER -o FILE[.gz]`: one container's demultiplexed stdout+stderr
 * for a window, written atomically (gzip when the name ends in .gz). With -f COMPOSE_FILE it
 * exports a whole project instead (cli_logs_project). */
#include <errno.h>
#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/sink.h"
#include "common/str.h"
#include "common/time.h"
#include "engine/engine.h"
#include "run/follow.h"

static atomic_bool interrupted;

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: lo2 logs CONTAINER -o FILE[.gz] [--since T] [--until T] [--timestamps] [--follow]\n"
	        "       lo2 logs -f COMPOSE_FILE [-p NAME] --start T --end T -o DIR [...]  (see lo2 logs -f "
	        "x --help)\n\n"
	        "Writes the container's stdout and stderr (demultiplexed, in stream order) to FILE;\n"
	        "FILE appears only when complete. A name ending in .gz is gzip-compressed.\n\n"
	        "  -o, --output FILE   where to write (required; - for standard output)\n"
	        "      --since T       first instant, inclusive (unix seconds with fraction, or RFC 3339)\n"
	        "      --until T       last instant, inclusive\n"
	        "  -t, --timestamps    prefix each line with the engine's RFC 3339 nanosecond timestamp\n"
	        "  -F, --follow        keep streaming until the container stops (across its restarts by the\n"
	        "                      engine) or a signal (SIGINT, SIGTERM, SIGHUP: the file is completed)\n"
	        "  -H, --host HOST     engine address (default: $DOCKER_HOST)\n");
}

static bool has_compose_flag(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "-f") == 0 || strncmp(argv[i], "--file", 6) == 0)
			return true;
	}
	return false;
}

static int parse_time_opt(const char *what, const char *s, int64_t *ns)
{
	struct lo2_err err = {0};

	if (lo2_time_parse(s, ns, &err) < 0)
		return cli_usage_error("logs", "%s: %s", what, err.msg);
	return 0;
}

struct follow_out {
	struct lo2_sink *sink;
	bool timestamps;
};

static int follow_line(void *user, const struct run_follow_line *l, struct lo2_err *err)
{
	struct follow_out *fo = user;

	if (fo->timestamps && (lo2_sink_write(fo->sink, l->ts_text, strlen(l->ts_text), err) < 0 ||
	                       lo2_sink_write(fo->sink, " ", 1, err) < 0))
		return -1;
	return lo2_sink_write(fo->sink, l->data, l->len, err);
}

static void follow_info(void *user, const struct engine_container_info *ci)
{
	const char *size = lo2_kvv_get(&ci->log_opts, "max-size");

	if (size && size[0] && strcmp(size, "-1") != 0)
		fprintf(
		    stderr,
		    "lo2: warning: the log of %s rotates (%s max-size=%s): when it rotates faster than it is "
		    "read, the engine skips lines; lo2 drops any line the engine sends twice\n",
		    ci->name, ci->log_type ? ci->log_type : "?", size);
}

/* --follow: across stream ends and restarts by the engine, without a line twice. */
static int follow(struct engine *e, const char *id, const struct engine_logs_opts *o, struct lo2_sink *sink,
                  struct lo2_err *err)
{
	struct follow_out fo = {.sink = sink, .timestamps = o->timestamps};
	struct run_follow_stats st = {0};
	struct run_follow_opts ro = {.id = id,
	                             .name = id,
	                             .since_ns = o->since_ns,
	                             .until_ns = o->until_ns ? o->until_ns + 1 : 0,
	                             .follow = true,
	                             .restarts = RUN_FOLLOW_WHILE_RESTARTING,
	                             .fn = follow_line,
	                             .user = &fo,
	                             .on_info = follow_info,
	                             .stats = &st};
	int rc = run_follow_run(e, &ro, &interrupted, err);

	if (st.replayed)
		fprintf(stderr, "lo2: %llu lines the engine sent again after a reconnect were dropped\n",
		        (unsigned long long)st.replayed);
	return rc;
}

static int export(const char *host, const char *id, const char *out, struct engine_logs_opts *o)
{
	struct lo2_sink *sink = NULL;
	struct engine *e = NULL;
	struct lo2_err err = {0};
	int ret = CLI_FAIL;

	if (cli_engine_open(host, &e) < 0)
		return CLI_FAIL;
	if (lo2_sink_open_path(out, &sink, &err) < 0)
		goto fail;
	cli_cancel_message("lo2: second signal: exiting now; the output is incomplete");
	cli_cancel_signals(&interrupted);
	o->cancel = &interrupted;
	/* A follow stopped by a signal keeps what it has; any other failure keeps nothing. */
	if ((o->follow ? follow(e, id, o, sink, &err) : engine_container_logs_to_sink(e, id, o, sink, &err)) <
	    0) {
		lo2_sink_abort(sink);
		sink = NULL;
		goto fail;
	}
	if (lo2_sink_commit(sink, &err) < 0)
		goto fail;
	ret = CLI_OK;
	goto out;
fail : {
	char shown[300]; /* a name with a newline must not split the message */

	lo2_str_escape(id, shown, sizeof(shown));
	lo2_err_prefix(&err, "logs %s", shown);
}
	ret = cli_fail(&err);
out:
	engine_free(e);
	return ret;
}

int cmd_logs(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'}, {"since", required_argument, NULL, 's'},
	    {"until", required_argument, NULL, 'u'},  {"timestamps", no_argument, NULL, 't'},
	    {"follow", no_argument, NULL, 'F'},       {"host", required_argument, NULL, 'H'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
	struct engine_logs_opts o = {0};
	const char *out = NULL, *host = NULL;
	int c;

	if (has_compose_flag(argc, argv))
		return cli_logs_project(argc, argv);
	optind = 1;
	while ((c = getopt_long(argc, argv, "o:tFH:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 's':
			if (parse_time_opt("--since", optarg, &o.since_ns) != 0)
				return CLI_USAGE;
			break;
		case 'u':
			if (parse_time_opt("--until", optarg, &o.until_ns) != 0)
				return CLI_USAGE;
			break;
		case 't':
			o.timestamps = true;
			break;
		case 'F':
			o.follow = true;
			break;
		case 'H':
			host = optarg;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			return cli_usage_error("logs", "bad option");
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("logs",
		                       optind >= argc ? "missing CONTAINER" : "more than one CONTAINER");
	if (out == NULL)
		return cli_usage_error("logs", "missing -o FILE");
	if (o.since_ns && o.until_ns && o.until_ns < o.since_ns)
		return cli_usage_error("logs", "--until is before --since");
	return export(host, argv[optind], out, &o);
}
