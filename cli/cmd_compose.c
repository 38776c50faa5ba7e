/* cmd_compose.c - `lo2 config`, `lo2 up`, `lo2 down`, `lo2 ps`: compose files deployed
 * through the Docker Engine API, with docker compose's flags. Argument parsing only. */
#include <getopt.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/json.h"
#include "common/mem.h"
#include "compose/compose.h"
#include "engine/engine.h"

struct copts {
	const char *file, *project, *host, *format;
	bool force_recreate, no_build, wait, volumes;
	int timeout;
	struct lo2_strv services;
	struct lo2_strv profiles; /* --profile, repeatable */
	bool lenient; /* --compatibility lenient */
};

enum { O_FORCE = 256, O_NO_BUILD, O_WAIT, O_TIMEOUT, O_FORMAT, O_PROFILE, O_COMPAT };

static const struct option long_opts[] = {
    {"file", required_argument, NULL, 'f'},
    {"project-name", required_argument, NULL, 'p'},
    {"host", required_argument, NULL, 'H'},
    {"force-recreate", no_argument, NULL, O_FORCE},
    {"no-build", no_argument, NULL, O_NO_BUILD},
    {"wait", no_argument, NULL, O_WAIT},
    {"timeout", required_argument, NULL, 't'},
    {"volumes", no_argument, NULL, 'v'},
    {"detach", no_argument, NULL, 'd'},
    {"format", required_argument, NULL, O_FORMAT},
    {"profile", required_argument, NULL, O_PROFILE},
    {"compatibility", required_argument, NULL, O_COMPAT},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *default_file(void)
{
	static const char *const names[] = {"compose.yaml", "compose.yml", "docker-compose.yml",
	                                    "docker-compose.yaml"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (access(names[i], F_OK) == 0)
			return names[i];
	return NULL;
}

static int parse_timeout(const char *cmd, const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || *end || v < 0 || v > 86400)
		return cli_usage_error(cmd, "--timeout takes whole seconds (0 to 86400), not '%s'", s);
	*out = (int)v;
	return 0;
}

/* Parses the flags every compose command shares; allowed lists the ones cmd takes. */
static int parse_opts(const char *cmd, const char *allowed, int argc, char **argv, struct copts *o)
{
	int c;

	o->timeout = -1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:p:H:t:vdh", long_opts, NULL)) != -1) {
		if (c == '?' || c == ':')
			return cli_usage_error(cmd,
			                       c == ':' ? "option '%s' needs a value" : "unknown option '%s'",
			                       argv[optind - 1]);
		if (c < 256 && !strchr(allowed, c))
			return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		switch (c) {
		case 'f':
			o->file = optarg;
			break;
		case 'p':
			o->project = optarg;
			break;
		case 'H':
			o->host = optarg;
			break;
		case 't':
			if (parse_timeout(cmd, optarg, &o->timeout) != 0)
				return CLI_USAGE;
			break;
		case 'v':
			o->volumes = true;
			break;
		case O_FORCE:
			o->force_recreate = true;
			break;
		case O_NO_BUILD:
			o->no_build = true;
			break;
		case O_WAIT:
			o->wait = true;
			break;
		case O_FORMAT:
			o->format = optarg;
			break;
		case O_PROFILE:
			lo2_strv_push(&o->profiles, optarg);
			break;
		case O_COMPAT:
			if (strcmp(optarg, "lenient") && strcmp(optarg, "strict"))
				return cli_usage_error(
				    cmd, "--compatibility takes strict or lenient, not '%s'", optarg);
			o->lenient = strcmp(optarg, "lenient") == 0;
			break;
		default:
			break;
		}
	}
	for (int i = optind; i < argc; i++)
		lo2_strv_push(&o->services, argv[i]);
	if (o->file == NULL)
		o->file = default_file();
	return 0;
}

static int require_file(const char *cmd, const struct copts *o)
{
	if (o->file == NULL)
		return cli_usage_error(cmd, "no compose file: pass -f FILE (or run where compose.yaml is)");
	return 0;
}

/* Loads and plans the file, printing warnings; NULL after printing the error. */
static struct compose_project *load(const struct copts *o)
{
	struct compose_load_opts lo = {.file = o->file,
	                               .project_name = o->project,
	                               .profiles = &o->profiles,
	                               .services = &o->services,
	                               .lenient = o->lenient};
	struct compose_project *p = NULL;
	struct lo2_strv warnings = {0};
	struct lo2_err err = {0};

	if (compose_load(&lo, &p, &warnings, &err) == 0 && compose_plan(p, &err) < 0) {
		compose_project_free(p);
		p = NULL;
	}
	for (size_t i = 0; i < warnings.n; i++)
		fprintf(stderr, "lo2: warning: %s\n", warnings.v[i]);
	lo2_strv_free(&warnings);
	if (p == NULL)
		cli_fail(&err);
	return p;
}

int cmd_config(int argc, char **argv)
{
	struct copts o = {0};
	struct compose_project *p;
	char *json;
	int rc;

	if (cli_wants_help(argc, argv)) {
		printf("Usage: lo2 config [-f FILE] [-p NAME] [--profile NAME]... [--compatibility MODE]\n\n"
		       "Prints the compose file's normalised model as JSON: variables interpolated,\n"
		       "paths resolved, extends: and include: merged, services of inactive profiles left\n"
		       "out, every syntax in its long form. Exit 1 on an invalid file.\n"
		       "  --profile NAME        activate a profile (repeatable; default: COMPOSE_PROFILES)\n"
		       "  --compatibility MODE  strict (default): a key that changes what runs and that lo2\n"
		       "                        does not implement is an error; lenient: a warning\n");
		return CLI_OK;
	}
	rc = parse_opts("config", "fp", argc, argv, &o);
	if (rc == 0)
		rc = require_file("config", &o);
	if (rc == 0 && o.services.n > 0)
		rc = cli_usage_error("config", "unexpected argument '%s'", o.services.v[0]);
	lo2_strv_free(&o.services);
	p = rc == 0 ? load(&o) : NULL;
	lo2_strv_free(&o.profiles);
	if (rc != 0)
		return rc;
	if (p == NULL)
		return CLI_FAIL;
	json = compose_project_json(p, "  ");
	printf("%s\n", json);
	free(json);
	compose_project_free(p);
	return CLI_OK;
}

static void up_help(void)
{
	printf("Usage: lo2 up [-f FILE] [-p NAME] [--force-recreate] [--no-build] [--wait] [--timeout S]\n"
	       "              [--profile NAME]... [--compatibility MODE] [-H HOST] [SERVICE...]\n\n"
	       "Creates the project's networks and volumes, pulls missing images, builds services with\n"
	       "build:, then creates and starts the containers wave by wave (a wave in parallel),\n"
	       "waiting on depends_on conditions. Always detached (-d is accepted).\n"
	       "  --force-recreate  recreate every container, even unchanged ones\n"
	       "  --no-build        do not build images (fail when one is missing)\n"
	       "  --wait            return when all run, and are healthy where they have a healthcheck\n"
	       "  -t, --timeout S   give up waiting on a condition after S seconds (default: no limit)\n"
	       "  --profile NAME    activate a profile (repeatable; default: COMPOSE_PROFILES); a\n"
	       "                    SERVICE named here activates its own profiles\n"
	       "  --compatibility MODE  strict (default) or lenient (unimplemented keys only warn)\n");
}

int cmd_up(int argc, char **argv)
{
	struct copts o = {0};
	struct compose_project *p = NULL;
	struct engine *e = NULL;
	struct lo2_err err = {0};
	struct compose_up_opts uo = {0};
	static atomic_bool up_cancel;
	char *down_hint = NULL;
	int rc;

	if (cli_wants_help(argc, argv)) {
		up_help();
		return CLI_OK;
	}
	rc = parse_opts("up", "fpHtd", argc, argv, &o);
	if (rc == 0)
		rc = require_file("up", &o);
	if (rc != 0)
		goto out;
	rc = CLI_FAIL;
	p = load(&o);
	if (p == NULL || cli_engine_open(o.host, &e) < 0)
		goto out;
	uo.force_recreate = o.force_recreate;
	uo.no_build = o.no_build;
	uo.wait = o.wait;
	uo.timeout_s = o.timeout > 0 ? o.timeout : 0;
	uo.services = &o.services;
	uo.stream = cli_stream_line;
	/* A signal stops the deploy within a second (builds, pulls and waits included) and leaves
	 * what exists, as `docker compose up -d` does; a second one exits at once. */
	down_hint = xasprintf("what was created stays; lo2 down -p %s removes it", p->name);
	cli_cancel_message(down_hint);
	cli_cancel_signals(&up_cancel);
	uo.cancel = &up_cancel;
	engine_set_cancel(e, &up_cancel);
	if (compose_up(e, p, &uo, &err) < 0) {
		if (err.kind == LO2_E_CANCELLED || atomic_load(&up_cancel)) {
			char was[LO2_ERR_MSG_MAX];

			snprintf(was, sizeof(was), "%s", err.msg);
			lo2_err_set(&err, LO2_E_CANCELLED, "%s (cancelled by a signal); %s", was, down_hint);
		}
		rc = cli_fail(&err);
	} else {
		rc = CLI_OK;
	}
out:
	engine_free(e);
	compose_project_free(p);
	lo2_strv_free(&o.services);
	lo2_strv_free(&o.profiles);
	free(down_hint);
	return rc;
}

/* down needs only the project name when the file is gone or broken. */
static struct compose_project *load_for_down(const struct copts *o)
{
	struct compose_project *p;

	if (o->file && access(o->file, F_OK) == 0)
		return load(o);
	if (o->project == NULL) {
		cli_usage_error("down", "no compose file: pass -f FILE or -p NAME");
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	p->name = xstrdup(o->project);
	return p;
}

int cmd_down(int argc, char **argv)
{
	struct copts o = {0};
	struct compose_project *p = NULL;
	struct engine *e = NULL;
	struct lo2_err err = {0};
	struct compose_down_opts d = {0};
	int rc;

	if (cli_wants_help(argc, argv)) {
		printf("Usage: lo2 down [-f FILE] [-p NAME] [-v] [--timeout S] [-H HOST]\n\n"
		       "Stops and removes the project's containers (found by label, so a changed file is\n"
		       "fine), then its networks; with -v its named volumes. External networks and volumes\n"
		       "are never touched.\n"
		       "  -v, --volumes     remove named volumes and anonymous ones\n"
		       "  -t, --timeout S   stop timeout (default: each container's stop_grace_period or "
		       "10s)\n");
		return CLI_OK;
	}
	rc = parse_opts("down", "fpHtv", argc, argv, &o);
	if (rc != 0)
		goto out;
	rc = CLI_FAIL;
	p = load_for_down(&o);
	if (p == NULL || cli_engine_open(o.host, &e) < 0)
		goto out;
	d.volumes = o.volumes;
	d.timeout_s = o.timeout;
	rc = compose_down(e, p, &d, &err) < 0 ? cli_fail(&err) : CLI_OK;
out:
	engine_free(e);
	compose_project_free(p);
	lo2_strv_free(&o.services);
	lo2_strv_free(&o.profiles);
	return rc;
}

static void ps_print_json(const struct compose_ps *ps)
{
	struct lo2_jw *w = lo2_jw_new(NULL);
	char *out;

	lo2_jw_arr(w);
	for (size_t i = 0; i < ps->n; i++) {
		const struct compose_ps_row *r = &ps->v[i];

		lo2_jw_obj(w);
		lo2_jw_key(w, "ID");
		lo2_jw_str(w, r->id);
		lo2_jw_key(w, "Name");
		lo2_jw_str(w, r->name);
		lo2_jw_key(w, "Service");
		lo2_jw_str(w, r->service);
		lo2_jw_key(w, "State");
		lo2_jw_str(w, r->state);
		lo2_jw_key(w, "Health");
		lo2_jw_str(w, r->health ? r->health : "");
		lo2_jw_key(w, "Ports");
		lo2_jw_str(w, r->ports);
		lo2_jw_obj_end(w);
	}
	lo2_jw_arr_end(w);
	out = lo2_jw_finish(w, NULL);
	printf("%s\n", out);
	free(out);
}

static void ps_print_table(const struct compose_ps *ps)
{
	printf("%-32s %-20s %-10s %-10s %s\n", "NAME", "SERVICE", "STATE", "HEALTH", "PORTS");
	for (size_t i = 0; i < ps->n; i++) {
		const struct compose_ps_row *r = &ps->v[i];

		printf("%-32s %-20s %-10s %-10s %s\n", r->name, r->service, r->state,
		       r->health ? r->health : "", r->ports);
	}
}

int cmd_ps(int argc, char **argv)
{
	struct copts o = {0};
	struct compose_project *p = NULL;
	struct engine *e = NULL;
	struct compose_ps ps = {0};
	struct lo2_err err = {0};
	int rc;

	if (cli_wants_help(argc, argv)) {
		printf("Usage: lo2 ps [-f FILE] [-p NAME] [--format table|json] [-H HOST]\n\n"
		       "Lists the project's containers (found by label; -p alone needs no file): name,\n"
		       "service, state, health, published ports.\n");
		return CLI_OK;
	}
	rc = parse_opts("ps", "fpH", argc, argv, &o);
	if (rc == 0 && o.project == NULL)
		rc = require_file("ps", &o);
	if (rc == 0 && o.format && strcmp(o.format, "json") && strcmp(o.format, "table"))
		rc = cli_usage_error("ps", "--format takes table or json, not '%s'", o.format);
	if (rc != 0)
		goto out;
	rc = CLI_FAIL;
	p = o.file ? load(&o) : NULL;
	if ((o.file && p == NULL) || cli_engine_open(o.host, &e) < 0)
		goto out;
	if (compose_ps(e, p ? p->name : o.project, &ps, &err) < 0) {
		rc = cli_fail(&err);
		goto out;
	}
	if (o.format && strcmp(o.format, "json") == 0)
		ps_print_json(&ps);
	else
		ps_print_table(&ps);
	rc = CLI_OK;
out:
	compose_ps_free(&ps);
	engine_free(e);
	compose_project_free(p);
	lo2_strv_free(&o.services);
	lo2_strv_free(&o.profiles);
	return rc;
}
