/* main.c - lo2's entry: dispatches the first argument to a command from the table. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/log.h"

static const struct cli_command commands[] = {
    {"version", "print lo2's, the engine's and the negotiated API version", cmd_version},
    {"engine", "engine ping: check the Docker Engine is reachable", cmd_engine},
    {"image", "image import|build|inspect|rm: images without a registry", cmd_image},
    {"logs", "export a container's logs (or a project's, for a window) to files", cmd_logs},
    {"tags", "list the Locust test tags of a locustfile folder", cmd_tags},
    {"run", "the LO2 collection: deploy, run every Locust tag, collect logs, metrics, traces", cmd_run},
    {"campaign", "many runs over several Docker engines into one dataset (campaign.json)", cmd_campaign},
    {"summary", "what a run folder holds: per test counts, lines per container, checksums", cmd_summary},
    {"config", "print a compose file's normalised model as JSON", cmd_config},
    {"pull", "pull a compose project's images in parallel, with the docker CLI's credentials", cmd_pull},
    {"up", "create and start a compose project's networks, volumes and containers", cmd_up},
    {"down", "stop and remove a compose project's containers and networks", cmd_down},
    {"ps", "list a compose project's containers", cmd_ps},
    {"stats", "record a project's per-container stats (CPU, memory, network, I/O) as metric files",
     cmd_stats},
    {"mysql", "mysql wait|exec: wait for a MySQL server, run an SQL script", cmd_mysql},
    {"metrics", "metrics list: the metric names a Prometheus knows", cmd_metrics},
    {"fetch", "fetch a window's Prometheus series and Jaeger spans as the original's files", cmd_fetch},
    {"traces", "traces record: receive OpenTelemetry spans (OTLP/HTTP) and write the trace files",
     cmd_traces},
    {"export", "export runs in the LO2 dataset layout (LogLead) or as gzip CSV tables", cmd_export},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: lo2 [-v] COMMAND [ARGS...]\n\n"
	           "Collects logs, metrics and traces of a compose stack through the Docker Engine API.\n\n"
	           "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nGlobal options:\n  -v, --verbose  debug logging (also LO2_LOG=debug)\n"
	           "Environment: DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_API_VERSION\n"
	           "Run 'lo2 COMMAND --help' for a command's options.\n");
}

/* lo2's own diagnostics: "lo2: <level>: <message>" on stderr, one write per line so threads do
 * not interleave. */
static void log_to_stderr(void *user, enum lo2_log_level level, const char *msg)
{
	fprintf(stderr, "lo2: %s: %s\n", lo2_log_level_name(level), msg);
}

int main(int argc, char **argv)
{
	int i = 1;

	lo2_log_set_sink(log_to_stderr, NULL);
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
			lo2_log_set_level(LO2_LOG_DEBUG);
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return CLI_OK;
		} else if (strcmp(argv[i], "--version") == 0) {
			return cmd_version(1, argv);
		} else {
			return cli_usage_error("", "unknown option '%s'", argv[i]);
		}
		i++;
	}
	if (i >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (strcmp(argv[i], commands[c].name) == 0)
			return commands[c].run(argc - i, argv + i);
	return cli_usage_error("", "unknown command '%s'", argv[i]);
}
