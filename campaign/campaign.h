/* campaign.h - `lo2 campaign`: many runs of one collection distributed over several existing
 * Docker engines (one run at a time per engine, or per_engine at once with distinct projects),
 * each an ordinary run folder of DATASET_DIR; a campaign manifest (campaign.json) beside them,
 * rewritten atomically, tells every run's seed (derived from the campaign's), engine, attempts
 * and status. An engine that fails mid-run is retried with backoff while the others go on; a
 * killed campaign is resumed from its manifest. */
#ifndef LO2_CAMPAIGN_H
#define LO2_CAMPAIGN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/str.h"

struct run_config;

/* One engine of the fleet, as a docker context holds it. */
struct campaign_engine {
	char *name; /* unique in the campaign; names run folders (run_<k>_<name>) */
	char *host; /* as DOCKER_HOST spells it */
	char *ca, *cert, *key; /* TLS material (PEM files), or NULL */
	bool tls;
	struct lo2_kvv settings; /* run settings for this engine only ("traces.listen" -> "...") */
};

struct campaign_config {
	struct campaign_engine *engines;
	size_t n_engines;
	int runs; /* N */
	int per_engine; /* runs at once per engine */
	int max_attempts; /* attempts of one run before it is failed */
	int backoff_max_s; /* the longest wait between tries of an unreachable engine */
};

void campaign_config_init(struct campaign_config *cc);
void campaign_config_free(struct campaign_config *cc);
/* Reads the `campaign:` section of a lo2.yml (absent: nothing changes). Relative TLS paths are
 * taken from the file's folder; errors read "FILE:LINE:COL: ...". */
int campaign_config_load(const char *path, struct campaign_config *cc, struct lo2_err *err);
/* One --engine argument: ENDPOINT[,name=N][,tls=DIR][,ca=F][,cert=F][,key=F] (tls=DIR: DIR's
 * ca.pem, cert.pem and key.pem, as DOCKER_CERT_PATH). */
int campaign_engine_arg(const char *arg, struct campaign_config *cc, struct lo2_err *err);
/* Fills default names (e1, e2, ...) and checks the whole: unique names and endpoints, ranges. */
int campaign_config_check(struct campaign_config *cc, struct lo2_err *err);
/* The seed of run k (1-based) of a campaign: splitmix64 of seed + k * golden gamma, so every run
 * has its own schedule and the campaign replays from its seed. */
uint64_t campaign_run_seed(uint64_t campaign_seed, int k);
/* What "{engine_host}" stands for in an engine's run settings: the host of a tcp:// endpoint,
 * 127.0.0.1 for a socket (caller frees). */
char *campaign_engine_host(const char *endpoint);

/* ---- running ---- */
struct campaign;

/* One worker (an engine's slot) as the progress display shows it. */
struct campaign_worker_view {
	char label[80]; /* engine name, "#slot" when per_engine > 1 */
	char state[16]; /* starting, running, idle, down, done */
	int run; /* 1-based index of the run under way, 0 when none */
	size_t test_k, test_n;
	char tag[128];
	int test_planned_s;
	long test_elapsed_s;
	long run_left_s; /* planned seconds left of the run under way */
	char note[256]; /* the engine's last error when down */
};
struct campaign_view {
	struct campaign_worker_view *w;
	size_t n_workers;
	int runs, complete, failed, running, pending;
	long eta_s; /* estimate of the campaign's seconds left; -1 when unknown */
};

struct campaign_hooks {
	/* A line of a run's run_log.log (who: the worker's label) or of the campaign itself
	 * (who: "campaign"); may be NULL. */
	void (*log)(void *user, const char *who, const char *line);
	void *user;
	/* When it becomes true (a signal) every run stops cleanly, its stack torn down. */
	const atomic_bool *cancel;
};

/* A new campaign into dir (created; it must not hold a campaign yet): rc is every run's settings
 * (run_config_check'ed; its seed the campaign seed, random when empty). */
int campaign_create(const struct campaign_config *cc, const struct run_config *rc, const char *dir,
                    struct campaign **out, struct lo2_err *err);
/* The campaign of dir, as its manifest and saved settings tell, to continue it. */
int campaign_open_resume(const char *dir, struct campaign **out, struct lo2_err *err);
/* Runs every run not complete yet; returns 0 when all are complete, -1 otherwise (err: why:
 * failed runs, or cancelled). The manifest is rewritten at every change. */
int campaign_run(struct campaign *cp, const struct campaign_hooks *h, struct lo2_err *err);
/* A snapshot for progress (free with campaign_view_free). Thread-safe. */
void campaign_view(struct campaign *cp, struct campaign_view *out);
void campaign_view_free(struct campaign_view *v);
uint64_t campaign_seed(const struct campaign *cp);
const char *campaign_dir(const struct campaign *cp);
void campaign_free(struct campaign *cp);

/* The manifest's file name in DATASET_DIR, and the settings file runs are made from. */
#define CAMPAIGN_MANIFEST "campaign.json"
#define CAMPAIGN_SETTINGS "campaign_config.yml"

/* ---- summary ---- */
struct campaign_summary_engine {
	char *name, *host;
	int complete, failed, attempts_failed;
};
struct campaign_summary {
	int runs;
	struct lo2_kvv status_counts; /* status -> count (decimal) */
	struct campaign_summary_engine *engines;
	size_t n_engines;
	uint64_t tests, tests_complete, log_lines, metric_files, trace_rows;
	int bad_checksums; /* files of complete runs that no longer match their run.json */
	struct lo2_strv failed_checks; /* "run_3_e1: checksums", "run_2_e2: unreadable: ..." */
	char *status;
	uint64_t seed;
	double wall_s;
};
/* True when dir holds a campaign manifest. */
bool campaign_is_dataset(const char *dir);
int campaign_summary_read(const char *dir, struct campaign_summary *out, struct lo2_err *err);
void campaign_summary_free(struct campaign_summary *s);

#endif
