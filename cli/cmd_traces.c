/* cmd_traces.c - `lo2 traces record`: lo2's OTLP/HTTP receiver on its own, writing the trace
 * files of a run's window (traces_<service>.csv, traces.otlp.jsonl.gz) for a whole duration.
 * With -f it listens on the project network's gateway, where the project's containers reach
 * the host, and nowhere else. */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/file.h"
#include "common/mem.h"
#include "common/time.h"
#include "compose/compose.h"
#include "engine/engine.h"
#include "otlp/otlp.h"

#define DEFAULT_PORT 4318

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: lo2 traces record (-f COMPOSE_FILE [-p NAME] [--network KEY] [--port P] | --listen "
	    "ADDR:PORT)\n"
	    "                         -o DIR [--duration S]\n\n"
	    "Receives OpenTelemetry spans over OTLP/HTTP (POST /v1/traces, protobuf or JSON, gzip) and\n"
	    "writes DIR/traces_<service.name>.csv (the Jaeger path's columns) and DIR/traces.otlp.jsonl.gz\n"
	    "(every span, lossless) when it ends: after --duration, or on Ctrl-C / SIGTERM.\n"
	    "Prints the endpoint for the exporters (OTEL_EXPORTER_OTLP_ENDPOINT) on standard output.\n\n"
	    "  -f, --file FILE      listen on the gateway address of this compose project's network\n"
	    "                       (the project must be up); never on every interface\n"
	    "  -p, --project-name NAME\n"
	    "      --network KEY    the project network to use (default: default, else the first)\n"
	    "      --port P         port on that address (default %d; 0: any free port)\n"
	    "      --listen ADDR:PORT  listen there instead (e.g. 127.0.0.1:4318, [::1]:0)\n"
	    "  -o, --output DIR     where the files go (made when missing)\n"
	    "      --duration S     stop after S seconds (default: until Ctrl-C)\n"
	    "      --max-body BYTES request body cap (default 16 MiB)\n"
	    "      --queue SPANS    spans waiting to be written before 503 (default 65536)\n"
	    "  -H, --host HOST      engine address (default: $DOCKER_HOST)\n",
	    DEFAULT_PORT);
}

struct rec_args {
	const char *file, *project, *network, *listen, *dir, *host;
	int port;
	double duration;
	size_t max_body, queue;
};

struct sink_ctx {
	struct otlp_writer *w;
	struct lo2_err err; /* the first write failure */
	bool failed;
};

static int on_span(void *user, const struct otlp_span *s)
{
	struct sink_ctx *c = user;

	if (c->failed)
		return -1;
	if (otlp_writer_add(c->w, s, &c->err) < 0) {
		c->failed = true;
		return -1;
	}
	return 0;
}

/* The gateway of the project's network (the host's address on it). */
static int project_gateway(const struct rec_args *a, char **gw, struct lo2_err *err)
{
	struct compose_load_opts lo = {.file = a->file, .project_name = a->project};
	struct compose_project *p = NULL;
	struct engine *e = NULL;
	struct engine_network_info ni = {0};
	const struct compose_network *net = NULL;
	int ret = -1;

	if (compose_load(&lo, &p, NULL, err) < 0)
		return -1;
	for (size_t i = 0; i < p->n_networks && net == NULL; i++)
		if (strcmp(p->networks[i].key, a->network ? a->network : "default") == 0)
			net = &p->networks[i];
	for (size_t i = 0; a->network == NULL && i < p->n_networks && net == NULL; i++)
		if (p->networks[i].used)
			net = &p->networks[i];
	if (net == NULL) {
		lo2_err_set(err, LO2_E_USAGE, "project %s has no network %s", p->name,
		            a->network ? a->network : "");
		goto out;
	}
	if (engine_open(a->host, &e, err) < 0)
		goto out;
	if (engine_network_inspect(e, net->name, &ni, err) < 0) {
		if (err->kind == LO2_E_NOT_FOUND)
			lo2_err_prefix(err, "project %s is not up (lo2 up -f %s), or use --listen", p->name,
			               a->file);
		goto out;
	}
	if (ni.gateway == NULL) {
		lo2_err_set(err, LO2_E_GENERIC, "network %s has no IPAM gateway: use --listen", net->name);
		goto out;
	}
	*gw = ni.gateway;
	ni.gateway = NULL;
	ret = 0;
out:
	engine_network_info_free(&ni);
	engine_free(e);
	compose_project_free(p);
	return ret;
}

/* Waits for the duration (0: none) or SIGINT/SIGTERM, which the caller has blocked. */
static void wait_end(double duration)
{
	sigset_t set;
	int64_t deadline = duration > 0 ? lo2_mono_ns() + (int64_t)(duration * 1e9) : 0;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	for (;;) {
		struct timespec ts = {1, 0};
		int64_t left = deadline ? deadline - lo2_mono_ns() : 0;

		if (deadline && left <= 0)
			return;
		if (deadline && left < LO2_NS_PER_SEC) {
			ts.tv_sec = 0;
			ts.tv_nsec = (long)left;
		}
		if (sigtimedwait(&set, NULL, &ts) > 0)
			return;
	}
}

static void print_stats(const struct otlp_stats *st, const struct otlp_writer_stats *ws)
{
	uint64_t rejected = 0;

	fprintf(stderr, "lo2 traces: %llu spans received, %zu written (%zu service file%s",
	        (unsigned long long)st->spans_accepted, ws->spans, ws->services,
	        ws->services == 1 ? "" : "s");
	if (ws->csv_skipped)
		fprintf(stderr, "; %zu only in %s: no file name for their service", ws->csv_skipped,
		        OTLP_JSONL_FILE);
	fprintf(stderr, ")\n");
	for (int i = 0; i < OTLP_REJECT__N; i++)
		rejected += st->spans_rejected[i];
	if (rejected) {
		fprintf(stderr, "lo2 traces: %llu spans rejected:", (unsigned long long)rejected);
		for (int i = 0; i < OTLP_REJECT__N; i++)
			if (st->spans_rejected[i])
				fprintf(stderr, " %llu %s;", (unsigned long long)st->spans_rejected[i],
				        otlp_reject_name((enum otlp_reject)i));
		fprintf(stderr, "\n");
	}
	fprintf(stderr, "lo2 traces: requests:");
	for (int i = 0; i < OTLP_ANSWER__N; i++)
		if (st->answers[i])
			fprintf(stderr, " %s: %llu;", otlp_answer_name((enum otlp_answer)i),
			        (unsigned long long)st->answers[i]);
	fprintf(stderr, " %llu bytes received (%llu decoded)\n", (unsigned long long)st->bytes_received,
	        (unsigned long long)st->bytes_decoded);
	if (st->spans_deferred)
		fprintf(
		    stderr,
		    "lo2 traces: %llu spans were answered 503 (queue full) for the exporters to send again\n",
		    (unsigned long long)st->spans_deferred);
}

static int record(const struct rec_args *a)
{
	struct sink_ctx ctx = {0};
	struct otlp_opts o = {.port = a->port,
	                      .body_max = a->max_body,
	                      .queue_spans = a->queue,
	                      .on_span = on_span,
	                      .user = &ctx};
	struct otlp_receiver *r = NULL;
	struct otlp_stats st;
	struct otlp_writer_stats ws = {0};
	struct lo2_err err = {0};
	lo2_autofree char *addr = NULL;
	sigset_t set, old;
	bool v6;

	if (a->listen != NULL) {
		if (otlp_parse_listen(a->listen, &addr, &o.port, &err) < 0)
			return cli_usage_error("traces record", "%s", err.msg);
	} else if (project_gateway(a, &addr, &err) < 0) {
		return cli_fail(&err);
	}
	o.address = addr;
	if (lo2_mkdir_p(a->dir, 0755, &err) < 0 || otlp_writer_open(a->dir, &ctx.w, &err) < 0)
		return cli_fail(&err);
	/* the receiver's threads inherit the mask: the signals come to sigtimedwait */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	if (otlp_receiver_start(&o, &r, &err) < 0) {
		otlp_writer_abort(ctx.w);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return cli_fail(&err);
	}
	v6 = strchr(addr, ':') != NULL;
	printf("http://%s%s%s:%d\n", v6 ? "[" : "", addr, v6 ? "]" : "", otlp_receiver_port(r));
	fflush(stdout);
	fprintf(stderr, "lo2 traces: receiving OTLP/HTTP on http://%s%s%s:%d/v1/traces, writing %s (%s)\n",
	        v6 ? "[" : "", addr, v6 ? "]" : "", otlp_receiver_port(r), a->dir,
	        a->duration > 0 ? "for the duration" : "Ctrl-C ends");
	wait_end(a->duration);
	otlp_receiver_stop(r, &st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ctx.failed) {
		otlp_writer_abort(ctx.w);
		print_stats(&st, &ws);
		return cli_fail(&ctx.err);
	}
	if (otlp_writer_commit(ctx.w, &ws, &err) < 0) {
		print_stats(&st, &ws);
		return cli_fail(&err);
	}
	print_stats(&st, &ws);
	return CLI_OK;
}

static int parse_size(const char *what, const char *s, size_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v == 0)
		return cli_usage_error("traces record", "%s: '%s' is not a positive whole number", what, s);
	*out = (size_t)v;
	return 0;
}

static int cmd_record(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"file", required_argument, NULL, 'f'},     {"project-name", required_argument, NULL, 'p'},
	    {"network", required_argument, NULL, 'N'},  {"port", required_argument, NULL, 'P'},
	    {"listen", required_argument, NULL, 'l'},   {"output", required_argument, NULL, 'o'},
	    {"duration", required_argument, NULL, 'd'}, {"max-body", required_argument, NULL, 'm'},
	    {"queue", required_argument, NULL, 'q'},    {"host", required_argument, NULL, 'H'},
	    {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
	struct rec_args a = {.port = DEFAULT_PORT};
	char *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:p:o:H:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			a.file = optarg;
			break;
		case 'p':
			a.project = optarg;
			break;
		case 'N':
			a.network = optarg;
			break;
		case 'P':
			a.port = (int)strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || a.port < 0 || a.port > 65535)
				return cli_usage_error("traces record", "--port: '%s' is not 0..65535",
				                       optarg);
			break;
		case 'l':
			a.listen = optarg;
			break;
		case 'o':
			a.dir = optarg;
			break;
		case 'd':
			a.duration = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || !(a.duration > 0))
				return cli_usage_error("traces record",
				                       "--duration: '%s' is not a positive number of seconds",
				                       optarg);
			break;
		case 'm':
			if (parse_size("--max-body", optarg, &a.max_body) != 0)
				return CLI_USAGE;
			break;
		case 'q':
			if (parse_size("--queue", optarg, &a.queue) != 0)
				return CLI_USAGE;
			break;
		case 'H':
			a.host = optarg;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			return cli_usage_error("traces record", "bad option");
		}
	}
	if (optind != argc)
		return cli_usage_error("traces record", "unexpected argument '%s'", argv[optind]);
	if ((a.file == NULL) == (a.listen == NULL))
		return cli_usage_error("traces record", "give either -f COMPOSE_FILE or --listen ADDR:PORT");
	if (a.dir == NULL)
		return cli_usage_error("traces record", "missing -o DIR");
	return record(&a);
}

int cmd_traces(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "record") == 0)
		return cmd_record(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return CLI_OK;
	}
	return cli_usage_error("traces",
	                       argc >= 2 ? "unknown subcommand '%s'" : "missing subcommand (record)%s",
	                       argc >= 2 ? argv[1] : "");
}
