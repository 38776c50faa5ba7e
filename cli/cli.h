/* cli.h - what the command files share: the command table entry, error printing with the
 * exit codes (0 ok, 1 failure, 2 usage), and opening the engine. Only cli/ prints. */
#ifndef LO2_CLI_H
#define LO2_CLI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

struct engine;

struct cli_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

/* Prints "lo2: <msg>" and returns the exit code for err (2 for LO2_E_USAGE, else 1). */
int cli_fail(const struct lo2_err *err);
/* Prints "lo2 <cmd>: <msg>" and a hint to --help; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Opens the engine named by -H/--host or DOCKER_HOST; prints and returns -1 on failure. */
int cli_engine_open(const char *host, struct engine **out);
/* True when argv has -h or --help anywhere before "--". */
bool cli_wants_help(int argc, char **argv);
/* SIGINT, SIGTERM and SIGHUP: the first sets *flag (the work stops and cleans up); a second
 * prints the cancel message and exits at once with 130. */
void cli_cancel_signals(atomic_bool *flag);
/* What a second signal prints ("lo2: ..."; a newline is added): what it leaves behind. */
void cli_cancel_message(const char *msg);

/* A line of a build's or pull's progress stream, printed to stderr when it is a terminal. */
void cli_stream_line(void *user, const char *line);

/* Commands, one file each (cmd_<group>.c). */
int cmd_version(int argc, char **argv);
int cmd_engine(int argc, char **argv);
int cmd_image(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_tags(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_mysql(int argc, char **argv);
int cmd_pull(int argc, char **argv);

/* cmd_pull.c: pulls images in parallel (at most 4 at once) with a live line per image on a
 * terminal, plain lines otherwise (nothing but errors when quiet); prints each failure.
 * Returns CLI_OK, or CLI_FAIL when any image failed. */
struct cli_pull_item {
	const char *ref;
	const char *platform; /* NULL: the engine's */
	const char *label; /* "service web, db", or NULL */
};
int cli_pull_images(struct engine *e, const struct cli_pull_item *items, size_t n, bool quiet);
/* `lo2 logs -f COMPOSE_FILE ...`: a project's logs for a window (cmd_fetch.c). */
int cli_logs_project(int argc, char **argv);
/* cmd_fetch.c: `lo2 metrics list` and `lo2 fetch` (Prometheus and Jaeger for a window). */
int cmd_metrics(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
/* cmd_traces.c: `lo2 traces record` (the OTLP receiver on its own). */
int cmd_traces(int argc, char **argv);
/* cmd_export.c: `lo2 export` (the LO2 layout and CSV tables). */
int cmd_export(int argc, char **argv);
/* cmd_campaign.c: `lo2 campaign`, and `lo2 summary DATASET_DIR` of a campaign. */
int cmd_campaign(int argc, char **argv);
int cli_campaign_summary(const char *dir);

#endif
