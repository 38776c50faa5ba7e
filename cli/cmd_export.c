/* cmd_export.c - `lo2 export RUN_DIR... -o DIR [--format lo2|tables]`: run folders in the LO2
 * dataset layout (what LogLead's LO2Loader reads) or as gzip CSV tables per modality. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "cli/cli.h"
#include "common/time.h"
#include "export/export.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: lo2 export RUN_DIR... -o DIR [--format lo2|tables]\n\n"
	    "Writes the runs (folders made by lo2 run, read through their run.json) in another layout.\n"
	    "Only complete tests are exported; the runs are not changed.\n\n"
	    "  -o, --output DIR     where to write (made when missing)\n"
	    "      --format lo2     (default) the LO2 dataset layout: DIR/LO2_run_<unix>/ with run_log.log\n"
	    "                       and per test <container>.log (plain, without lo2's timestamps),\n"
	    "                       locust.log and metrics/; unchanged files are hard links\n"
	    "      --format tables  DIR/logs.csv.gz, metrics.csv.gz (and traces.csv.gz, events.csv.gz\n"
	    "                       when the runs have any): one row per log line or metric sample\n\n"
	    "The export's manifest (files with size and sha256, counts) is written beside DIR, as\n"
	    "DIR.lo2-export.json, so DIR holds only what its readers expect.\n");
}

static void report(const char *out, const struct export_stats *st, double secs)
{
	printf("exported %zu run(s), %zu test(s) (%zu not complete, skipped) to %s in %.2f s\n", st->runs,
	       st->tests, st->skipped_tests, out, secs);
	printf("files: %zu linked (%" PRIu64 " bytes), %zu written (%" PRIu64 " bytes)\n", st->files_linked,
	       st->bytes_linked, st->files_written, st->bytes_written);
	printf("rows: %" PRIu64 " log lines, %" PRIu64 " metric samples, %" PRIu64 " trace spans, %" PRIu64
	       " events\n",
	       st->log_lines, st->metric_samples, st->trace_spans, st->events);
	printf("manifest: %s\n", st->manifest);
}

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
	                                     {"format", required_argument, NULL, 'F'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	struct export_opts o = {.format = EXPORT_LO2};
	struct export_stats st = {0};
	struct lo2_err err = {0};
	int64_t t0;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o.out_dir = optarg;
			break;
		case 'F':
			if (export_format_parse(optarg, &o.format, &err) < 0)
				return cli_usage_error("export", "%s", err.msg);
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			return cli_usage_error("export", "bad option");
		}
	}
	if (!o.out_dir)
		return cli_usage_error("export", "-o DIR is required");
	if (optind >= argc)
		return cli_usage_error("export", "no RUN_DIR given");
	o.runs = (const char *const *)(argv + optind);
	o.n_runs = (size_t)(argc - optind);
	t0 = lo2_mono_ns();
	rc = export_runs(&o, &st, &err);
	if (rc < 0) {
		export_stats_free(&st);
		return cli_fail(&err);
	}
	report(o.out_dir, &st, (double)(lo2_mono_ns() - t0) / 1e9);
	export_stats_free(&st);
	return CLI_OK;
}
