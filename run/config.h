/* config.h - `lo2 run`'s settings: one table (key, type, default, help) drives lo2.yml, the
 * command-line flags (--mysql-user for mysql.user) and --help, so the three never disagree. */
#ifndef LO2_RUN_CONFIG_H
#define LO2_RUN_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"
#include "common/str.h"
#include "faults/faults.h"

struct run_config {
	char *compose_file, *project;
	char *mysql_service, *mysql_host, *mysql_user, *mysql_password_env, *mysql_password_file,
	    *mysql_database, *mysql_init_sql;
	int mysql_port, mysql_timeout;
	char *locust_folder, *locust_main, *locust_host, *locust_image, *locust_command, *locust_network;
	int locust_users, locust_spawn_rate, locust_grace;
	int ready_timeout;
	bool ready_health, ready_prometheus;
	struct lo2_strv locust_extra_args;
	char *prometheus_url, *prometheus_metrics, *prometheus_step;
	char *jaeger_url, *jaeger_services;
	int jaeger_limit;
	bool traces_receive;
	char *traces_listen;
	int traces_settle;
	int duration_min, duration_max, wait_min, wait_max;
	char *seed; /* decimal; empty: a random seed, printed and recorded */
	char *output_root, *output;
	bool compress, timestamps, keep, pin_digests;
	struct lo2_strv tags;
	int runs;
	char *faults_image; /* the helper image of network faults (a rule's image: overrides it) */
	struct fault_rules faults; /* lo2.yml's faults: list and --fault flags */
};

/* The top-level key of lo2.yml that `lo2 campaign` reads (campaign/); a run skips it. */
#define RUN_CONFIG_CAMPAIGN_KEY "campaign"

/* Fills every setting with its default. */
void run_config_defaults(struct run_config *c);
void run_config_free(struct run_config *c);
/* Reads a lo2.yml; relative paths in it are taken from the file's folder. Unknown keys and bad
 * values are errors "FILE:LINE:COL: ...". */
int run_config_load(const char *path, struct run_config *c, struct lo2_err *err);
/* Applies one flag ("--mysql-user", value; "--fault KIND=TARGET[+...][,KEY=VALUE...]" adds a
 * fault rule) over the config; -1 with LO2_E_USAGE when unknown
 * or invalid. *takes_value tells whether the flag consumes a value (booleans don't). */
int run_config_flag(struct run_config *c, const char *flag, const char *value, bool *takes_value,
                    struct lo2_err *err);
/* True when flag names a boolean setting (so it takes no value). */
bool run_config_flag_is_bool(const char *flag);
/* Writes every setting as a lo2.yml that run_config_load reads back to the same config
 * (flat dotted keys, absolute paths). */
int run_config_write(const struct run_config *c, const char *path, struct lo2_err *err);
/* A deep copy of src into dst (free dst with run_config_free). */
void run_config_copy(struct run_config *dst, const struct run_config *src);
/* Replaces every occurrence of from by to in every text, path and list setting (a campaign's
 * "{engine_host}" in URLs). */
void run_config_replace(struct run_config *c, const char *from, const char *to);
/* Prints every setting: flag, lo2.yml key, default, help. */
void run_config_help(FILE *f);
/* Checks the combination (ranges, runner mode); err names the setting. */
int run_config_check(const struct run_config *c, struct lo2_err *err);
/* The seed as a number (parse of c->seed); -1 when it is not a decimal 64-bit number. */
int run_config_seed(const struct run_config *c, uint64_t *seed, struct lo2_err *err);

#endif
