/* cmd_version.c - `lo2 version`: lo2's version, the engine's, and the negotiated API version. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/engine.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: lo2 version [-H HOST]\n\n"
	    "Prints lo2's version, then the engine's version and API range and the API version\n"
	    "lo2 negotiated with it. Without a reachable engine, prints lo2's version and fails.\n\n"
	    "  -H, --host HOST  engine address (default: $DOCKER_HOST, else unix:///var/run/docker.sock)\n");
}

int cmd_version(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"host", required_argument, NULL, 'H'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const char *host = NULL;
	struct engine *e = NULL;
	struct lo2_err err = {0};
	const struct engine_version_info *v;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "H:h", opts, NULL)) != -1) {
		if (c == 'H') {
			host = optarg;
		} else if (c == 'h') {
			usage(stdout);
			return CLI_OK;
		} else {
			return cli_usage_error("version", "bad option");
		}
	}
	printf("lo2 %s (engine API 1.%d to 1.%d)\n", LO2_VERSION, ENGINE_API_MIN_MINOR, ENGINE_API_MAX_MINOR);
	fflush(stdout);
	if (argc == 1 && strcmp(argv[0], "version") != 0)
		return CLI_OK; /* `lo2 --version`: lo2's own version only */
	if (engine_open(host, &e, &err) < 0) {
		struct engine_endpoint ep;

		/* What lo2 knows, then why the engine's part is missing: one block, stdout then stderr. */
		if (engine_endpoint_parse(host ? host : getenv("DOCKER_HOST"), NULL, NULL, NULL, &ep, NULL) ==
		    0) {
			printf("engine %s: not reachable\n", ep.display);
			engine_endpoint_free(&ep);
		}
		fflush(stdout);
		return cli_fail(&err);
	}
	v = engine_version(e);
	printf("engine %s: Docker %s, API %s (minimum %s), %s/%s, kernel %s\n", engine_display(e), v->version,
	       v->api_version, v->min_api_version[0] ? v->min_api_version : "?", v->os, v->arch, v->kernel);
	printf("negotiated API %s\n", engine_api_version(e));
	engine_free(e);
	return CLI_OK;
}
