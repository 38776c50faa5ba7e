/* util.c - the CLI's shared helpers (see cli.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "engine/engine.h"

int cli_fail(const struct lo2_err *err)
{
	fprintf(stderr, "lo2: %s\n", err->msg[0] ? err->msg : "failed");
	return err->kind == LO2_E_USAGE ? CLI_USAGE : CLI_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "lo2%s%s: ", cmd[0] ? " " : "", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nRun 'lo2%s%s --help' for usage.\n", cmd[0] ? " " : "", cmd);
	return CLI_USAGE;
}

/* Plain HTTP to another machine works as docker's does, with one line saying what it means. */
static void warn_cleartext(const char *host)
{
	struct engine_endpoint ep;
	struct lo2_err err = {0};

	if (engine_endpoint_parse(host ? host : getenv("DOCKER_HOST"), getenv("DOCKER_TLS_VERIFY"),
	                          getenv("DOCKER_TLS"), getenv("DOCKER_CERT_PATH"), &ep, &err) < 0)
		return; /* engine_open says what is wrong */
	if (ep.cleartext)
		fprintf(stderr,
		        "lo2: warning: %s is plain HTTP: the engine API (environments, secrets) crosses the "
		        "network unencrypted; set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH for TLS\n",
		        ep.display);
	engine_endpoint_free(&ep);
}

int cli_engine_open(const char *host, struct engine **out)
{
	struct lo2_err err = {0};

	warn_cleartext(host);
	if (engine_open(host, out, &err) < 0) {
		cli_fail(&err);
		return -1;
	}
	return 0;
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

void cli_stream_line(void *user, const char *line)
{
	(void)user;
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "%s\n", line);
}
