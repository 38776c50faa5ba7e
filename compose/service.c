/* service.c - one service of a compose file: a table of keys, each with its parser, every
 * syntax compose accepts for it, and the checks that name file:line:col. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/file.h"
#include "common/mem.h"
#include "compose/internal.h"
#include "compose/parse.h"

static bool word_in(const char *s, const char *const *words);

typedef int (*svc_fn)(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                      const char *path);

/* ---- strings and flags ---- */

#define STR_FIELD(fn, field) \
	static int fn(struct pctx *c, struct compose_service *s, const struct compose_ynode *n, \
	              const char *path) \
	{ \
		return compose_get_str(c, n, path, &s->field); \
	}
#define BOOL_FIELD(fn, field) \
	static int fn(struct pctx *c, struct compose_service *s, const struct compose_ynode *n, \
	              const char *path) \
	{ \
		return compose_get_bool(c, n, path, &s->field); \
	}
#define STRV_FIELD(fn, field, allow_string) \
	static int fn(struct pctx *c, struct compose_service *s, const struct compose_ynode *n, \
	              const char *path) \
	{ \
		return compose_get_strv(c, n, path, allow_string, &s->field); \
	}

STR_FIELD(k_image, image)
STR_FIELD(k_user, user)
STR_FIELD(k_working_dir, working_dir)
STR_FIELD(k_hostname, hostname)
STR_FIELD(k_domainname, domainname)
STR_FIELD(k_stop_signal, stop_signal)
STR_FIELD(k_platform, platform)
STR_FIELD(k_pid, pid)
STR_FIELD(k_ipc, ipc)
STR_FIELD(k_runtime, runtime)
STR_FIELD(k_cgroup_parent, cgroup_parent)
STR_FIELD(k_userns_mode, userns_mode)
STR_FIELD(k_cpuset, cpuset)
BOOL_FIELD(k_oom_kill_disable, oom_kill_disable)
BOOL_FIELD(k_privileged, privileged)
BOOL_FIELD(k_tty, tty)
BOOL_FIELD(k_stdin_open, stdin_open)
BOOL_FIELD(k_init, init)
BOOL_FIELD(k_read_only, read_only)
STRV_FIELD(k_cap_add, cap_add, false)
STRV_FIELD(k_cap_drop, cap_drop, false)
STRV_FIELD(k_dns, dns, true)
STRV_FIELD(k_dns_search, dns_search, true)
STRV_FIELD(k_security_opt, security_opt, false)
STRV_FIELD(k_tmpfs, tmpfs, true)
STRV_FIELD(k_dns_opt, dns_opt, false)
STRV_FIELD(k_group_add, group_add, false)
STRV_FIELD(k_profiles, profiles, false)

static int k_container_name(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                            const char *path)
{
	const char *p;

	if (compose_get_str(c, n, path, &s->container_name) < 0)
		return -1;
	p = s->container_name;
	if (!isalnum((unsigned char)p[0]))
		goto bad;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
			goto bad;
	for (size_t i = 0; &c->p->services[i] != s; i++)
		if (c->p->services[i].container_name &&
		    strcmp(c->p->services[i].container_name, s->container_name) == 0)
			return compose_perr(c, n,
			                    "%s: container name \"%.100s\" is already used by service %s",
			                    path, s->container_name, c->p->services[i].name);
	return 0;
bad:
	return compose_perr(
	    c, n,
	    "%s: invalid container name \"%.100s\" (letters, digits, '_', '.', '-'; starting with a "
	    "letter or digit)",
	    path, s->container_name);
}

static int k_stop_grace_period(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                               const char *path)
{
	return compose_get_duration(c, n, path, &s->stop_grace_period_ns);
}

static int k_shm_size(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                      const char *path)
{
	return compose_get_size(c, n, path, &s->shm_size);
}

static int k_mem_limit(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                       const char *path)
{
	return compose_get_size(c, n, path, &s->mem_limit);
}

static int k_mem_reservation(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                             const char *path)
{
	return compose_get_size(c, n, path, &s->mem_reservation);
}

#define INT_FIELD(fn, field, lo, hi) \
	static int fn(struct pctx *c, struct compose_service *s, const struct compose_ynode *n, \
	              const char *path) \
	{ \
		return compose_get_int(c, n, path, lo, hi, &s->field); \
	}
INT_FIELD(k_cpu_shares, cpu_shares, 0, INT64_MAX)
INT_FIELD(k_cpu_quota, cpu_quota, -1, INT64_MAX)
INT_FIELD(k_mem_swappiness, mem_swappiness, 0, 100)
INT_FIELD(k_oom_score_adj, oom_score_adj, -1000, 1000)

/* cpu_period: microseconds, or a duration ("100ms"). */
static int k_cpu_period(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                        const char *path)
{
	int64_t ns;

	if (n->kind == COMPOSE_YSCALAR && n->value[0] && strspn(n->value, "0123456789") == strlen(n->value))
		return compose_get_int(c, n, path, 0, INT64_MAX, &s->cpu_period);
	if (compose_get_duration(c, n, path, &ns) < 0)
		return -1;
	s->cpu_period = ns / 1000;
	return 0;
}

/* memswap_limit: a size, or -1 (unlimited). */
static int k_memswap_limit(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                           const char *path)
{
	if (n->kind == COMPOSE_YSCALAR && strcmp(n->value, "-1") == 0) {
		s->memswap_limit = -1;
		return 0;
	}
	return compose_get_size(c, n, path, &s->memswap_limit);
}

static const char *const device_keys[] = {"source", "target", "permissions", NULL};

/* "host[:container[:perms]]", or source:, target:, permissions:. */
static int k_devices(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                     const char *path)
{
	if (n->kind != COMPOSE_YSEQ)
		return compose_expect(c, n, path, "a list");
	for (size_t i = 0; i < n->n; i++) {
		const struct compose_ynode *it = n->items[i], *v;
		lo2_autofree char *src = NULL, *dst = NULL, *perm = NULL;

		if (it->kind != COMPOSE_YMAP) {
			if (compose_get_str(c, it, path, &src) < 0)
				return -1;
			lo2_strv_take(&s->devices, src);
			src = NULL;
			continue;
		}
		compose_warn_unknown(c, it, path, device_keys);
		if ((v = compose_ynode_get(it, "source")) == NULL)
			return compose_perr(c, it, "%s: expected a source: device", path);
		if (compose_get_str(c, v, path, &src) < 0)
			return -1;
		if ((v = compose_ynode_get(it, "target")) && compose_get_str(c, v, path, &dst) < 0)
			return -1;
		if ((v = compose_ynode_get(it, "permissions")) && compose_get_str(c, v, path, &perm) < 0)
			return -1;
		lo2_strv_take(&s->devices, xasprintf("%s:%s:%s", src, dst ? dst : src, perm ? perm : "rwm"));
	}
	return 0;
}

static int k_pids_limit(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                        const char *path)
{
	return compose_get_int(c, n, path, -1, INT64_MAX, &s->pids_limit);
}

/* A CPU count ("0.5", 2) in billionths. */
static int get_cpus(struct pctx *c, const struct compose_ynode *n, const char *path, int64_t *nano)
{
	lo2_autofree char *v = NULL;
	char *end;
	double x;

	if (compose_get_str(c, n, path, &v) < 0)
		return -1;
	x = strtod(v, &end);
	if (end == v || *end || x < 0 || x > 1e6)
		return compose_perr(c, n, "%s: expected a number of CPUs such as 0.5, got \"%.64s\"", path,
		                    v);
	*nano = (int64_t)(x * 1e9 + 0.5);
	return 0;
}

static int k_cpus(struct pctx *c, struct compose_service *s, const struct compose_ynode *n, const char *path)
{
	return get_cpus(c, n, path, &s->cpus_nano);
}

static int k_scale(struct pctx *c, struct compose_service *s, const struct compose_ynode *n, const char *path)
{
	int64_t v;

	if (compose_get_int(c, n, path, 0, 10000, &v) < 0)
		return -1;
	s->scale = (int)v;
	return 0;
}

static int k_secrets(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                     const char *path)
{
	return compose_parse_svc_secrets(c, s, n, path, false);
}

static int k_configs(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                     const char *path)
{
	return compose_parse_svc_secrets(c, s, n, path, true);
}

/* ---- deploy: what v2 applies outside Swarm ---- */

static const char *const deploy_keys[] = {"resources",     "replicas",  "restart_policy", "mode",
                                          "labels",        "placement", "update_config",  "rollback_config",
                                          "endpoint_mode", NULL};
static const char *const swarm_only[] = {
    "mode", "labels", "placement", "update_config", "rollback_config", "endpoint_mode", NULL};

static int deploy_limits(struct pctx *c, struct compose_deploy *d, const struct compose_ynode *n,
                         const char *path)
{
	static const char *const keys[] = {"cpus", "memory", "pids", NULL};
	const struct compose_ynode *v;

	if (n->kind != COMPOSE_YMAP)
		return compose_expect(c, n, path, "a mapping");
	compose_warn_unknown(c, n, path, keys);
	if ((v = compose_ynode_get(n, "cpus")) && get_cpus(c, v, path, &d->cpus_nano) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "memory")) && compose_get_size(c, v, path, &d->memory) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "pids")) && compose_get_int(c, v, path, -1, INT64_MAX, &d->pids) < 0)
		return -1;
	return 0;
}

static int deploy_reservations(struct pctx *c, struct compose_deploy *d, const struct compose_ynode *n,
                               const char *path)
{
	static const char *const keys[] = {"cpus", "memory", "devices", "generic_resources", NULL};
	const struct compose_ynode *v;

	if (n->kind != COMPOSE_YMAP)
		return compose_expect(c, n, path, "a mapping");
	compose_warn_unknown(c, n, path, keys);
	if ((v = compose_ynode_get(n, "cpus"))) {
		if (get_cpus(c, v, path, &d->res_cpus_nano) < 0)
			return -1;
		compose_pwarn(c, v,
		              "%s.cpus: a CPU reservation is Swarm-only (docker compose v2 does not apply "
		              "it either); ignored",
		              path);
	}
	if ((v = compose_ynode_get(n, "memory")) && compose_get_size(c, v, path, &d->res_memory) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "devices")) &&
	    compose_unimplemented(c, v, "%s.devices: device reservations (GPUs) are not implemented by lo2",
	                          path) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "generic_resources")))
		compose_pwarn(c, v, "%s.generic_resources: Swarm-only; ignored", path);
	return 0;
}

static int deploy_resources(struct pctx *c, struct compose_deploy *d, const struct compose_ynode *n,
                            const char *path)
{
	static const char *const keys[] = {"limits", "reservations", NULL};
	const struct compose_ynode *v;
	lo2_autofree char *lp = xasprintf("%s.limits", path);
	lo2_autofree char *rp = xasprintf("%s.reservations", path);

	if (n->kind != COMPOSE_YMAP)
		return compose_expect(c, n, path, "a mapping");
	compose_warn_unknown(c, n, path, keys);
	if ((v = compose_ynode_get(n, "limits")) && !compose_ynode_is_null(v) &&
	    deploy_limits(c, d, v, lp) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "reservations")) && !compose_ynode_is_null(v) &&
	    deploy_reservations(c, d, v, rp) < 0)
		return -1;
	return 0;
}

static int deploy_restart(struct pctx *c, struct compose_deploy *d, const struct compose_ynode *n,
                          const char *path)
{
	static const char *const keys[] = {"condition", "delay", "max_attempts", "window", NULL};
	static const char *const conds[] = {"none",           "no", "on-failure", "any", "always",
	                                    "unless-stopped", NULL};
	const struct compose_ynode *v;
	int64_t x;

	if (n->kind != COMPOSE_YMAP)
		return compose_expect(c, n, path, "a mapping");
	compose_warn_unknown(c, n, path, keys);
	d->has_restart_policy = true;
	if ((v = compose_ynode_get(n, "condition"))) {
		if (compose_get_str(c, v, path, &d->restart_condition) < 0)
			return -1;
		if (!word_in(d->restart_condition, conds))
			return compose_perr(c, v,
			                    "%s.condition: expected none, on-failure or any, got \"%.64s\"",
			                    path, d->restart_condition);
	}
	if ((v = compose_ynode_get(n, "max_attempts"))) {
		if (compose_get_int(c, v, path, 0, INT32_MAX, &x) < 0)
			return -1;
		d->max_attempts = (int)x;
	}
	if ((v = compose_ynode_get(n, "delay")))
		compose_pwarn(
		    c, v, "%s.delay: Swarm-only (docker compose v2 does not apply it either); ignored", path);
	if ((v = compose_ynode_get(n, "window")))
		compose_pwarn(c, v,
		              "%s.window: Swarm-only (docker compose v2 does not apply it either); ignored",
		              path);
	return 0;
}

static int k_deploy(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                    const char *path)
{
	struct compose_deploy *d = &s->deploy;
	const struct compose_ynode *v;
	lo2_autofree char *rp = xasprintf("%s.resources", path);
	lo2_autofree char *pp = xasprintf("%s.restart_policy", path);
	int64_t x;

	if (compose_ynode_is_null(n))
		return 0;
	if (n->kind != COMPOSE_YMAP)
		return compose_expect(c, n, path, "a mapping");
	compose_warn_unknown(c, n, path, deploy_keys);
	d->set = true;
	if ((v = compose_ynode_get(n, "resources")) && !compose_ynode_is_null(v) &&
	    deploy_resources(c, d, v, rp) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "restart_policy")) && deploy_restart(c, d, v, pp) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "replicas"))) {
		if (compose_get_int(c, v, path, 0, 10000, &x) < 0)
			return -1;
		d->replicas = (int)x;
	}
	for (size_t i = 0; swarm_only[i]; i++)
		if ((v = compose_ynode_get(n, swarm_only[i])))
			compose_pwarn(
			    c, v, "%s.%s: Swarm-only (docker compose v2 does not apply it either); ignored",
			    path, swarm_only[i]);
	return 0;
}

/* A map (or a list of "k=v") into dst, values "" where none is given. */
static int kv_into(struct pctx *c, const struct compose_ynode *n, const char *path, struct lo2_kvv *dst)
{
	struct lo2_kvv kv = {0};
	int ret = compose_get_kv(c, n, path, '=', &kv);

	for (size_t i = 0; ret == 0 && i < kv.n; i++)
		lo2_kvv_set(dst, kv.v[i].key, kv.v[i].val ? kv.v[i].val : "");
	lo2_kvv_free(&kv);
	return ret;
}

static int k_labels(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                    const char *path)
{
	return kv_into(c, n, path, &s->labels);
}

static int k_sysctls(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                     const char *path)
{
	return kv_into(c, n, path, &s->sysctls);
}

static int k_storage_opt(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                         const char *path)
{
	return kv_into(c, n, path, &s->storage_opt);
}

static int k_extra_hosts(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                         const char *path)
{
	struct lo2_kvv kv = {0};
	int ret = compose_get_kv(c, n, path, ':', &kv);

	for (size_t i = 0; ret == 0 && i < kv.n; i++) {
		if (kv.v[i].val == NULL || kv.v[i].val[0] == '\0') {
			ret = compose_perr(c, n, "%s: invalid extra host \"%.100s\" (expected HOST:IP)", path,
			                   kv.v[i].key);
			break;
		}
		lo2_strv_take(&s->extra_hosts, xasprintf("%s:%s", kv.v[i].key, kv.v[i].val));
	}
	lo2_kvv_free(&kv);
	return ret;
}

/* ---- command, entrypoint ---- */

static int cmd_like(struct pctx *c, const struct compose_ynode *n, const char *path, bool *set,
                    struct lo2_strv *dst)
{
	lo2_autofree char *v = NULL;

	lo2_strv_free(dst);
	*set = false;
	if (compose_ynode_is_null(n))
		return 0;
	*set = true;
	if (n->kind == COMPOSE_YSEQ)
		return compose_get_strv(c, n, path, false, dst);
	if (n->kind != COMPOSE_YSCALAR)
		return compose_expect(c, n, path, "a string or a list of strings");
	if (compose_get_str(c, n, path, &v) < 0)
		return -1;
	if (compose_shell_split(v, dst, c->err) < 0)
		return lo2_err_prefix(c->err, "%s:%d:%d: %s", compose_node_file(c, n), n->line, n->col, path);
	return 0;
}

static int k_command(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                     const char *path)
{
	return cmd_like(c, n, path, &s->command_set, &s->command);
}

static int k_entrypoint(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                        const char *path)
{
	return cmd_like(c, n, path, &s->entrypoint_set, &s->entrypoint);
}

/* ---- environment, env_file ---- */

static int k_environment(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                         const char *path)
{
	struct lo2_kvv kv = {0};
	int ret = compose_get_kv(c, n, path, '=', &kv);

	for (size_t i = 0; ret == 0 && i < kv.n; i++) {
		const char *v = kv.v[i].val;

		if (v == NULL)
			v = lo2_kvv_get(c->env, kv.v[i].key);
		lo2_kvv_set(&s->environment, kv.v[i].key, v);
	}
	lo2_kvv_free(&kv);
	return ret;
}

static int env_file_one(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                        const char *path)
{
	const struct compose_ynode *pn = n;
	lo2_autofree char *rel = NULL;
	lo2_autofree char *abs = NULL;
	lo2_autofree char *text = NULL;
	bool required = true;
	const struct compose_ynode *rq;

	if (n->kind == COMPOSE_YMAP) {
		pn = compose_ynode_get(n, "path");
		if (pn == NULL)
			return compose_perr(c, n, "%s: expected a path: key", path);
		if ((rq = compose_ynode_get(n, "required")) && compose_get_bool(c, rq, path, &required) < 0)
			return -1;
	}
	if (compose_get_str(c, pn, path, &rel) < 0)
		return -1;
	abs = compose_path_resolve(c->dir, rel);
	if (access(abs, F_OK) != 0) {
		if (!required)
			return 0;
		return compose_perr(c, pn, "%s: env file %s not found", path, abs);
	}
	if (lo2_read_file(abs, 4u << 20, &text, NULL, c->err) < 0 ||
	    compose_dotenv_parse(text, abs, c->env, &s->environment, c->err) < 0)
		return lo2_err_prefix(c->err, "%s:%d:%d: %s", compose_node_file(c, pn), pn->line, pn->col,
		                      path);
	return 0;
}

static int k_env_file(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                      const char *path)
{
	if (n->kind != COMPOSE_YSEQ)
		return env_file_one(c, s, n, path);
	for (size_t i = 0; i < n->n; i++)
		if (env_file_one(c, s, n->items[i], path) < 0)
			return -1;
	return 0;
}

/* ---- build ---- */

static const char *const build_keys[] = {"context",
                                         "dockerfile",
                                         "args",
                                         "target",
                                         "labels",
                                         "network",
                                         "shm_size",
                                         "extra_hosts",
                                         "no_cache",
                                         "pull",
                                         "cache_from",
                                         "cache_to",
                                         "isolation",
                                         "tags",
                                         "dockerfile_inline",
                                         "platforms",
                                         "secrets",
                                         "ssh",
                                         "additional_contexts",
                                         "privileged",
                                         "ulimits",
                                         "entitlements",
                                         "provenance",
                                         "sbom",
                                         NULL};
/* build: keys that change the image but lo2's classic-builder build cannot honour. */
static const char *const build_unimplemented[] = {
    "tags",       "dockerfile_inline", "platforms",    "secrets", "ssh", "additional_contexts",
    "privileged", "ulimits",           "entitlements", NULL};
static const char *const build_ignored[] = {"cache_from", "cache_to", "isolation",
                                            "provenance", "sbom",     NULL};

/* args: a name with no value takes it from the variables, and is left out when unset (v2). */
static int build_args(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                      const char *path)
{
	struct lo2_kvv kv = {0};
	int ret = compose_get_kv(c, n, path, '=', &kv);

	for (size_t i = 0; ret == 0 && i < kv.n; i++) {
		const char *v = kv.v[i].val ? kv.v[i].val : lo2_kvv_get(c->env, kv.v[i].key);

		if (v)
			lo2_kvv_set(&s->build.args, kv.v[i].key, v);
	}
	lo2_kvv_free(&kv);
	return ret;
}

static bool is_remote_context(const char *ctx)
{
	return strstr(ctx, "://") != NULL || strncmp(ctx, "git@", 4) == 0 ||
	       strncmp(ctx, "github.com/", 11) == 0;
}

static int build_extra_hosts(struct pctx *c, struct compose_build *b, const struct compose_ynode *n,
                             const char *path)
{
	struct lo2_kvv kv = {0};
	int ret = compose_get_kv(c, n, path, ':', &kv);

	for (size_t i = 0; ret == 0 && i < kv.n; i++)
		lo2_strv_take(&b->extra_hosts,
		              xasprintf("%s:%s", kv.v[i].key, kv.v[i].val ? kv.v[i].val : ""));
	lo2_kvv_free(&kv);
	return ret;
}

static int build_map(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                     const char *path, char **ctx)
{
	struct compose_build *b = &s->build;
	const struct compose_ynode *v;

	compose_warn_unknown(c, n, path, build_keys);
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->keys[i]->value;

		if (word_in(k, build_unimplemented) &&
		    compose_unimplemented(c, n->keys[i], "%s.%s is not implemented by lo2 (classic builder)",
		                          path, k) < 0)
			return -1;
		if (word_in(k, build_ignored))
			compose_pwarn(c, n->keys[i],
			              "%s.%s: ignored (lo2 builds with the engine's classic builder and no "
			              "registry cache)",
			              path, k);
	}
	if ((v = compose_ynode_get(n, "context")) && compose_get_str(c, v, path, ctx) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "dockerfile")) && compose_get_str(c, v, path, &b->dockerfile) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "args")) && !compose_ynode_is_null(v) && build_args(c, s, v, path) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "labels")) && kv_into(c, v, path, &b->labels) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "target")) && compose_get_str(c, v, path, &b->target) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "network")) && compose_get_str(c, v, path, &b->network) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "shm_size")) && compose_get_size(c, v, path, &b->shm_size) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "extra_hosts")) && build_extra_hosts(c, b, v, path) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "no_cache")) && compose_get_bool(c, v, path, &b->no_cache) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "pull")) && compose_get_bool(c, v, path, &b->pull) < 0)
		return -1;
	return 0;
}

static int k_build(struct pctx *c, struct compose_service *s, const struct compose_ynode *n, const char *path)
{
	lo2_autofree char *ctx = NULL;

	s->has_build = true;
	if (n->kind == COMPOSE_YSCALAR) {
		if (compose_get_str(c, n, path, &ctx) < 0)
			return -1;
	} else if (n->kind == COMPOSE_YMAP) {
		if (build_map(c, s, n, path, &ctx) < 0)
			return -1;
	} else {
		return compose_expect(c, n, path, "a string or a mapping");
	}
	if (ctx && is_remote_context(ctx))
		return compose_perr(
		    c, n,
		    "%s: the context \"%.200s\" is a remote (git or URL) context; lo2 does not clone "
		    "or download contexts: clone it and point context: at the folder",
		    path, ctx);
	s->build.context = compose_path_resolve(c->dir, ctx ? ctx : ".");
	return 0;
}

/* ---- ports ---- */

static int parse_range(const char *s, int lo_min, int *lo, int *hi)
{
	char *end;
	long a, b;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	a = strtol(s, &end, 10);
	b = a;
	if (*end == '-') {
		if (!isdigit((unsigned char)end[1]))
			return -1;
		b = strtol(end + 1, &end, 10);
	}
	if (*end || a < lo_min || b > 65535 || a > b)
		return -1;
	*lo = (int)a;
	*hi = (int)b;
	return 0;
}

static void add_port(struct compose_service *s, const char *ip, const char *published, int target,
                     const char *proto, const char *mode)
{
	struct compose_port *p;

	s->ports = xrealloc(s->ports, (s->n_ports + 1) * sizeof(*s->ports));
	p = &s->ports[s->n_ports++];
	p->host_ip = xstrdup(ip);
	p->published = xstrdup(published);
	p->target = target;
	p->protocol = xstrdup(proto);
	p->mode = xstrdup(mode);
}

static bool proto_ok(char *proto)
{
	for (char *q = proto; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	return strcmp(proto, "tcp") == 0 || strcmp(proto, "udp") == 0 || strcmp(proto, "sctp") == 0;
}

/* Splits "[ip:][host:]container" (ip may be "[v6]") in place. */
static int split_port(char *v, char **ip, char **host, char **cont)
{
	char *colon;

	*ip = *host = NULL;
	if (v[0] == '[') {
		char *close = strchr(v, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		*close = '\0';
		*ip = v + 1;
		v = close + 2;
		colon = strchr(v, ':');
		if (colon == NULL)
			return -1;
		*colon = '\0';
		*host = v;
		*cont = colon + 1;
		return strchr(*cont, ':') ? -1 : 0;
	}
	colon = strrchr(v, ':');
	if (colon == NULL) {
		*cont = v;
		return 0;
	}
	*colon = '\0';
	*cont = colon + 1;
	colon = strrchr(v, ':');
	if (colon == NULL) {
		*host = v;
		return 0;
	}
	*colon = '\0';
	*host = colon + 1;
	*ip = v;
	return 0;
}

static int port_short(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                      const char *path)
{
	lo2_autofree char *v = NULL;
	lo2_autofree char *spec = NULL;
	char *slash, *ip, *host, *cont, pub[32];
	const char *proto = "tcp";
	int clo, chi, hlo = 0, hhi = 0;

	if (compose_get_str(c, n, path, &v) < 0)
		return -1;
	spec = xstrdup(v);
	slash = strrchr(spec, '/');
	if (slash) {
		*slash = '\0';
		if (!proto_ok(slash + 1))
			return compose_perr(
			    c, n, "%s: invalid port \"%.100s\": protocol must be tcp, udp or sctp", path, v);
		proto = slash + 1;
	}
	if (split_port(spec, &ip, &host, &cont) < 0 || parse_range(cont, 1, &clo, &chi) < 0)
		return compose_perr(
		    c, n,
		    "%s: invalid port \"%.100s\": expected [[IP:]HOST:]CONTAINER[/PROTOCOL] with ports "
		    "1-65535",
		    path, v);
	if (host && *host && parse_range(host, 0, &hlo, &hhi) < 0)
		return compose_perr(c, n, "%s: invalid port \"%.100s\": bad host port \"%.32s\"", path, v,
		                    host);
	if (host && *host && chi > clo && hhi - hlo != chi - clo)
		return compose_perr(
		    c, n, "%s: invalid port \"%.100s\": host and container port ranges differ in length",
		    path, v);
	for (int p = clo; p <= chi; p++) {
		if (host == NULL || *host == '\0')
			pub[0] = '\0';
		else if (chi > clo)
			snprintf(pub, sizeof(pub), "%d", hlo + (p - clo));
		else if (hhi > hlo)
			snprintf(pub, sizeof(pub), "%d-%d", hlo, hhi);
		else
			snprintf(pub, sizeof(pub), "%d", hlo);
		add_port(s, ip ? ip : "", pub, p, proto, "ingress");
	}
	return 0;
}

static const char *const port_keys[] = {"target", "published", "host_ip",      "protocol",
                                        "mode",   "name",      "app_protocol", NULL};

static int port_long(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                     const char *path)
{
	const struct compose_ynode *v;
	lo2_autofree char *pub = NULL;
	lo2_autofree char *ip = NULL;
	lo2_autofree char *proto = xstrdup("tcp");
	lo2_autofree char *mode = xstrdup("ingress");
	int64_t target;
	int lo, hi;

	compose_warn_unknown(c, n, path, port_keys);
	v = compose_ynode_get(n, "target");
	if (v == NULL)
		return compose_perr(c, n, "%s: expected a target: port", path);
	if (compose_get_int(c, v, path, 1, 65535, &target) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "published"))) {
		if (compose_get_str(c, v, path, &pub) < 0)
			return -1;
		if (*pub && parse_range(pub, 0, &lo, &hi) < 0)
			return compose_perr(c, v, "%s: invalid published port \"%.100s\"", path, pub);
	}
	if ((v = compose_ynode_get(n, "host_ip")) && compose_get_str(c, v, path, &ip) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "protocol"))) {
		if (compose_get_str(c, v, path, &proto) < 0)
			return -1;
		if (!proto_ok(proto))
			return compose_perr(c, v, "%s: protocol must be tcp, udp or sctp, not \"%.32s\"",
			                    path, proto);
	}
	if ((v = compose_ynode_get(n, "mode")) && compose_get_str(c, v, path, &mode) < 0)
		return -1;
	add_port(s, ip ? ip : "", pub ? pub : "", (int)target, proto, mode);
	return 0;
}

static int k_ports(struct pctx *c, struct compose_service *s, const struct compose_ynode *n, const char *path)
{
	if (n->kind != COMPOSE_YSEQ)
		return compose_expect(c, n, path, "a list");
	for (size_t i = 0; i < n->n; i++) {
		const struct compose_ynode *it = n->items[i];
		int rc;

		if (it->kind == COMPOSE_YMAP)
			rc = port_long(c, s, it, path);
		else if (it->kind == COMPOSE_YSCALAR && !compose_ynode_is_null(it))
			rc = port_short(c, s, it, path);
		else
			rc = compose_expect(c, it, path, "a port string or mapping");
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int k_expose(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                    const char *path)
{
	if (compose_get_strv(c, n, path, false, &s->expose) < 0)
		return -1;
	for (size_t i = 0; i < s->expose.n; i++) {
		lo2_autofree char *e = xstrdup(s->expose.v[i]);
		char *slash = strchr(e, '/');
		int lo, hi;

		if (slash)
			*slash = '\0';
		if (parse_range(e, 1, &lo, &hi) < 0 || (slash && !proto_ok(slash + 1)))
			return compose_perr(c, n->items[i], "%s: invalid port \"%.100s\"", path,
			                    s->expose.v[i]);
	}
	return 0;
}

/* ---- volumes ---- */

static struct compose_mount *add_mount(struct compose_service *s, const char *type)
{
	struct compose_mount *m;

	s->mounts = xrealloc(s->mounts, (s->n_mounts + 1) * sizeof(*s->mounts));
	m = &s->mounts[s->n_mounts++];
	memset(m, 0, sizeof(*m));
	m->type = xstrdup(type);
	return m;
}

static bool volume_declared(struct pctx *c, const char *key)
{
	return compose_has_volume(c, key);
}

static char *host_path(struct pctx *c, const char *src)
{
	const char *home = lo2_kvv_get(c->env, "HOME");

	if (src[0] == '~' && (src[1] == '/' || src[1] == '\0'))
		return compose_path_resolve(home ? home : "/", src[1] ? src + 2 : ".");
	return compose_path_resolve(c->dir, src);
}

static bool is_bind_source(const char *src)
{
	return src[0] == '.' || src[0] == '/' || src[0] == '~';
}

static int volume_opts(struct pctx *c, const struct compose_ynode *n, const char *path, const char *v,
                       char *opts, struct compose_mount *m)
{
	static const char *const props[] = {"shared", "slave",    "private", "rshared",
	                                    "rslave", "rprivate", NULL};
	char *save = NULL;

	for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
		bool prop = false;

		for (size_t i = 0; props[i]; i++)
			prop = prop || strcmp(o, props[i]) == 0;
		if (strcmp(o, "ro") == 0)
			m->read_only = true;
		else if (strcmp(o, "z") == 0 || strcmp(o, "Z") == 0)
			m->selinux = xstrdup(o);
		else if (strcmp(o, "nocopy") == 0)
			m->nocopy = true;
		else if (prop)
			m->propagation = xstrdup(o);
		else if (strcmp(o, "rw") && strcmp(o, "cached") && strcmp(o, "delegated") &&
		         strcmp(o, "consistent"))
			return compose_perr(c, n, "%s: invalid volume \"%.200s\": unknown option \"%.32s\"",
			                    path, v, o);
	}
	return 0;
}

static int mount_source(struct pctx *c, const struct compose_ynode *n, const char *path, const char *src,
                        struct compose_mount *m)
{
	if (strcmp(m->type, "bind") == 0) {
		m->source = host_path(c, src);
		return 0;
	}
	if (strcmp(m->type, "volume") == 0 && !volume_declared(c, src))
		return compose_perr(
		    c, n, "%s: volume \"%.100s\" is not declared under the top-level volumes key", path, src);
	m->source = xstrdup(src);
	return 0;
}

/* "C:\\data" or "C:/data": a Windows path, kept as given (lo2 does not rewrite it). */
static bool is_windows_path(const char *v)
{
	return isalpha((unsigned char)v[0]) && v[1] == ':' && (v[2] == '\\' || v[2] == '/');
}

static int volume_short(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                        const char *path)
{
	lo2_autofree char *v = NULL;
	lo2_autofree char *spec = NULL;
	lo2_autofree char *win = NULL;
	char *parts[4] = {0};
	char *save = NULL;
	int np = 0;
	struct compose_mount *m;
	bool windows;

	if (compose_get_str(c, n, path, &v) < 0)
		return -1;
	windows = is_windows_path(v);
	if (v[0] == ':' || strstr(v, "::") || (v[0] && v[strlen(v) - 1] == ':'))
		return compose_perr(c, n,
		                    "%s: invalid volume \"%.200s\": empty section between colons (an unset "
		                    "variable?)",
		                    path, v);
	spec = xstrdup(windows ? v + 2 : v);
	for (char *t = strtok_r(spec, ":", &save); t && np < 4; t = strtok_r(NULL, ":", &save))
		parts[np++] = t;
	if (np == 0 || np > 3 || (windows && np < 2))
		return compose_perr(c, n, "%s: invalid volume \"%.200s\": expected [SOURCE:]TARGET[:MODE]",
		                    path, v);
	if (np == 1) {
		m = add_mount(s, "volume");
		m->target = compose_path_resolve("/", parts[0]);
	} else if (windows) {
		win = xasprintf("%.2s%s", v, parts[0]);
		m = add_mount(s, "bind");
		m->create_host_path = true;
		m->target = compose_path_resolve("/", parts[1]);
		m->source = xstrdup(win);
	} else {
		m = add_mount(s, is_bind_source(parts[0]) ? "bind" : "volume");
		m->create_host_path = true;
		m->target = compose_path_resolve("/", parts[1]);
		if (mount_source(c, n, path, parts[0], m) < 0)
			return -1;
	}
	if ((np == 1 ? parts[0] : parts[1])[0] != '/')
		return compose_perr(
		    c, n, "%s: invalid volume \"%.200s\": the target must be an absolute path", path, v);
	return np == 3 ? volume_opts(c, n, path, v, parts[2], m) : 0;
}

static const char *const mount_keys[] = {"type",   "source", "target",      "read_only", "bind",
                                         "volume", "tmpfs",  "consistency", NULL};

static int mount_bind_opts(struct pctx *c, const struct compose_ynode *b, const char *path,
                           struct compose_mount *m)
{
	const struct compose_ynode *v;

	m->create_host_path = true;
	if ((v = compose_ynode_get(b, "create_host_path")) &&
	    compose_get_bool(c, v, path, &m->create_host_path) < 0)
		return -1;
	if ((v = compose_ynode_get(b, "propagation")) && compose_get_str(c, v, path, &m->propagation) < 0)
		return -1;
	if ((v = compose_ynode_get(b, "selinux")) && compose_get_str(c, v, path, &m->selinux) < 0)
		return -1;
	return 0;
}

static int mount_subopts(struct pctx *c, const struct compose_ynode *n, const char *path,
                         struct compose_mount *m)
{
	const struct compose_ynode *b, *v;

	if ((b = compose_ynode_get(n, "bind")) && mount_bind_opts(c, b, path, m) < 0)
		return -1;
	if ((b = compose_ynode_get(n, "volume"))) {
		if ((v = compose_ynode_get(b, "nocopy")) && compose_get_bool(c, v, path, &m->nocopy) < 0)
			return -1;
		if ((v = compose_ynode_get(b, "subpath")) && compose_get_str(c, v, path, &m->subpath) < 0)
			return -1;
	}
	if ((b = compose_ynode_get(n, "tmpfs")) && (v = compose_ynode_get(b, "size")) &&
	    compose_get_size(c, v, path, &m->tmpfs_size) < 0)
		return -1;
	return 0;
}

static int volume_long(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                       const char *path)
{
	const struct compose_ynode *v;
	lo2_autofree char *type = NULL;
	lo2_autofree char *src = NULL;
	struct compose_mount *m;

	compose_warn_unknown(c, n, path, mount_keys);
	if ((v = compose_ynode_get(n, "type")) == NULL)
		return compose_perr(c, n, "%s: expected a type: (bind, volume or tmpfs)", path);
	if (compose_get_str(c, v, path, &type) < 0)
		return -1;
	if (strcmp(type, "bind") && strcmp(type, "volume") && strcmp(type, "tmpfs"))
		return compose_perr(c, v, "%s: type must be bind, volume or tmpfs, not \"%.32s\"", path,
		                    type);
	m = add_mount(s, type);
	m->long_syntax = true;
	if ((v = compose_ynode_get(n, "target")) == NULL)
		return compose_perr(c, n, "%s: expected a target: path", path);
	if (compose_get_str(c, v, path, &m->target) < 0)
		return -1;
	if (m->target[0] != '/')
		return compose_perr(c, v, "%s: the target must be an absolute path, not \"%.100s\"", path,
		                    m->target);
	if ((v = compose_ynode_get(n, "source")) && compose_get_str(c, v, path, &src) < 0)
		return -1;
	if (src == NULL && strcmp(type, "bind") == 0)
		return compose_perr(c, n, "%s: a bind mount needs a source:", path);
	if (src && strcmp(type, "tmpfs") != 0 && mount_source(c, v, path, src, m) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "read_only")) && compose_get_bool(c, v, path, &m->read_only) < 0)
		return -1;
	return mount_subopts(c, n, path, m);
}

/* Two mounts at one path: the engine refuses the container, so the file is refused here. */
static int check_duplicate_targets(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                                   const char *path)
{
	for (size_t i = 1; i < s->n_mounts; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->mounts[i].target, s->mounts[j].target) == 0)
				return compose_perr(c, n->items[i], "%s: duplicate mount point %s", path,
				                    s->mounts[i].target);
	return 0;
}

static int k_volumes(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                     const char *path)
{
	if (n->kind != COMPOSE_YSEQ)
		return compose_expect(c, n, path, "a list");
	for (size_t i = 0; i < n->n; i++) {
		const struct compose_ynode *it = n->items[i];
		int rc;

		if (it->kind == COMPOSE_YMAP)
			rc = volume_long(c, s, it, path);
		else if (it->kind == COMPOSE_YSCALAR && !compose_ynode_is_null(it))
			rc = volume_short(c, s, it, path);
		else
			rc = compose_expect(c, it, path, "a volume string or mapping");
		if (rc < 0)
			return -1;
	}
	return check_duplicate_targets(c, s, n, path);
}

/* ---- networks ---- */

static int net_check(struct pctx *c, const struct compose_ynode *k, const char *path)
{
	if (strcmp(k->value, "default") == 0 || compose_has_network(c, k->value))
		return 0;
	return compose_perr(c, k, "%s: network \"%.100s\" is not declared under the top-level networks key",
	                    path, k->value);
}

static struct compose_svc_net *add_net(struct compose_service *s, const char *key)
{
	struct compose_svc_net *sn;

	s->networks = xrealloc(s->networks, (s->n_networks + 1) * sizeof(*s->networks));
	sn = &s->networks[s->n_networks++];
	memset(sn, 0, sizeof(*sn));
	sn->key = xstrdup(key);
	return sn;
}

static const char *const svc_net_keys[] = {"aliases", "ipv4_address", "ipv6_address", "priority", NULL};

static int net_body(struct pctx *c, const struct compose_ynode *b, const char *path,
                    struct compose_svc_net *sn)
{
	const struct compose_ynode *v;
	int64_t prio;

	if (compose_ynode_is_null(b))
		return 0;
	if (b->kind != COMPOSE_YMAP)
		return compose_expect(c, b, path, "a mapping");
	compose_warn_unknown(c, b, path, svc_net_keys);
	if ((v = compose_ynode_get(b, "aliases")) && compose_get_strv(c, v, path, false, &sn->aliases) < 0)
		return -1;
	if ((v = compose_ynode_get(b, "ipv4_address")) && compose_get_str(c, v, path, &sn->ipv4_address) < 0)
		return -1;
	if ((v = compose_ynode_get(b, "ipv6_address")) && compose_get_str(c, v, path, &sn->ipv6_address) < 0)
		return -1;
	if ((v = compose_ynode_get(b, "priority"))) {
		if (compose_get_int(c, v, path, -1000000, 1000000, &prio) < 0)
			return -1;
		sn->priority = (int)prio;
	}
	return 0;
}

static int net_cmp(const void *a, const void *b)
{
	const struct compose_svc_net *x = a, *y = b;

	if (x->priority != y->priority)
		return y->priority - x->priority;
	return strcmp(x->key, y->key);
}

static int k_networks(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                      const char *path)
{
	if (n->kind == COMPOSE_YSEQ) {
		for (size_t i = 0; i < n->n; i++) {
			if (n->items[i]->kind != COMPOSE_YSCALAR || compose_ynode_is_null(n->items[i]))
				return compose_expect(c, n->items[i], path, "a network name");
			if (net_check(c, n->items[i], path) < 0)
				return -1;
			add_net(s, n->items[i]->value);
		}
	} else if (n->kind == COMPOSE_YMAP) {
		for (size_t i = 0; i < n->n; i++)
			if (net_check(c, n->keys[i], path) < 0 ||
			    net_body(c, n->items[i], path, add_net(s, n->keys[i]->value)) < 0)
				return -1;
	} else {
		return compose_expect(c, n, path, "a list or a mapping");
	}
	qsort(s->networks, s->n_networks, sizeof(*s->networks), net_cmp);
	return 0;
}

/* ---- dependencies ---- */

static struct compose_dep *add_dep(struct compose_service *s, const struct compose_ynode *at, const char *svc)
{
	struct compose_dep *d;

	for (size_t i = 0; i < s->n_deps; i++)
		if (strcmp(s->deps[i].service, svc) == 0)
			return &s->deps[i];
	s->deps = xrealloc(s->deps, (s->n_deps + 1) * sizeof(*s->deps));
	d = &s->deps[s->n_deps++];
	memset(d, 0, sizeof(*d));
	d->service = xstrdup(svc);
	d->condition = xstrdup("service_started");
	d->required = true;
	d->line = at->line;
	d->col = at->col;
	return d;
}

static int svc_check(struct pctx *c, const struct compose_ynode *at, const char *path, const char *svc)
{
	if (compose_has_service(c, svc))
		return 0;
	return compose_perr(c, at, "%s: service \"%.100s\" is not defined", path, svc);
}

static const char *const dep_keys[] = {"condition", "required", "restart", NULL};

static int dep_body(struct pctx *c, const struct compose_ynode *b, const char *path, struct compose_dep *d)
{
	const struct compose_ynode *v;

	if (compose_ynode_is_null(b))
		return 0;
	if (b->kind != COMPOSE_YMAP)
		return compose_expect(c, b, path, "a mapping");
	compose_warn_unknown(c, b, path, dep_keys);
	if ((v = compose_ynode_get(b, "condition"))) {
		if (compose_get_str(c, v, path, &d->condition) < 0)
			return -1;
		if (strcmp(d->condition, "service_started") && strcmp(d->condition, "service_healthy") &&
		    strcmp(d->condition, "service_completed_successfully"))
			return compose_perr(c, v,
			                    "%s: condition must be service_started, service_healthy or "
			                    "service_completed_successfully, not \"%.64s\"",
			                    path, d->condition);
	}
	if ((v = compose_ynode_get(b, "required")) && compose_get_bool(c, v, path, &d->required) < 0)
		return -1;
	if ((v = compose_ynode_get(b, "restart")) && compose_get_bool(c, v, path, &d->restart) < 0)
		return -1;
	return 0;
}

static int k_depends_on(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                        const char *path)
{
	if (n->kind == COMPOSE_YSEQ) {
		for (size_t i = 0; i < n->n; i++) {
			const struct compose_ynode *it = n->items[i];

			if (it->kind != COMPOSE_YSCALAR || compose_ynode_is_null(it))
				return compose_expect(c, it, path, "a service name");
			if (svc_check(c, it, path, it->value) < 0)
				return -1;
			add_dep(s, it, it->value);
		}
		return 0;
	}
	if (n->kind != COMPOSE_YMAP)
		return compose_expect(c, n, path, "a list or a mapping");
	for (size_t i = 0; i < n->n; i++)
		if (svc_check(c, n->keys[i], path, n->keys[i]->value) < 0 ||
		    dep_body(c, n->items[i], path, add_dep(s, n->keys[i], n->keys[i]->value)) < 0)
			return -1;
	return 0;
}

static int k_links(struct pctx *c, struct compose_service *s, const struct compose_ynode *n, const char *path)
{
	if (compose_get_strv(c, n, path, false, &s->links) < 0)
		return -1;
	for (size_t i = 0; i < s->links.n; i++) {
		lo2_autofree char *svc = xstrdup(s->links.v[i]);
		char *colon = strchr(svc, ':');

		if (colon)
			*colon = '\0';
		if (svc_check(c, n->items[i], path, svc) < 0)
			return -1;
		add_dep(s, n->items[i], svc);
	}
	return 0;
}

/* "[service:]service[:ro|rw]" (an implicit dependency, as in v2) or "container:name[:ro|rw]". */
static int k_volumes_from(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                          const char *path)
{
	if (compose_get_strv(c, n, path, false, &s->volumes_from) < 0)
		return -1;
	for (size_t i = 0; i < s->volumes_from.n; i++) {
		const char *v = s->volumes_from.v[i];
		bool is_container = strncmp(v, "container:", 10) == 0;
		lo2_autofree char *name = xstrdup(is_container                     ? v + 10
		                                  : strncmp(v, "service:", 8) == 0 ? v + 8
		                                                                   : v);
		char *colon = strchr(name, ':');

		if (colon && strcmp(colon + 1, "ro") && strcmp(colon + 1, "rw"))
			return compose_perr(c, n->items[i],
			                    "%s: invalid \"%.100s\": the mode must be ro or rw", path, v);
		if (colon)
			*colon = '\0';
		if (is_container)
			continue;
		if (svc_check(c, n->items[i], path, name) < 0)
			return -1;
		add_dep(s, n->items[i], name);
	}
	return 0;
}

static int k_network_mode(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                          const char *path)
{
	if (compose_get_str(c, n, path, &s->network_mode) < 0)
		return -1;
	if (strncmp(s->network_mode, "service:", 8) != 0)
		return 0;
	if (svc_check(c, n, path, s->network_mode + 8) < 0)
		return -1;
	add_dep(s, n, s->network_mode + 8);
	return 0;
}

/* ---- logging, restart, healthcheck, ulimits ---- */

static const char *const logging_keys[] = {"driver", "options", NULL};

static int k_logging(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                     const char *path)
{
	const struct compose_ynode *v;

	if (n->kind != COMPOSE_YMAP)
		return compose_expect(c, n, path, "a mapping");
	compose_warn_unknown(c, n, path, logging_keys);
	if ((v = compose_ynode_get(n, "driver")) && compose_get_str(c, v, path, &s->log_driver) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "options")) && !compose_ynode_is_null(v) &&
	    compose_get_kv(c, v, path, '=', &s->log_opts) < 0)
		return -1;
	for (size_t i = 0; i < s->log_opts.n; i++)
		if (s->log_opts.v[i].val == NULL)
			lo2_kvv_set(&s->log_opts, s->log_opts.v[i].key, "");
	return 0;
}

static int k_restart(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                     const char *path)
{
	const char *r;
	char *end;

	if (compose_get_str(c, n, path, &s->restart) < 0)
		return -1;
	r = s->restart;
	if (!strcmp(r, "no") || !strcmp(r, "always") || !strcmp(r, "unless-stopped") ||
	    !strcmp(r, "on-failure"))
		return 0;
	if (strncmp(r, "on-failure:", 11) == 0 && isdigit((unsigned char)r[11])) {
		strtol(r + 11, &end, 10);
		if (*end == '\0')
			return 0;
	}
	return compose_perr(c, n, "%s: expected no, always, unless-stopped or on-failure[:N], got \"%.64s\"",
	                    path, r);
}

static const char *const hc_keys[] = {"test",           "interval", "timeout", "start_period",
                                      "start_interval", "retries",  "disable", NULL};

static int hc_test(struct pctx *c, const struct compose_ynode *n, const char *path, struct lo2_strv *test)
{
	char *v = NULL;

	if (n->kind == COMPOSE_YSCALAR && !compose_ynode_is_null(n)) {
		if (compose_get_str(c, n, path, &v) < 0)
			return -1;
		lo2_strv_push(test, "CMD-SHELL");
		lo2_strv_take(test, v);
		return 0;
	}
	if (compose_get_strv(c, n, path, false, test) < 0)
		return -1;
	if (test->n == 0 ||
	    (strcmp(test->v[0], "CMD") && strcmp(test->v[0], "CMD-SHELL") && strcmp(test->v[0], "NONE")))
		return compose_perr(c, n, "%s: test must start with CMD, CMD-SHELL or NONE", path);
	return 0;
}

static int k_healthcheck(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                         const char *path)
{
	struct compose_healthcheck *h = &s->healthcheck;
	const struct compose_ynode *v;
	int64_t r;

	if (n->kind != COMPOSE_YMAP)
		return compose_expect(c, n, path, "a mapping");
	compose_warn_unknown(c, n, path, hc_keys);
	h->set = true;
	if ((v = compose_ynode_get(n, "test")) && hc_test(c, v, path, &h->test) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "interval")) && compose_get_duration(c, v, path, &h->interval_ns) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "timeout")) && compose_get_duration(c, v, path, &h->timeout_ns) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "start_period")) &&
	    compose_get_duration(c, v, path, &h->start_period_ns) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "start_interval")) &&
	    compose_get_duration(c, v, path, &h->start_interval_ns) < 0)
		return -1;
	if ((v = compose_ynode_get(n, "retries"))) {
		if (compose_get_int(c, v, path, 0, 1000000, &r) < 0)
			return -1;
		h->retries = (int)r;
	}
	if ((v = compose_ynode_get(n, "disable")) && compose_get_bool(c, v, path, &h->disable) < 0)
		return -1;
	return 0;
}

static int ulimit_one(struct pctx *c, struct compose_service *s, const struct compose_ynode *k,
                      const struct compose_ynode *v, const char *path)
{
	struct compose_ulimit *u;
	const struct compose_ynode *x;
	int64_t soft, hard;

	if (v->kind == COMPOSE_YMAP) {
		if ((x = compose_ynode_get(v, "soft")) == NULL ||
		    compose_get_int(c, x, path, -1, INT64_MAX, &soft) < 0)
			return x ? -1 : compose_perr(c, v, "%s: expected soft: and hard:", path);
		if ((x = compose_ynode_get(v, "hard")) == NULL ||
		    compose_get_int(c, x, path, -1, INT64_MAX, &hard) < 0)
			return x ? -1 : compose_perr(c, v, "%s: expected soft: and hard:", path);
	} else if (compose_get_int(c, v, path, -1, INT64_MAX, &soft) < 0) {
		return -1;
	} else {
		hard = soft;
	}
	s->ulimits = xrealloc(s->ulimits, (s->n_ulimits + 1) * sizeof(*s->ulimits));
	u = &s->ulimits[s->n_ulimits++];
	u->name = xstrdup(k->value);
	u->soft = soft;
	u->hard = hard;
	return 0;
}

static int k_ulimits(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                     const char *path)
{
	if (n->kind != COMPOSE_YMAP)
		return compose_expect(c, n, path, "a mapping");
	for (size_t i = 0; i < n->n; i++)
		if (ulimit_one(c, s, n->keys[i], n->items[i], path) < 0)
			return -1;
	return 0;
}

/* ---- the table ---- */

static int k_ignore(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                    const char *path)
{
	return 0;
}

static const struct {
	const char *key;
	svc_fn fn;
} svc_keys[] = {
    {"image", k_image},
    {"build", k_build},
    {"container_name", k_container_name},
    {"command", k_command},
    {"entrypoint", k_entrypoint},
    {"env_file", k_ignore}, /* read first, so environment: overrides it */
    {"environment", k_environment},
    {"ports", k_ports},
    {"expose", k_expose},
    {"volumes", k_volumes},
    {"networks", k_networks},
    {"network_mode", k_network_mode},
    {"depends_on", k_depends_on},
    {"links", k_links},
    {"logging", k_logging},
    {"user", k_user},
    {"restart", k_restart},
    {"healthcheck", k_healthcheck},
    {"labels", k_labels},
    {"working_dir", k_working_dir},
    {"hostname", k_hostname},
    {"domainname", k_domainname},
    {"privileged", k_privileged},
    {"cap_add", k_cap_add},
    {"cap_drop", k_cap_drop},
    {"extra_hosts", k_extra_hosts},
    {"ulimits", k_ulimits},
    {"tty", k_tty},
    {"stdin_open", k_stdin_open},
    {"stop_signal", k_stop_signal},
    {"stop_grace_period", k_stop_grace_period},
    {"init", k_init},
    {"read_only", k_read_only},
    {"dns", k_dns},
    {"dns_search", k_dns_search},
    {"security_opt", k_security_opt},
    {"tmpfs", k_tmpfs},
    {"sysctls", k_sysctls},
    {"shm_size", k_shm_size},
    {"mem_limit", k_mem_limit},
    {"platform", k_platform},
    {"pid", k_pid},
    {"ipc", k_ipc},
    {"extends", k_ignore}, /* merged in before the keys are read (extends.c) */
    {"profiles", k_profiles},
    {"deploy", k_deploy},
    {"scale", k_scale},
    {"cpus", k_cpus},
    {"pids_limit", k_pids_limit},
    {"mem_reservation", k_mem_reservation},
    {"dns_opt", k_dns_opt},
    {"group_add", k_group_add},
    {"runtime", k_runtime},
    {"cgroup_parent", k_cgroup_parent},
    {"userns_mode", k_userns_mode},
    {"storage_opt", k_storage_opt},
    {"volumes_from", k_volumes_from},
    {"cpuset", k_cpuset},
    {"cpu_shares", k_cpu_shares},
    {"cpu_quota", k_cpu_quota},
    {"cpu_period", k_cpu_period},
    {"mem_swappiness", k_mem_swappiness},
    {"memswap_limit", k_memswap_limit},
    {"oom_kill_disable", k_oom_kill_disable},
    {"oom_score_adj", k_oom_score_adj},
    {"devices", k_devices},
    {"secrets", k_secrets},
    {"configs", k_configs},
};

#define N_SVC_KEYS (sizeof(svc_keys) / sizeof(svc_keys[0]))

/* Keys of the Compose Specification that lo2 does not implement and that change what runs:
 * errors unless --compatibility lenient. */
static const char *const run_changing[] = {"blkio_config",
                                           "cgroup",
                                           "cpu_count",
                                           "cpu_percent",
                                           "cpu_rt_period",
                                           "cpu_rt_runtime",
                                           "device_cgroup_rules",
                                           "external_links",
                                           "gpus",
                                           "mac_address",
                                           "post_start",
                                           "pre_stop",
                                           "uts",
                                           "use_api_socket",
                                           "models",
                                           "provider",
                                           NULL};
/* Keys of the specification with no effect on the containers lo2 runs: warnings. */
static const char *const cosmetic[] = {"annotations", "attach",     "credential_spec", "develop",
                                       "isolation",   "label_file", "pull_policy",     NULL};

/* Keys of the legacy formats that change what runs, with what replaced them. */
static const struct {
	const char *key, *instead;
} legacy_keys[] = {
    {"net", "network_mode:"},
    {"volume_driver", "a named volume with driver:"},
    {"dockerfile", "build.dockerfile:"},
};

static int check_legacy_key(struct pctx *c, const struct compose_ynode *k, const char *path, bool *hit)
{
	*hit = false;
	for (size_t i = 0; i < sizeof(legacy_keys) / sizeof(legacy_keys[0]); i++)
		if (strcmp(k->value, legacy_keys[i].key) == 0) {
			*hit = true;
			return compose_unimplemented(c, k, "%s: \"%s\" is a legacy key; write %s", path,
			                             k->value, legacy_keys[i].instead);
		}
	return 0;
}

static int check_unknown_svc(struct pctx *c, const struct compose_ynode *body, const char *path)
{
	for (size_t i = 0; i < body->n; i++) {
		const struct compose_ynode *k = body->keys[i];
		bool known = strncmp(k->value, "x-", 2) == 0;

		for (size_t j = 0; !known && j < N_SVC_KEYS; j++)
			known = strcmp(svc_keys[j].key, k->value) == 0;
		if (known)
			continue;
		if (check_legacy_key(c, k, path, &known) < 0)
			return -1;
		if (known)
			continue;
		if (word_in(k->value, run_changing)) {
			if (compose_unimplemented(
			        c, k,
			        "%s: \"%s\" is not implemented by lo2, and the containers would "
			        "differ from docker compose's",
			        path, k->value) < 0)
				return -1;
		} else if (word_in(k->value, cosmetic)) {
			compose_pwarn(c, k, "%s: \"%s\" is not implemented by lo2; ignored", path, k->value);
		} else {
			compose_pwarn(c, k, "%s: unknown key \"%s\" ignored", path, k->value);
		}
	}
	return 0;
}

static int check_name(struct pctx *c, const struct compose_ynode *key)
{
	const char *p = key->value;

	if (*p == '\0')
		goto bad;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
			goto bad;
	return 0;
bad:
	return compose_perr(
	    c, key, "services: invalid service name \"%.100s\" (letters, digits, '_', '.', '-')", key->value);
}

static void service_defaults(struct compose_service *s)
{
	s->deploy.replicas = -1;
	s->scale = -1;
	s->replicas = 1;
	s->mem_swappiness = -1;
	s->deploy.max_attempts = -1;
	s->stop_grace_period_ns = -1;
	s->healthcheck.interval_ns = -1;
	s->healthcheck.timeout_ns = -1;
	s->healthcheck.start_period_ns = -1;
	s->healthcheck.start_interval_ns = -1;
	s->healthcheck.retries = -1;
}

/* deploy.replicas, else scale:, else 1; as in v2 the two must agree, and a fixed container_name
 * allows one container only. */
static int service_replicas(struct pctx *c, const struct compose_ynode *key, const struct compose_ynode *body,
                            const char *spath, struct compose_service *s)
{
	const struct compose_ynode *at = compose_ynode_get(body, "scale");

	if (s->scale >= 0 && s->deploy.replicas >= 0 && s->scale != s->deploy.replicas)
		return compose_perr(c, at, "%s.scale: %d differs from deploy.replicas %d", spath, s->scale,
		                    s->deploy.replicas);
	s->replicas = s->deploy.replicas >= 0 ? s->deploy.replicas : s->scale >= 0 ? s->scale : 1;
	if (s->replicas > 1 && s->container_name)
		return compose_perr(c, key,
		                    "%s: container_name \"%.100s\" allows one container, not %d replicas",
		                    spath, s->container_name, s->replicas);
	return 0;
}

int compose_parse_service(struct pctx *c, const struct compose_ynode *key, const struct compose_ynode *body,
                          struct compose_service *s)
{
	lo2_autofree char *spath = xasprintf("services.%s", key->value);
	const struct compose_ynode *v;

	s->name = xstrdup(key->value);
	s->line = key->line;
	s->col = key->col;
	service_defaults(s);
	if (check_name(c, key) < 0)
		return -1;
	if (body->kind != COMPOSE_YMAP)
		return compose_expect(c, body, spath, "a mapping");
	if (check_unknown_svc(c, body, spath) < 0)
		return -1;
	if ((v = compose_ynode_get(body, "env_file"))) {
		lo2_autofree char *path = xasprintf("%s.env_file", spath);

		if (k_env_file(c, s, v, path) < 0)
			return -1;
	}
	for (size_t i = 0; i < N_SVC_KEYS; i++) {
		lo2_autofree char *path = NULL;

		if ((v = compose_ynode_get(body, svc_keys[i].key)) == NULL)
			continue;
		path = xasprintf("%s.%s", spath, svc_keys[i].key);
		if (svc_keys[i].fn(c, s, v, path) < 0)
			return -1;
	}
	if (s->image == NULL && !s->has_build)
		return compose_perr(c, key, "%s: expected an image: or a build: key", spath);
	return service_replicas(c, key, body, spath, s);
}

static bool word_in(const char *s, const char *const *words)
{
	for (size_t i = 0; words[i]; i++)
		if (strcmp(s, words[i]) == 0)
			return true;
	return false;
}
