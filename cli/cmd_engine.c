/* cmd_engine.c - `lo2 engine ping|info`: is the engine reachable, and what is it. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/time.h"
#include "engine/engine.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: lo2 engine ping|info [-H HOST]\n\n"
	    "  ping   connect, negotiate the API version, and ping the engine\n"
	    "  info   also print the storage driver, cgroup version, CPUs, memory and clock offset\n\n"
	    "  -H, --host HOST  engine address (default: $DOCKER_HOST, else unix:///var/run/docker.sock)\n");
}

static int info(struct engine *e)
{
	struct engine_info in;
	struct lo2_err err = {0};
	int64_t off = 0;

	if (engine_info(e, &in, &err) < 0 || engine_clock_offset(e, &off, &err) < 0)
		return cli_fail(&err);
	printf("storage driver: %s\ncgroup version: %s\ncpus: %d\nmemory: %lld bytes\n"
	       "clock offset (engine - lo2): %.6f s\n",
	       in.driver, in.cgroup_version[0] ? in.cgroup_version : "?", in.ncpu, (long long)in.mem_total,
	       (double)off / (double)LO2_NS_PER_SEC);
	return CLI_OK;
}

int cmd_engine(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"host", required_argument, NULL, 'H'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const char *host = NULL, *sub;
	struct engine *e = NULL;
	struct lo2_err err = {0};
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+H:h", opts, NULL)) != -1) {
		if (c == 'H') {
			host = optarg;
		} else if (c == 'h') {
			usage(stdout);
			return CLI_OK;
		} else {
			return cli_usage_error("engine", "bad option");
		}
	}
	if (optind >= argc)
		return cli_usage_error("engine", "missing subcommand (ping or info)");
	sub = argv[optind];
	if (cli_wants_help(argc - optind, argv + optind)) {
		usage(stdout);
		return CLI_OK;
	}
	for (int i = optind + 1; i < argc; i++) {
		if ((strcmp(argv[i], "-H") == 0 || strcmp(argv[i], "--host") == 0) && i + 1 < argc)
			host = argv[++i];
		else
			return cli_usage_error("engine", "unexpected argument '%s'", argv[i]);
	}
	if (strcmp(sub, "ping") != 0 && strcmp(sub, "info") != 0)
		return cli_usage_error("engine", "unknown subcommand '%s'", sub);
	if (cli_engine_open(host, &e) < 0)
		return CLI_FAIL;
	if (strcmp(sub, "ping") == 0) {
		ret = engine_ping(e, &err) < 0 ? cli_fail(&err) : CLI_OK;
		if (ret == CLI_OK)
			printf("OK: %s, Docker %s, API %s\n", engine_display(e), engine_version(e)->version,
			       engine_api_version(e));
	} else {
		ret = info(e);
	}
	engine_free(e);
	return ret;
}
