/* cmd_run.c - `lo2 tags`: the Locust tags a run would use (the rest of `lo2 run` builds on
 * compose, mysql and fetch). */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "run/run.h"

static void tags_usage(FILE *f)
{
	fprintf(f, "Usage: lo2 tags [DIR]\n\n"
		   "Lists the test tags found in the locustfiles under DIR (default: locust): 'correct',\n"
		   "plus the last string of every @tag('error', ..., '<name>') decorator, sorted.\n");
}

int cmd_tags(int argc, char **argv)
{
	struct lo2_strv tags = {0};
	struct lo2_err err = {0};
	const char *dir = "locust";

	if (cli_wants_help(argc, argv)) {
		tags_usage(stdout);
		return CLI_OK;
	}
	if (argc > 2)
		return cli_usage_error("tags", "more than one DIR");
	if (argc == 2)
		dir = argv[1];
	if (run_tags_discover(dir, &tags, &err) < 0)
		return cli_fail(&err);
	for (size_t i = 0; i < tags.n; i++)
		printf("%s\n", tags.v[i]);
	lo2_strv_free(&tags);
	return CLI_OK;
}
