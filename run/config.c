/* config.c - the settings table and its three readers: lo2.yml, flags, --help. */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/file.h"
#include "common/mem.h"
#include "compose/yaml.h"
#include "run/config.h"

enum kind { T_STR, T_PATH, T_INT, T_BOOL, T_LIST };

struct setting {
	const char *key; /* lo2.yml path, dotted */
	enum kind kind;
	size_t off;
	const char *def;
	const char *help;
};

#define S(k, t, f, d, h) \
	{ \
		k, t, offsetof(struct run_config, f), d, h \
	}
static const struct setting settings[] = {
    S("compose_file", T_PATH, compose_file, "docker-compose.yml",
      "the compose file of the system under test"),
    S("project", T_STR, project, "", "compose project name (default: as compose derives it)"),
    S("mysql.service", T_STR, mysql_service, "mysqldb",
      "the MySQL service (its address and root password are read from the engine)"),
    S("mysql.host", T_STR, mysql_host, "", "MySQL address instead of the service"),
    S("mysql.port", T_INT, mysql_port, "3306", "MySQL port with mysql.host"),
    S("mysql.user", T_STR, mysql_user, "root", "MySQL user"),
    S("mysql.password_env", T_STR, mysql_password_env, "",
      "environment variable holding the password (default: the service's MYSQL_ROOT_PASSWORD)"),
    S("mysql.password_file", T_PATH, mysql_password_file, "", "file holding the password"),
    S("mysql.database", T_STR, mysql_database, "", "database to connect to"),
    S("mysql.init_sql", T_PATH, mysql_init_sql, "", "SQL script run once MySQL is ready (empty: none)"),
    S("mysql.timeout", T_INT, mysql_timeout, "300", "seconds to wait for MySQL"),
    S("locust.folder", T_PATH, locust_folder, "locust", "folder with the locustfiles (tags are found here)"),
    S("locust.main", T_STR, locust_main, "locust_main.py", "the locustfile, relative to locust.folder"),
    S("locust.users", T_INT, locust_users, "7", "Locust users"),
    S("locust.spawn_rate", T_INT, locust_spawn_rate, "7", "Locust spawn rate (users per second)"),
    S("locust.host", T_STR, locust_host, "", "target host URL given to Locust (-H)"),
    S("locust.extra_args", T_LIST, locust_extra_args, "", "more Locust arguments"),
    S("locust.image", T_STR, locust_image, "lo2-lab/locust:latest",
      "run Locust as a container of this image on the project's network"),
    S("locust.command", T_STR, locust_command, "", "run Locust as this host program instead of a container"),
    S("locust.network", T_STR, locust_network, "",
      "network of the Locust container (default: <project>_default; host: the host's)"),
    S("locust.grace", T_INT, locust_grace, "30",
      "seconds past its run time before a Locust that has not ended is stopped (SIGINT, SIGTERM, "
      "kill 5 s apart) and its test marked failed"),
    S("ready.timeout", T_INT, ready_timeout, "300",
      "seconds for the system to be ready after deploy (health, MySQL and init SQL, Prometheus)"),
    S("ready.health", T_BOOL, ready_health, "true",
      "wait until every service with a healthcheck is healthy before the first test"),
    S("ready.prometheus", T_BOOL, ready_prometheus, "true",
      "wait until every Prometheus target is up and was scraped after the deploy"),
    S("prometheus.url", T_STR, prometheus_url, "http://127.0.0.1:9090",
      "Prometheus base URL (empty: no metrics)"),
    S("prometheus.metrics", T_PATH, prometheus_metrics, "all", "metric list file, or all"),
    S("prometheus.step", T_STR, prometheus_step, "1s", "query_range step"),
    S("jaeger.url", T_STR, jaeger_url, "", "Jaeger query URL (empty: no traces)"),
    S("jaeger.services", T_STR, jaeger_services, "all", "comma-separated services, or all"),
    S("jaeger.limit", T_INT, jaeger_limit, "1000", "traces per service and window"),
    S("traces.receive", T_BOOL, traces_receive, "true",
      "receive OpenTelemetry spans (OTLP/HTTP) at ${LO2_OTLP_ENDPOINT}, the compose file's variable"),
    S("traces.listen", T_STR, traces_listen, "",
      "ADDR:PORT to receive spans at (default: where containers reach the host, docker0's address, "
      "port 4318 or a free one)"),
    S("traces.settle", T_INT, traces_settle, "5",
      "seconds after a test before its traces are complete (the OTel SDK's batch delay is 5 s)"),
    S("durations.min", T_INT, duration_min, "20", "shortest test, seconds"),
    S("durations.max", T_INT, duration_max, "180", "longest test, seconds"),
    S("waits.min", T_INT, wait_min, "1", "shortest pause between tests, seconds"),
    S("waits.max", T_INT, wait_max, "5", "longest pause between tests, seconds"),
    S("seed", T_STR, seed, "", "schedule seed (default: random, printed and recorded)"),
    S("output_root", T_PATH, output_root, ".", "where LO2_run_<unix>/ folders are made"),
    S("output", T_PATH, output, "", "the run folder itself (default: <output_root>/LO2_run_<unix>)"),
    S("compress", T_BOOL, compress, "true", "gzip the container logs"),
    S("timestamps", T_BOOL, timestamps, "false", "keep the engine's timestamp on each log line"),
    S("keep", T_BOOL, keep, "false", "leave the stack running at the end (no down -v)"),
    S("pin_digests", T_BOOL, pin_digests, "false",
      "on --resume, deploy every service by the image digest the run recorded (pulled if missing)"),
    S("tags", T_LIST, tags, "", "run only these tags"),
    S("runs", T_INT, runs, "1", "runs in a row"),
    S("faults_image", T_STR, faults_image, FAULT_HELPER_IMAGE,
      "the helper image of network faults (Debian's iproute2; scripts/build-images builds it)"),
};
#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))

static void *field(struct run_config *c, const struct setting *s)
{
	return (char *)c + s->off;
}

static int parse_int(const char *v, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno || n < 0 || n > 1000000000)
		return -1;
	*out = (int)n;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "1") == 0 || strcmp(v, "on") == 0)
		*out = true;
	else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || strcmp(v, "0") == 0 ||
	         strcmp(v, "off") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

static const char *kind_word(enum kind k)
{
	static const char *const w[] = {"a string", "a path", "a whole number", "true or false", "a list"};

	return w[k];
}

/* Sets a scalar setting from text; base resolves relative paths (NULL: keep as given). */
static int set_value(struct run_config *c, const struct setting *s, const char *v, const char *base)
{
	void *f = field(c, s);

	switch (s->kind) {
	case T_STR:
	case T_PATH:
		free(*(char **)f);
		if (s->kind == T_PATH && base && v[0] && v[0] != '/' && strcmp(v, "all") != 0)
			*(char **)f = xasprintf("%s/%s", base, v);
		else
			*(char **)f = xstrdup(v);
		return 0;
	case T_INT:
		return parse_int(v, (int *)f);
	case T_BOOL:
		return parse_bool(v, (bool *)f);
	case T_LIST: {
		lo2_autofree char *copy = xstrdup(v);
		char *save = NULL;

		lo2_strv_free((struct lo2_strv *)f);
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
			lo2_strv_push((struct lo2_strv *)f, t);
		return 0;
	}
	}
	return -1;
}

void run_config_defaults(struct run_config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < N_SETTINGS; i++)
		set_value(c, &settings[i], settings[i].def, NULL);
}

void run_config_free(struct run_config *c)
{
	for (size_t i = 0; i < N_SETTINGS; i++) {
		if (settings[i].kind == T_STR || settings[i].kind == T_PATH)
			free(*(char **)field(c, &settings[i]));
		else if (settings[i].kind == T_LIST)
			lo2_strv_free((struct lo2_strv *)field(c, &settings[i]));
	}
	fault_rules_free(&c->faults);
	memset(c, 0, sizeof(*c));
}

static const struct setting *find_key(const char *key)
{
	for (size_t i = 0; i < N_SETTINGS; i++)
		if (strcmp(settings[i].key, key) == 0)
			return &settings[i];
	return NULL;
}

static bool is_section(const char *key)
{
	size_t n = strlen(key);

	for (size_t i = 0; i < N_SETTINGS; i++)
		if (strncmp(settings[i].key, key, n) == 0 && settings[i].key[n] == '.')
			return true;
	return false;
}

/* One entry of the faults: list: kind first, then targets and parameters. */
static int load_fault(struct run_config *c, const struct compose_ynode *m, const char *file,
                      struct lo2_err *err)
{
	struct fault_rule r = {0};
	const struct compose_ynode *kind = NULL;

	if (m->kind != COMPOSE_YMAP)
		return compose_ynode_err(err, file, m, "faults: expected a mapping (kind, targets, ...)");
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->keys[i]->value, "kind") == 0)
			kind = m->items[i];
	if (kind == NULL || kind->kind != COMPOSE_YSCALAR)
		return compose_ynode_err(err, file, kind ? kind : m, "faults: expected a kind");
	if (fault_rule_init(&r, kind->value, file, m->line, m->col, err) < 0) {
		fault_rule_free(&r);
		return lo2_err_prefix(err, "%s:%d:%d", file, kind->line, kind->col);
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct compose_ynode *k = m->keys[i], *v = m->items[i];
		int rc = 0;

		if (strcmp(k->value, "kind") == 0)
			continue;
		if (strcmp(k->value, "targets") == 0) {
			r.targets_line = v->line;
			r.targets_col = v->col;
			if (v->kind == COMPOSE_YSCALAR) {
				lo2_strv_push(&r.targets, v->value);
				continue;
			}
			for (size_t j = 0; v->kind == COMPOSE_YSEQ && j < v->n; j++)
				if (v->items[j]->kind == COMPOSE_YSCALAR)
					lo2_strv_push(&r.targets, v->items[j]->value);
			if (v->kind == COMPOSE_YSEQ && r.targets.n == v->n)
				continue;
			rc = compose_ynode_err(err, file, v,
			                       "targets: expected a list of service names, or all");
		} else if (v->kind != COMPOSE_YSCALAR) {
			rc = compose_ynode_err(err, file, v, "%s: expected a value", k->value);
		} else if (fault_rule_param(&r, k->value, v->value, v->line, v->col, err) < 0) {
			rc = lo2_err_prefix(err, "%s:%d:%d", file,
			                    compose_ynode_is_null(v) ? k->line : v->line,
			                    compose_ynode_is_null(v) ? k->col : v->col);
		}
		if (rc < 0) {
			fault_rule_free(&r);
			return -1;
		}
	}
	fault_rules_take(&c->faults, &r);
	return 0;
}

static int load_faults(struct run_config *c, const struct compose_ynode *v, const char *file,
                       struct lo2_err *err)
{
	fault_rules_free(&c->faults);
	if (compose_ynode_is_null(v))
		return 0;
	if (v->kind != COMPOSE_YSEQ)
		return compose_ynode_err(err, file, v, "faults: expected a list of faults");
	for (size_t i = 0; i < v->n; i++)
		if (load_fault(c, v->items[i], file, err) < 0)
			return -1;
	return 0;
}

static int load_node(struct run_config *c, const char *prefix, const struct compose_ynode *map,
                     const char *file, const char *base, struct lo2_err *err)
{
	for (size_t i = 0; i < map->n; i++) {
		const struct compose_ynode *k = map->keys[i], *v = map->items[i];
		lo2_autofree char *key = prefix ? xasprintf("%s.%s", prefix, k->value) : xstrdup(k->value);
		const struct setting *s = find_key(key);

		/* lo2 campaign's own section (campaign/): not a setting of a run */
		if (prefix == NULL && strcmp(key, RUN_CONFIG_CAMPAIGN_KEY) == 0)
			continue;
		if (prefix == NULL && strcmp(key, "faults") == 0) {
			if (load_faults(c, v, file, err) < 0)
				return -1;
			continue;
		}
		if (s == NULL && is_section(key) && v->kind == COMPOSE_YMAP) {
			if (load_node(c, key, v, file, base, err) < 0)
				return -1;
			continue;
		}
		if (s == NULL)
			return compose_ynode_err(err, file, k, "unknown setting \"%s\"%s", key,
			                         is_section(key) ? " (expected a mapping)" : "");
		if (s->kind == T_LIST && v->kind == COMPOSE_YSEQ) {
			struct lo2_strv *l = field(c, s);

			lo2_strv_free(l);
			for (size_t j = 0; j < v->n; j++) {
				if (v->items[j]->kind != COMPOSE_YSCALAR)
					return compose_ynode_err(err, file, v->items[j],
					                         "%s: expected %s of strings", key, "a list");
				lo2_strv_push(l, v->items[j]->value);
			}
			continue;
		}
		if (v->kind != COMPOSE_YSCALAR ||
		    set_value(c, s, compose_ynode_is_null(v) ? "" : v->value, base) < 0)
			return compose_ynode_err(err, file, v, "%s: expected %s", key, kind_word(s->kind));
	}
	return 0;
}

int run_config_load(const char *path, struct run_config *c, struct lo2_err *err)
{
	lo2_autofree char *text = NULL, *copy = xstrdup(path), *base = NULL;
	struct compose_ydoc *doc = NULL;
	size_t len = 0;
	int ret = -1;

	if (lo2_read_file(path, 4u * 1024 * 1024, &text, &len, err) < 0)
		return lo2_err_prefix(err, "read config");
	/* Paths in the file are taken from its folder, made absolute (they become bind sources). */
	base = realpath(dirname(copy), NULL);
	if (base == NULL)
		return lo2_err_errno(err, errno, "read config %s", path);
	if (compose_yaml_parse(text, len, path, 0, &doc, err) < 0)
		return lo2_err_prefix(err, "read config");
	if (doc->root == NULL) {
		ret = 0;
	} else if (doc->root->kind != COMPOSE_YMAP) {
		compose_ynode_err(err, path, doc->root, "%s: expected %s of settings", "lo2.yml",
		                  "a mapping");
	} else {
		ret = load_node(c, NULL, doc->root, path, base, err);
	}
	compose_ydoc_free(doc);
	return ret;
}

/* "--mysql-user" -> the setting "mysql.user" (dashes and underscores alike). */
static const struct setting *find_flag(const char *flag)
{
	if (strncmp(flag, "--", 2) != 0)
		return NULL;
	flag += 2;
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const char *k = settings[i].key, *f = flag;

		for (; *k && *f; k++, f++)
			if (!(*k == *f || ((*k == '.' || *k == '_') && *f == '-')))
				break;
		if (*k == '\0' && (*f == '\0' || *f == '='))
			return &settings[i];
	}
	return NULL;
}

/* "--no-compress" -> the boolean setting "compress"; NULL for anything else. */
static const struct setting *find_negated(const char *flag)
{
	lo2_autofree char *pos = NULL;
	const struct setting *s;

	if (strncmp(flag, "--no-", 5) != 0 || strchr(flag, '=') != NULL)
		return NULL;
	pos = xasprintf("--%s", flag + 5);
	s = find_flag(pos);
	return s && s->kind == T_BOOL ? s : NULL;
}

/* --fault KIND=TARGET[+TARGET...][,KEY=VALUE...] (or --fault=...): one more fault rule. */
static int fault_flag(struct run_config *c, const char *flag, const char *value, bool *takes_value,
                      struct lo2_err *err)
{
	struct fault_rule r = {0};
	const char *eq = strchr(flag, '=');

	*takes_value = eq == NULL;
	if (eq)
		value = eq + 1;
	if (value == NULL)
		return lo2_err_set(err, LO2_E_USAGE,
		                   "option '--fault' needs a value (KIND=TARGET[,KEY=VALUE...])");
	if (fault_rule_from_flag(&r, value, err) < 0) {
		fault_rule_free(&r);
		err->kind = LO2_E_USAGE;
		return lo2_err_prefix(err, "option '--fault'");
	}
	fault_rules_take(&c->faults, &r);
	return 0;
}

static bool is_fault_flag(const char *flag)
{
	return strcmp(flag, "--fault") == 0 || strncmp(flag, "--fault=", 8) == 0;
}

bool run_config_flag_is_bool(const char *flag)
{
	const struct setting *s = find_flag(flag);

	return (s && s->kind == T_BOOL) || find_negated(flag) != NULL;
}

int run_config_flag(struct run_config *c, const char *flag, const char *value, bool *takes_value,
                    struct lo2_err *err)
{
	const struct setting *s = find_flag(flag);
	const char *eq = strchr(flag, '=');
	bool b;

	*takes_value = false;
	if (s == NULL && is_fault_flag(flag))
		return fault_flag(c, flag, value, takes_value, err);
	if (s == NULL && (s = find_negated(flag)) != NULL)
		value = "false";
	else if (s == NULL)
		return lo2_err_set(err, LO2_E_USAGE, "unknown option '%s'", flag);
	else if (eq)
		value = eq + 1;
	else if (s->kind == T_BOOL && value != NULL && parse_bool(value, &b) == 0)
		*takes_value = true; /* --compress false */
	else if (s->kind == T_BOOL)
		value = "true";
	else
		*takes_value = true;
	if (value == NULL)
		return lo2_err_set(err, LO2_E_USAGE, "option '%s' needs a value (%s)", flag,
		                   kind_word(s->kind));
	if (set_value(c, s, value, NULL) < 0)
		return lo2_err_set(err, LO2_E_USAGE, "option '%s': \"%s\" is not %s", flag, value,
		                   kind_word(s->kind));
	return 0;
}

int run_config_write(const struct run_config *c, const char *path, struct lo2_err *err)
{
	struct lo2_buf b = LO2_BUF_INIT;
	struct run_config *cc = (struct run_config *)(uintptr_t)c;
	int ret;

	lo2_buf_puts(&b, "# The settings this run used (lo2 run --resume reads them back).\n");
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const void *f = field(cc, &settings[i]);

		lo2_buf_printf(&b, "%s: ", settings[i].key);
		if (settings[i].kind == T_INT) {
			lo2_buf_printf(&b, "%d", *(const int *)f);
		} else if (settings[i].kind == T_BOOL) {
			lo2_buf_puts(&b, *(const bool *)f ? "true" : "false");
		} else if (settings[i].kind == T_LIST) {
			const struct lo2_strv *l = f;

			lo2_buf_puts(&b, "[");
			for (size_t j = 0; j < l->n; j++) {
				lo2_buf_puts(&b, j ? ", " : "");
				lo2_buf_yaml_quoted(&b, l->v[j]);
			}
			lo2_buf_puts(&b, "]");
		} else {
			lo2_buf_yaml_quoted(&b, *(char *const *)f);
		}
		lo2_buf_puts(&b, "\n");
	}
	fault_rules_yaml(&c->faults, &b);
	ret = lo2_write_file_atomic(path, b.data, b.len, err);
	lo2_buf_free(&b);
	return ret;
}

void run_config_help(FILE *f)
{
	for (size_t i = 0; i < N_SETTINGS; i++) {
		char flag[64], shown[160];
		size_t j = 0;

		for (const char *k = settings[i].key; *k && j < sizeof(flag) - 1; k++)
			flag[j++] = (*k == '.' || *k == '_') ? '-' : *k;
		flag[j] = '\0';
		if (settings[i].kind == T_BOOL)
			snprintf(shown, sizeof(shown), "%s, --no-%s", flag, flag);
		else
			snprintf(shown, sizeof(shown), "%s", flag);
		fprintf(f, "  --%-30s %s%s%s%s\n", shown, settings[i].help, settings[i].def[0] ? " [" : "",
		        settings[i].def, settings[i].def[0] ? "]" : "");
	}
	fprintf(f, "  --%-30s %s\n", "fault KIND=TARGET[+...][,K=V...]",
	        "one more fault test per target (a faults: entry of lo2.yml): kinds pause, stop, kill, "
	        "restart, cpu, memory, network, stress; keys onset, duration and the kind's parameters");
	fprintf(f,
	        "\nEvery option is also a lo2.yml key: --mysql-user is mysql.user (nested: mysql: {user: "
	        "...}).\nA true/false option takes --X, --no-X, --X=false or --X false (also yes/no, on/off, "
	        "1/0).\n");
}

void run_config_copy(struct run_config *dst, const struct run_config *src)
{
	memcpy(dst, src, sizeof(*dst));
	for (size_t i = 0; i < N_SETTINGS; i++) {
		void *f = field(dst, &settings[i]);

		if (settings[i].kind == T_STR || settings[i].kind == T_PATH) {
			*(char **)f = xstrdup(*(char **)f);
		} else if (settings[i].kind == T_LIST) {
			struct lo2_strv copy = {0}, *l = f;

			for (size_t j = 0; j < l->n; j++)
				lo2_strv_push(&copy, l->v[j]);
			*l = copy;
		}
	}
	fault_rules_copy(&dst->faults, &src->faults);
}

/* s with every `from` replaced by `to` (caller frees). */
static char *replaced(const char *s, const char *from, const char *to)
{
	struct lo2_buf b = LO2_BUF_INIT;
	size_t n = strlen(from);
	const char *p;

	while ((p = strstr(s, from)) != NULL) {
		lo2_buf_append(&b, s, (size_t)(p - s));
		lo2_buf_puts(&b, to);
		s = p + n;
	}
	lo2_buf_puts(&b, s);
	return lo2_buf_steal(&b);
}

void run_config_replace(struct run_config *c, const char *from, const char *to)
{
	for (size_t i = 0; i < N_SETTINGS; i++) {
		void *f = field(c, &settings[i]);

		if (settings[i].kind == T_STR || settings[i].kind == T_PATH) {
			char *v = replaced(*(char **)f, from, to);

			free(*(char **)f);
			*(char **)f = v;
		} else if (settings[i].kind == T_LIST) {
			struct lo2_strv *l = f;

			for (size_t j = 0; j < l->n; j++) {
				char *v = replaced(l->v[j], from, to);

				free(l->v[j]);
				l->v[j] = v;
			}
		}
	}
}

int run_config_seed(const struct run_config *c, uint64_t *seed, struct lo2_err *err)
{
	char *end;

	errno = 0;
	*seed = strtoull(c->seed, &end, 10);
	if (c->seed[0] == '\0' || c->seed[0] == '-' || *end != '\0' || errno)
		return lo2_err_set(err, LO2_E_USAGE, "seed: \"%s\" is not a whole number below 2^64",
		                   c->seed);
	return 0;
}

int run_config_check(const struct run_config *c, struct lo2_err *err)
{
	uint64_t seed;

	if (c->duration_min < 1 || c->duration_max < c->duration_min)
		return lo2_err_set(err, LO2_E_USAGE,
		                   "durations: min %d and max %d must satisfy 1 <= min <= max",
		                   c->duration_min, c->duration_max);
	if (c->wait_max < c->wait_min)
		return lo2_err_set(err, LO2_E_USAGE, "waits: max %d is below min %d", c->wait_max,
		                   c->wait_min);
	if (c->locust_users < 1 || c->locust_spawn_rate < 1)
		return lo2_err_set(err, LO2_E_USAGE, "locust.users and locust.spawn_rate must be at least 1");
	if (c->runs < 1)
		return lo2_err_set(err, LO2_E_USAGE, "runs must be at least 1");
	if (c->locust_image[0] == '\0' && c->locust_command[0] == '\0')
		return lo2_err_set(err, LO2_E_USAGE,
		                   "locust: set image (a container) or command (a host program)");
	if (c->seed[0] && run_config_seed(c, &seed, err) < 0)
		return -1;
	if (fault_rules_check(&c->faults, c->duration_min, c->duration_max, err) < 0)
		return -1;
	return 0;
}
