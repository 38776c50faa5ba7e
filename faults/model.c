/* model.c - the fault model: kinds and their parameters (one table), the checks every value
 * passes before anything is deployed, the expansion of rules into one fault test per service,
 * and the YAML form that run_config.yml keeps for --resume. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/mem.h"
#include "common/time.h"
#include "faults/faults.h"

#define MIN_MEMORY (6 * 1024 * 1024) /* the engine refuses a lower memory limit */

static const char *const kind_names[] = {"pause", "stop",   "kill",    "restart",
                                         "cpu",   "memory", "network", "stress"};
#define N_KINDS (sizeof(kind_names) / sizeof(kind_names[0]))

enum ptype {
	P_WHEN,
	P_TIMEOUT,
	P_SIGNAL,
	P_CPUS,
	P_MEMORY,
	P_DELAY,
	P_PERCENT,
	P_RATE,
	P_IMAGE,
	P_STRESSOR,
	P_WORKERS,
	P_BYTES
};

/* The parameters of each kind: name, type, and the kinds (bit mask) that take it. */
struct pdef {
	const char *key;
	enum ptype type;
	unsigned kinds;
	const char *help;
};
#define K(k) (1u << (k))
#define ALL_KINDS ((1u << N_KINDS) - 1)
static const struct pdef pdefs[] = {
    {"onset", P_WHEN, ALL_KINDS, "seconds into the test, or a percentage of it"},
    {"duration", P_WHEN, ALL_KINDS, "seconds, or a percentage of the test"},
    {"timeout", P_TIMEOUT, K(FAULT_STOP) | K(FAULT_RESTART), "seconds from 0 to 600"},
    {"signal", P_SIGNAL, K(FAULT_KILL), "a signal name or number"},
    {"cpus", P_CPUS, K(FAULT_CPU), "CPUs from 0.01 to 1024"},
    {"memory", P_MEMORY, K(FAULT_MEMORY),
     "bytes (\"64m\", at least 6m), or a percentage of the working set at onset"},
    {"delay", P_DELAY, K(FAULT_NETWORK), "a duration up to 60s (\"200ms\")"},
    {"jitter", P_DELAY, K(FAULT_NETWORK), "a duration up to 60s (\"20ms\")"},
    {"loss", P_PERCENT, K(FAULT_NETWORK), "a percentage from 0 to 100"},
    {"corrupt", P_PERCENT, K(FAULT_NETWORK), "a percentage from 0 to 100"},
    {"rate", P_RATE, K(FAULT_NETWORK), "tc's rate: a number with bit, kbit, mbit or gbit"},
    {"image", P_IMAGE, K(FAULT_NETWORK) | K(FAULT_STRESS), "the helper image"},
    {"stressor", P_STRESSOR, K(FAULT_STRESS), "cpu, memory or io"},
    {"workers", P_WORKERS, K(FAULT_STRESS), "a whole number from 1 to 64"},
    {"bytes", P_BYTES, K(FAULT_STRESS), "bytes per memory or io worker (\"64m\", at least 1m)"},
};
#define N_PDEFS (sizeof(pdefs) / sizeof(pdefs[0]))

const char *fault_kind_name(enum fault_kind k)
{
	return (size_t)k < N_KINDS ? kind_names[k] : "?";
}

static const struct pdef *find_pdef(const char *key)
{
	for (size_t i = 0; i < N_PDEFS; i++)
		if (strcmp(pdefs[i].key, key) == 0)
			return &pdefs[i];
	return NULL;
}

/* ---- values ---- */

static int parse_double(const char *v, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(v, &end);
	if (*v == '\0' || isspace((unsigned char)*v) || *end != '\0' || errno || !isfinite(*out))
		return -1;
	return 0;
}

/* "30%" -> 0.3 (with *pct true), "5" or "2.5" -> the number. */
static int parse_number_or_pct(const char *v, double *out, bool *pct)
{
	size_t n = strlen(v);
	lo2_autofree char *num = NULL;

	*pct = n > 0 && v[n - 1] == '%';
	num = xstrndup(v, *pct ? n - 1 : n);
	if (parse_double(num, out) < 0)
		return -1;
	if (*pct)
		*out /= 100.0;
	return 0;
}

static int parse_when(const char *v, struct fault_when *w)
{
	if (parse_number_or_pct(v, &w->value, &w->fraction) < 0 || w->value < 0)
		return -1;
	return w->fraction && w->value > 1.0 ? -1 : 0;
}

static int parse_bytes(const char *v, int64_t *out)
{
	static const struct {
		const char *suffix;
		double mul;
	} units[] = {{"", 1},
	             {"b", 1},
	             {"k", 1024.0},
	             {"kb", 1024.0},
	             {"kib", 1024.0},
	             {"m", 1048576.0},
	             {"mb", 1048576.0},
	             {"mib", 1048576.0},
	             {"g", 1073741824.0},
	             {"gb", 1073741824.0},
	             {"gib", 1073741824.0}};
	char *end;
	double n;

	errno = 0;
	n = strtod(v, &end);
	if (end == v || errno || !isfinite(n) || n <= 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(end, units[i].suffix) == 0 && n * units[i].mul < 9.0e18) {
			*out = (int64_t)(n * units[i].mul);
			return 0;
		}
	return -1;
}

static bool is_rate(const char *v)
{
	static const char *const units[] = {"bit", "kbit", "mbit", "gbit", "bps", "kbps", "mbps", "gbps"};
	const char *p = v;

	while (isdigit((unsigned char)*p))
		p++;
	if (p == v)
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(p, units[i]) == 0)
			return true;
	return false;
}

static bool is_signal(const char *v)
{
	const char *p = strncmp(v, "SIG", 3) == 0 ? v + 3 : v;

	if (*p == '\0' || strlen(p) > 16)
		return false;
	for (; *p; p++)
		if (!isupper((unsigned char)*p) && !isdigit((unsigned char)*p))
			return false;
	return true;
}

/* Checks value for def and, when sp is not NULL, sets it into the spec. */
static int set_param(struct fault_spec *sp, const struct pdef *d, const char *v)
{
	struct fault_spec scratch = {0};
	double x;
	int64_t ns;
	bool pct;

	if (sp == NULL)
		sp = &scratch;
	switch (d->type) {
	case P_WHEN:
		if (parse_when(v, strcmp(d->key, "onset") == 0 ? &sp->onset : &sp->duration) < 0)
			return -1;
		return strcmp(d->key, "duration") == 0 && sp->duration.value <= 0 ? -1 : 0;
	case P_TIMEOUT:
		if (parse_double(v, &x) < 0 || x < 0 || x > 600 || x != floor(x))
			return -1;
		sp->timeout_s = (int)x;
		return 0;
	case P_SIGNAL:
		if (!is_signal(v))
			return -1;
		free(sp->signal);
		sp->signal = xstrdup(v);
		break;
	case P_CPUS:
		if (parse_double(v, &x) < 0 || x < 0.01 || x > 1024)
			return -1;
		sp->nano_cpus = (int64_t)(x * 1e9 + 0.5);
		return 0;
	case P_MEMORY:
		if (parse_number_or_pct(v, &x, &pct) == 0 && pct) {
			if (x <= 0 || x > 1.0)
				return -1;
			sp->memory = 0;
			sp->memory_ratio = x;
			return 0;
		}
		if (parse_bytes(v, &sp->memory) < 0 || sp->memory < MIN_MEMORY)
			return -1;
		return 0;
	case P_DELAY:
		if (lo2_duration_parse(v, &ns, NULL) < 0 || ns < 0 || ns > 60 * LO2_NS_PER_SEC)
			return -1;
		*(strcmp(d->key, "delay") == 0 ? &sp->delay_ns : &sp->jitter_ns) = ns;
		return 0;
	case P_PERCENT:
		if (parse_number_or_pct(v, &x, &pct) < 0)
			return -1;
		x = pct ? x * 100 : x;
		if (x < 0 || x > 100)
			return -1;
		*(strcmp(d->key, "loss") == 0 ? &sp->loss_pct : &sp->corrupt_pct) = x;
		return 0;
	case P_RATE:
		if (!is_rate(v))
			return -1;
		free(sp->rate);
		sp->rate = xstrdup(v);
		break;
	case P_IMAGE:
		if (v[0] == '\0')
			return -1;
		free(sp->image);
		sp->image = xstrdup(v);
		break;
	case P_STRESSOR:
		if (strcmp(v, "cpu") != 0 && strcmp(v, "memory") != 0 && strcmp(v, "io") != 0)
			return -1;
		free(sp->stressor);
		sp->stressor = xstrdup(v);
		break;
	case P_WORKERS:
		if (parse_double(v, &x) < 0 || x < 1 || x > 64 || x != floor(x))
			return -1;
		sp->workers = (int)x;
		return 0;
	case P_BYTES:
		if (parse_bytes(v, &sp->stress_bytes) < 0 || sp->stress_bytes < 1024 * 1024)
			return -1;
		return 0;
	}
	if (sp == &scratch) {
		free(scratch.signal);
		free(scratch.rate);
		free(scratch.image);
		free(scratch.stressor);
	}
	return 0;
}

/* ---- rules ---- */

int fault_rule_init(struct fault_rule *r, const char *kind, const char *file, int line, int col,
                    struct lo2_err *err)
{
	memset(r, 0, sizeof(*r));
	r->file = xstrdup(file);
	r->line = line;
	r->col = col;
	for (size_t i = 0; i < N_KINDS; i++)
		if (strcmp(kind, kind_names[i]) == 0) {
			r->kind = (enum fault_kind)i;
			return 0;
		}
	return lo2_err_set(
	    err, LO2_E_INVALID,
	    "unknown fault kind \"%s\" (pause, stop, kill, restart, cpu, memory, network, stress)", kind);
}

int fault_rule_param(struct fault_rule *r, const char *key, const char *value, int line, int col,
                     struct lo2_err *err)
{
	const struct pdef *d = find_pdef(key);
	struct fault_param *p;

	if (d == NULL || !(d->kinds & K(r->kind)))
		return lo2_err_set(err, LO2_E_INVALID, "a %s fault has no parameter \"%s\"",
		                   fault_kind_name(r->kind), key);
	if (set_param(NULL, d, value) < 0)
		return lo2_err_set(err, LO2_E_INVALID, "%s: \"%s\" is not %s", key, value, d->help);
	for (size_t i = 0; i < r->n_params; i++)
		if (strcmp(r->params[i].key, key) == 0)
			return lo2_err_set(err, LO2_E_INVALID, "%s is given twice", key);
	r->params = xrealloc(r->params, (r->n_params + 1) * sizeof(*r->params));
	p = &r->params[r->n_params++];
	*p = (struct fault_param){.key = xstrdup(key), .value = xstrdup(value), .line = line, .col = col};
	return 0;
}

int fault_rule_from_flag(struct fault_rule *r, const char *text, struct lo2_err *err)
{
	lo2_autofree char *copy = xstrdup(text);
	char *save = NULL, *first = strtok_r(copy, ",", &save), *eq, *tsave = NULL;

	if (first == NULL || (eq = strchr(first, '=')) == NULL || eq[1] == '\0')
		return lo2_err_set(err, LO2_E_USAGE, "\"%s\" is not KIND=TARGET[+TARGET...][,KEY=VALUE...]",
		                   text);
	*eq = '\0';
	if (fault_rule_init(r, first, "--fault", 0, 0, err) < 0)
		return -1;
	for (char *t = strtok_r(eq + 1, "+", &tsave); t; t = strtok_r(NULL, "+", &tsave))
		lo2_strv_push(&r->targets, t);
	for (char *kv = strtok_r(NULL, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');

		if (v == NULL)
			return lo2_err_set(err, LO2_E_USAGE, "\"%s\" is not KEY=VALUE", kv);
		*v++ = '\0';
		if (fault_rule_param(r, kv, v, 0, 0, err) < 0)
			return -1;
	}
	return 0;
}

void fault_rule_free(struct fault_rule *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_params; i++) {
		free(r->params[i].key);
		free(r->params[i].value);
	}
	free(r->params);
	lo2_strv_free(&r->targets);
	free(r->file);
	memset(r, 0, sizeof(*r));
}

void fault_rules_free(struct fault_rules *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		fault_rule_free(&rs->v[i]);
	free(rs->v);
	memset(rs, 0, sizeof(*rs));
}

void fault_rules_copy(struct fault_rules *dst, const struct fault_rules *src)
{
	dst->n = src->n;
	dst->v = src->n ? xcalloc(src->n, sizeof(*dst->v)) : NULL;
	for (size_t i = 0; i < src->n; i++) {
		const struct fault_rule *a = &src->v[i];
		struct fault_rule *b = &dst->v[i];

		*b = *a;
		b->file = a->file ? xstrdup(a->file) : NULL;
		memset(&b->targets, 0, sizeof(b->targets));
		for (size_t j = 0; j < a->targets.n; j++)
			lo2_strv_push(&b->targets, a->targets.v[j]);
		b->params = a->n_params ? xcalloc(a->n_params, sizeof(*b->params)) : NULL;
		for (size_t j = 0; j < a->n_params; j++) {
			b->params[j] = a->params[j];
			b->params[j].key = xstrdup(a->params[j].key);
			b->params[j].value = xstrdup(a->params[j].value);
		}
	}
}

void fault_rules_take(struct fault_rules *rs, struct fault_rule *r)
{
	rs->v = xrealloc(rs->v, (rs->n + 1) * sizeof(*rs->v));
	rs->v[rs->n++] = *r;
	memset(r, 0, sizeof(*r));
}

static const struct fault_param *rule_param(const struct fault_rule *r, const char *key)
{
	for (size_t i = 0; i < r->n_params; i++)
		if (strcmp(r->params[i].key, key) == 0)
			return &r->params[i];
	return NULL;
}

/* "FILE:LINE:COL" of a parameter, else of the rule; the flag has no position. */
static int at(struct lo2_err *err, const struct fault_rule *r, const struct fault_param *p)
{
	if (r->line == 0)
		return lo2_err_prefix(err, "%s", r->file);
	return lo2_err_prefix(err, "%s:%d:%d", r->file, p ? p->line : r->line, p ? p->col : r->col);
}

int64_t fault_when_ns(const struct fault_when *w, int64_t test_s)
{
	double s = w->fraction ? w->value * (double)test_s : w->value;

	return (int64_t)(s * 1e9 + 0.5);
}

/* The rule's parameters set into sp (values were checked when they were added). */
static void spec_params(struct fault_spec *sp, const struct fault_rule *r)
{
	sp->kind = r->kind;
	sp->onset = (struct fault_when){0.25, true};
	sp->duration = (struct fault_when){0.5, true};
	sp->timeout_s = 1;
	sp->nano_cpus = 100 * 1000 * 1000;
	sp->memory_ratio = 0.9;
	sp->workers = 1;
	sp->stress_bytes = 64 * 1024 * 1024;
	for (size_t i = 0; i < r->n_params; i++)
		set_param(sp, find_pdef(r->params[i].key), r->params[i].value);
	if (sp->signal == NULL)
		sp->signal = xstrdup("KILL");
	if (sp->image == NULL)
		sp->image = xstrdup(FAULT_HELPER_IMAGE);
	if (sp->stressor == NULL)
		sp->stressor = xstrdup("cpu");
	sp->rule = r;
}

static void spec_free(struct fault_spec *sp)
{
	free(sp->service);
	free(sp->tag);
	free(sp->signal);
	free(sp->rate);
	free(sp->image);
	free(sp->stressor);
}

static int check_rule(const struct fault_rule *r, int dmin, int dmax, struct lo2_err *err)
{
	struct fault_spec sp = {0};
	const struct fault_param *on = rule_param(r, "onset"), *du = rule_param(r, "duration");
	int tests[2] = {dmin, dmax};
	int ret = 0;

	spec_params(&sp, r);
	for (int i = 0; i < 2 && ret == 0; i++) {
		int64_t end = fault_when_ns(&sp.onset, tests[i]) + fault_when_ns(&sp.duration, tests[i]);

		if (end > (int64_t)tests[i] * LO2_NS_PER_SEC) {
			lo2_err_set(err, LO2_E_INVALID,
			            "the %s fault's onset + duration (%.3g s) is past the end of a %d s test "
			            "(durations.%s)",
			            fault_kind_name(r->kind), (double)end / 1e9, tests[i], i ? "max" : "min");
			ret = at(err, r, du ? du : on);
		}
	}
	if (ret == 0 && r->kind == FAULT_NETWORK && sp.delay_ns == 0 && sp.loss_pct == 0 &&
	    sp.corrupt_pct == 0 && sp.rate == NULL) {
		lo2_err_set(err, LO2_E_INVALID, "a network fault needs delay, loss, corrupt or rate");
		ret = at(err, r, NULL);
	}
	if (ret == 0 && sp.jitter_ns > 0 && sp.delay_ns == 0) {
		lo2_err_set(err, LO2_E_INVALID, "jitter needs a delay");
		ret = at(err, r, rule_param(r, "jitter"));
	}
	if (ret == 0 && r->targets.n == 0) {
		lo2_err_set(err, LO2_E_INVALID, "the %s fault has no targets", fault_kind_name(r->kind));
		ret = at(err, r, NULL);
	}
	spec_free(&sp);
	return ret;
}

int fault_rules_check(const struct fault_rules *rs, int dmin, int dmax, struct lo2_err *err)
{
	for (size_t i = 0; i < rs->n; i++)
		if (check_rule(&rs->v[i], dmin, dmax, err) < 0)
			return -1;
	return 0;
}

static int add_spec(struct fault_specs *out, const struct fault_rule *r, const char *service,
                    struct lo2_err *err)
{
	lo2_autofree char *tag = xasprintf("fault_%s_%s", fault_kind_name(r->kind), service);
	struct fault_spec *sp;

	if (fault_specs_find(out, tag) != NULL) {
		struct fault_param where = {.line = r->targets_line, .col = r->targets_col};

		lo2_err_set(err, LO2_E_INVALID, "a %s fault on %s is given twice", fault_kind_name(r->kind),
		            service);
		return at(err, r, &where);
	}
	if (lo2_name_check("fault test", tag, err) < 0)
		return at(err, r, NULL);
	out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
	sp = &out->v[out->n++];
	memset(sp, 0, sizeof(*sp));
	spec_params(sp, r);
	sp->service = xstrdup(service);
	sp->tag = xstrdup(tag);
	return 0;
}

int fault_specs_make(const struct fault_rules *rs, const struct lo2_strv *services, struct fault_specs *out,
                     struct lo2_err *err)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < rs->n; i++) {
		const struct fault_rule *r = &rs->v[i];

		for (size_t t = 0; t < r->targets.n; t++) {
			const char *name = r->targets.v[t];
			bool all = strcmp(name, "all") == 0;

			if (!all && !lo2_strv_contains(services, name)) {
				lo2_err_set(
				    err, LO2_E_INVALID,
				    "the %s fault's target \"%s\" is not a service of the compose file",
				    fault_kind_name(r->kind), name);
				if (r->line)
					lo2_err_prefix(err, "%s:%d:%d", r->file, r->targets_line,
					               r->targets_col);
				else
					lo2_err_prefix(err, "%s", r->file);
				fault_specs_free(out);
				return -1;
			}
			for (size_t j = 0; j < services->n; j++) {
				if (!all && strcmp(services->v[j], name) != 0)
					continue;
				if (add_spec(out, r, services->v[j], err) < 0) {
					fault_specs_free(out);
					return -1;
				}
			}
		}
	}
	return 0;
}

void fault_specs_free(struct fault_specs *s)
{
	for (size_t i = 0; i < s->n; i++)
		spec_free(&s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

const struct fault_spec *fault_specs_find(const struct fault_specs *s, const char *tag)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].tag, tag) == 0)
			return &s->v[i];
	return NULL;
}

void fault_rules_yaml(const struct fault_rules *rs, struct lo2_buf *b)
{
	lo2_buf_puts(b, "faults:");
	if (rs->n == 0)
		lo2_buf_puts(b, " []");
	lo2_buf_puts(b, "\n");
	for (size_t i = 0; i < rs->n; i++) {
		const struct fault_rule *r = &rs->v[i];

		lo2_buf_printf(b, "  - kind: %s\n    targets: [", fault_kind_name(r->kind));
		for (size_t t = 0; t < r->targets.n; t++) {
			lo2_buf_puts(b, t ? ", " : "");
			lo2_buf_yaml_quoted(b, r->targets.v[t]);
		}
		lo2_buf_puts(b, "]\n");
		for (size_t p = 0; p < r->n_params; p++) {
			lo2_buf_printf(b, "    %s: ", r->params[p].key);
			lo2_buf_yaml_quoted(b, r->params[p].value);
			lo2_buf_puts(b, "\n");
		}
	}
}
