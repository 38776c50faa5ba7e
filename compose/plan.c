/* plan.c - from the model to what the engine is asked for: container names, the
 * com.docker.compose.* labels, config hashes, dependency waves, and create specs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/sha256.h"
#include "compose/internal.h"
#include "engine/engine.h"

#define LABEL "com.docker.compose."

static ssize_t svc_index(const struct compose_project *p, const char *name)
{
	for (size_t i = 0; i < p->n_services; i++)
		if (strcmp(p->services[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

/* wave(s) = 1 + the highest wave of its dependencies; depth guards against a cycle. */
static int wave_of(struct compose_project *p, size_t i, int depth, struct lo2_err *err)
{
	struct compose_service *s = &p->services[i];
	int w = 0;

	if (s->wave >= 0)
		return s->wave;
	if (depth > (int)p->n_services)
		return lo2_err_set(err, LO2_E_INVALID, "plan %s: dependency cycle through service %s",
		                   p->name, s->name);
	for (size_t d = 0; d < s->n_deps; d++) {
		ssize_t j = svc_index(p, s->deps[d].service);
		int dw;

		if (j < 0)
			return lo2_err_set(err, LO2_E_INVALID,
			                   "plan %s: service %s depends on undefined service %s", p->name,
			                   s->name, s->deps[d].service);
		dw = wave_of(p, (size_t)j, depth + 1, err);
		if (dw < 0)
			return -1;
		if (dw + 1 > w)
			w = dw + 1;
	}
	s->wave = w;
	return w;
}

static char *depends_label(const struct compose_service *s)
{
	struct lo2_buf b = LO2_BUF_INIT;

	for (size_t i = 0; i < s->n_deps; i++)
		lo2_buf_printf(&b, "%s%s:%s:%s", i ? "," : "", s->deps[i].service, s->deps[i].condition,
		               s->deps[i].restart ? "true" : "false");
	return b.data ? lo2_buf_steal(&b) : xstrdup("");
}

static void plan_labels(const struct compose_project *p, struct compose_service *s)
{
	lo2_autofree char *deps = depends_label(s);

	lo2_kvv_free(&s->plan_labels);
	lo2_kvv_copy(&s->plan_labels, &s->labels);
	lo2_kvv_set(&s->plan_labels, LABEL "project", p->name);
	lo2_kvv_set(&s->plan_labels, LABEL "service", s->name);
	lo2_kvv_set(&s->plan_labels, LABEL "container-number", "1");
	lo2_kvv_set(&s->plan_labels, LABEL "oneoff", "False");
	lo2_kvv_set(&s->plan_labels, LABEL "project.working_dir", p->working_dir);
	lo2_kvv_set(&s->plan_labels, LABEL "project.config_files", p->config_file);
	lo2_kvv_set(&s->plan_labels, LABEL "config-hash", s->config_hash);
	lo2_kvv_set(&s->plan_labels, LABEL "depends_on", deps);
	lo2_kvv_set(&s->plan_labels, LABEL "version", LO2_VERSION);
}

static void plan_hash(const struct compose_project *p, struct compose_service *s)
{
	struct lo2_jw *w = lo2_jw_new(NULL);
	char hex[65];
	size_t n;
	char *json;

	compose_service_write_json(w, p, s, true);
	json = lo2_jw_finish(w, &n);
	lo2_sha256_hex_of(json, n, hex);
	free(json);
	free(s->config_hash);
	s->config_hash = xstrdup(hex);
}

static int plan_names(struct compose_project *p, struct lo2_err *err)
{
	for (size_t i = 0; i < p->n_services; i++) {
		struct compose_service *s = &p->services[i];

		free(s->container);
		s->container =
		    s->container_name ? xstrdup(s->container_name) : xasprintf("%s-%s-1", p->name, s->name);
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->services[j].container, s->container) == 0)
				return lo2_err_set(err, LO2_E_INVALID,
				                   "plan %s: services %s and %s both name their container %s",
				                   p->name, p->services[j].name, s->name, s->container);
	}
	return 0;
}

int compose_plan(struct compose_project *p, struct lo2_err *err)
{
	if (plan_names(p, err) < 0)
		return -1;
	for (size_t i = 0; i < p->n_services; i++)
		p->services[i].wave = -1;
	p->n_waves = 0;
	for (size_t i = 0; i < p->n_services; i++) {
		int w = wave_of(p, i, 0, err);

		if (w < 0)
			return -1;
		if (w + 1 > p->n_waves)
			p->n_waves = w + 1;
	}
	for (size_t i = 0; i < p->n_services; i++) {
		plan_hash(p, &p->services[i]);
		plan_labels(p, &p->services[i]);
	}
	return 0;
}

/* ---- create specs ---- */

static const char *volume_name(const struct compose_project *p, const char *key)
{
	for (size_t i = 0; i < p->n_volumes; i++)
		if (strcmp(p->volumes[i].key, key) == 0)
			return p->volumes[i].name;
	return key;
}

static const char *network_name(const struct compose_project *p, const char *key)
{
	for (size_t i = 0; i < p->n_networks; i++)
		if (strcmp(p->networks[i].key, key) == 0)
			return p->networks[i].name;
	return key;
}

static struct engine_mount *spec_mount(struct engine_container_spec *o, const char *type, const char *target)
{
	struct engine_mount *m;

	o->mounts = xrealloc(o->mounts, (o->n_mounts + 1) * sizeof(*o->mounts));
	m = &o->mounts[o->n_mounts++];
	memset(m, 0, sizeof(*m));
	m->type = xstrdup(type);
	m->target = xstrdup(target);
	return m;
}

static void bind_string(const struct compose_project *p, const struct compose_mount *m,
                        struct engine_container_spec *o)
{
	const char *src = strcmp(m->type, "volume") == 0 ? volume_name(p, m->source) : m->source;
	struct lo2_buf b = LO2_BUF_INIT;

	lo2_buf_printf(&b, "%s:%s:%s", src, m->target, m->read_only ? "ro" : "rw");
	if (m->selinux)
		lo2_buf_printf(&b, ",%s", m->selinux);
	if (m->propagation)
		lo2_buf_printf(&b, ",%s", m->propagation);
	if (m->nocopy)
		lo2_buf_puts(&b, ",nocopy");
	lo2_strv_take(&o->binds, lo2_buf_steal(&b));
}

static void spec_mounts(const struct compose_project *p, const struct compose_service *s,
                        struct engine_container_spec *o)
{
	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct compose_mount *m = &s->mounts[i];
		struct engine_mount *em;
		bool strict_bind = strcmp(m->type, "bind") == 0 && m->long_syntax && !m->create_host_path;

		if (strcmp(m->type, "tmpfs") == 0) {
			em = spec_mount(o, "tmpfs", m->target);
			em->tmpfs_size = m->tmpfs_size;
		} else if (m->source == NULL) {
			em = spec_mount(o, "volume", m->target);
			em->read_only = m->read_only;
			em->no_copy = m->nocopy;
		} else if (strict_bind) {
			em = spec_mount(o, "bind", m->target);
			em->source = xstrdup(m->source);
			em->read_only = m->read_only;
		} else {
			bind_string(p, m, o);
		}
	}
}

/* Secrets and configs: read-only binds of their file, or of the file up writes for them. */
static void spec_secrets(const struct compose_project *p, const struct compose_service *s,
                         struct engine_container_spec *o)
{
	for (size_t i = 0; i < s->n_secrets; i++) {
		lo2_autofree char *host = compose_secret_host_path(p, s, &s->secrets[i]);

		lo2_strv_take(&o->binds, xasprintf("%s:%s:ro", host, s->secrets[i].target));
	}
}

static void spec_ports(const struct compose_service *s, struct engine_container_spec *o)
{
	o->ports = xcalloc(s->n_ports ? s->n_ports : 1, sizeof(*o->ports));
	for (size_t i = 0; i < s->n_ports; i++) {
		const struct compose_port *pt = &s->ports[i];
		char *key = xasprintf("%d/%s", pt->target, pt->protocol);

		o->ports[o->n_ports].container_port = key;
		o->ports[o->n_ports].host_ip = xstrdup(pt->host_ip);
		o->ports[o->n_ports].host_port = xstrdup(pt->published);
		o->n_ports++;
		if (!lo2_strv_contains(&o->exposed_ports, key))
			lo2_strv_push(&o->exposed_ports, key);
	}
	for (size_t i = 0; i < s->expose.n; i++) {
		lo2_autofree char *e = strchr(s->expose.v[i], '/') ? xstrdup(s->expose.v[i])
		                                                   : xasprintf("%s/tcp", s->expose.v[i]);

		if (!lo2_strv_contains(&o->exposed_ports, e))
			lo2_strv_push(&o->exposed_ports, e);
	}
}

static void spec_healthcheck(const struct compose_service *s, struct engine_container_spec *o)
{
	const struct compose_healthcheck *h = &s->healthcheck;
	struct engine_healthcheck *eh = &o->healthcheck;

	if (!h->set)
		return;
	eh->set = true;
	if (h->disable)
		lo2_strv_push(&eh->test, "NONE");
	else
		lo2_strv_copy(&eh->test, &h->test);
	eh->interval_ns = h->interval_ns > 0 ? h->interval_ns : 0;
	eh->timeout_ns = h->timeout_ns > 0 ? h->timeout_ns : 0;
	eh->start_period_ns = h->start_period_ns > 0 ? h->start_period_ns : 0;
	eh->start_interval_ns = h->start_interval_ns > 0 ? h->start_interval_ns : 0;
	eh->retries = h->retries > 0 ? h->retries : 0;
}

static void spec_networks(const struct compose_project *p, const struct compose_service *s,
                          struct engine_container_spec *o)
{
	o->networks = xcalloc(s->n_networks ? s->n_networks : 1, sizeof(*o->networks));
	for (size_t i = 0; i < s->n_networks; i++) {
		const struct compose_svc_net *sn = &s->networks[i];
		struct engine_endpoint_cfg *ep = &o->networks[o->n_networks++];

		ep->network = xstrdup(network_name(p, sn->key));
		lo2_strv_push(&ep->aliases, s->container);
		lo2_strv_push(&ep->aliases, s->name);
		for (size_t a = 0; a < sn->aliases.n; a++)
			if (!lo2_strv_contains(&ep->aliases, sn->aliases.v[a]))
				lo2_strv_push(&ep->aliases, sn->aliases.v[a]);
		ep->ipv4_address = xstrdup(sn->ipv4_address);
		ep->ipv6_address = xstrdup(sn->ipv6_address);
	}
	if (o->n_networks > 0)
		o->network_mode = xstrdup(o->networks[0].network);
}

static int spec_network_mode(const struct compose_project *p, const struct compose_service *s,
                             struct engine_container_spec *o, struct lo2_err *err)
{
	const struct compose_service *t;

	if (strncmp(s->network_mode, "service:", 8) != 0) {
		o->network_mode = xstrdup(s->network_mode);
		return 0;
	}
	t = compose_service_find(p, s->network_mode + 8);
	if (t == NULL || t->container == NULL)
		return lo2_err_set(err, LO2_E_INVALID, "spec %s: network_mode refers to unknown service %s",
		                   s->name, s->network_mode + 8);
	o->network_mode = xasprintf("container:%s", t->container);
	return 0;
}

static void spec_links(const struct compose_project *p, const struct compose_service *s,
                       struct engine_container_spec *o)
{
	for (size_t i = 0; i < s->links.n; i++) {
		lo2_autofree char *svc = xstrdup(s->links.v[i]);
		char *colon = strchr(svc, ':');
		const char *alias = colon ? colon + 1 : svc;
		const struct compose_service *t;

		if (colon)
			*colon = '\0';
		t = compose_service_find(p, svc);
		if (t && t->container)
			lo2_strv_take(&o->links, xasprintf("%s:%s", t->container, alias));
	}
}

/* deploy.restart_policy over restart:, its condition mapped as docker compose v2 maps it. */
static bool spec_deploy_restart(const struct compose_service *s, struct engine_container_spec *o)
{
	const char *c = s->deploy.restart_condition ? s->deploy.restart_condition : "";

	if (!s->deploy.has_restart_policy)
		return false;
	if (strcmp(c, "none") == 0 || strcmp(c, "no") == 0)
		o->restart_policy = xstrdup("no");
	else if (strcmp(c, "any") == 0 || strcmp(c, "always") == 0)
		o->restart_policy = xstrdup("always");
	else
		o->restart_policy = xstrdup(c); /* on-failure, unless-stopped, or "" (none) as in v2 */
	o->restart_max_retries = s->deploy.max_attempts > 0 ? s->deploy.max_attempts : 0;
	return true;
}

static void spec_volumes_from(const struct compose_project *p, const struct compose_service *s,
                              struct engine_container_spec *o)
{
	for (size_t i = 0; i < s->volumes_from.n; i++) {
		const char *v = s->volumes_from.v[i];
		lo2_autofree char *name = NULL;
		const struct compose_service *t;
		char *colon;

		if (strncmp(v, "container:", 10) == 0) {
			lo2_strv_push(&o->volumes_from, v + 10);
			continue;
		}
		name = xstrdup(strncmp(v, "service:", 8) == 0 ? v + 8 : v);
		colon = strchr(name, ':');
		if (colon)
			*colon = '\0';
		t = compose_service_find(p, name);
		lo2_strv_take(&o->volumes_from, xasprintf("%s%s%s", t && t->container ? t->container : name,
		                                          colon ? ":" : "", colon ? colon + 1 : ""));
	}
}

static void spec_restart(const struct compose_service *s, struct engine_container_spec *o)
{
	if (spec_deploy_restart(s, o) || s->restart == NULL)
		return;
	if (strncmp(s->restart, "on-failure:", 11) == 0) {
		o->restart_policy = xstrdup("on-failure");
		o->restart_max_retries = atoi(s->restart + 11);
		return;
	}
	o->restart_policy = xstrdup(s->restart);
}

static void spec_host(const struct compose_service *s, struct engine_container_spec *o)
{
	lo2_strv_copy(&o->cap_add, &s->cap_add);
	lo2_strv_copy(&o->cap_drop, &s->cap_drop);
	lo2_strv_copy(&o->extra_hosts, &s->extra_hosts);
	lo2_strv_copy(&o->dns, &s->dns);
	lo2_strv_copy(&o->dns_search, &s->dns_search);
	lo2_strv_copy(&o->security_opt, &s->security_opt);
	lo2_kvv_copy(&o->sysctls, &s->sysctls);
	for (size_t i = 0; i < s->tmpfs.n; i++) {
		lo2_autofree char *t = xstrdup(s->tmpfs.v[i]);
		char *colon = strchr(t, ':');

		if (colon)
			*colon = '\0';
		lo2_kvv_set(&o->tmpfs, t, colon ? colon + 1 : "");
	}
	o->ulimits = xcalloc(s->n_ulimits ? s->n_ulimits : 1, sizeof(*o->ulimits));
	for (size_t i = 0; i < s->n_ulimits; i++) {
		o->ulimits[i].name = xstrdup(s->ulimits[i].name);
		o->ulimits[i].soft = s->ulimits[i].soft;
		o->ulimits[i].hard = s->ulimits[i].hard;
	}
	o->n_ulimits = s->n_ulimits;
	o->privileged = s->privileged;
	o->init = s->init;
	o->read_only = s->read_only;
	o->memory = s->deploy.memory ? s->deploy.memory : s->mem_limit;
	o->memory_reservation = s->deploy.res_memory ? s->deploy.res_memory : s->mem_reservation;
	o->nano_cpus = s->deploy.cpus_nano ? s->deploy.cpus_nano : s->cpus_nano;
	o->pids_limit = s->deploy.pids ? s->deploy.pids : s->pids_limit;
	lo2_strv_copy(&o->dns_options, &s->dns_opt);
	lo2_strv_copy(&o->group_add, &s->group_add);
	o->shm_size = s->shm_size;
	o->pid_mode = xstrdup(s->pid);
	o->ipc_mode = xstrdup(s->ipc);
	o->runtime = xstrdup(s->runtime);
	o->cgroup_parent = xstrdup(s->cgroup_parent);
	o->userns_mode = xstrdup(s->userns_mode);
	lo2_kvv_copy(&o->storage_opt, &s->storage_opt);
	o->cpuset_cpus = xstrdup(s->cpuset);
	o->cpu_shares = s->cpu_shares;
	o->cpu_quota = s->cpu_quota;
	o->cpu_period = s->cpu_period;
	o->memory_swap = s->memswap_limit;
	o->mem_swappiness_set = s->mem_swappiness >= 0;
	o->mem_swappiness = (int)s->mem_swappiness;
	o->oom_kill_disable = s->oom_kill_disable;
	o->oom_score_adj = (int)s->oom_score_adj;
	lo2_strv_copy(&o->devices, &s->devices);
	o->log_driver = xstrdup(s->log_driver);
	lo2_kvv_copy(&o->log_opts, &s->log_opts);
	spec_restart(s, o);
}

static void spec_config(const struct compose_project *p, const struct compose_service *s,
                        struct engine_container_spec *o)
{
	o->name = xstrdup(s->container);
	o->platform = xstrdup(s->platform);
	o->image = s->image ? xstrdup(s->image) : xasprintf("%s-%s", p->name, s->name);
	o->cmd_set = s->command_set;
	lo2_strv_copy(&o->cmd, &s->command);
	o->entrypoint_set = s->entrypoint_set;
	lo2_strv_copy(&o->entrypoint, &s->entrypoint);
	for (size_t i = 0; i < s->environment.n; i++) {
		const struct lo2_kv *kv = &s->environment.v[i];

		lo2_strv_take(&o->env, kv->val ? xasprintf("%s=%s", kv->key, kv->val) : xstrdup(kv->key));
	}
	o->user = xstrdup(s->user);
	o->working_dir = xstrdup(s->working_dir);
	o->hostname = xstrdup(s->hostname);
	o->domainname = xstrdup(s->domainname);
	lo2_kvv_copy(&o->labels, &s->plan_labels);
	o->tty = s->tty;
	o->open_stdin = s->stdin_open;
	o->stop_signal = xstrdup(s->stop_signal);
	o->stop_timeout = s->stop_grace_period_ns >= 0 ? (int)(s->stop_grace_period_ns / 1000000000) : -1;
}

char *compose_replica_name(const struct compose_project *p, const struct compose_service *s, int number)
{
	if (number == 1 && s->container)
		return xstrdup(s->container);
	return xasprintf("%s-%s-%d", p->name, s->name, number);
}

int compose_service_spec(const struct compose_project *p, const struct compose_service *s,
                         struct engine_container_spec *out, struct lo2_err *err)
{
	return compose_service_replica_spec(p, s, 1, out, err);
}

/* Replica n's name, container-number label and network alias (the first is the container). */
static void spec_replica(const struct compose_project *p, const struct compose_service *s, int number,
                         struct engine_container_spec *o)
{
	char num[16];

	if (number == 1)
		return;
	free(o->name);
	o->name = compose_replica_name(p, s, number);
	snprintf(num, sizeof(num), "%d", number);
	lo2_kvv_set(&o->labels, LABEL "container-number", num);
	for (size_t i = 0; i < o->n_networks; i++) {
		free(o->networks[i].aliases.v[0]);
		o->networks[i].aliases.v[0] = xstrdup(o->name);
	}
}

int compose_service_replica_spec(const struct compose_project *p, const struct compose_service *s, int number,
                                 struct engine_container_spec *out, struct lo2_err *err)
{
	struct engine_container_spec o = {0};

	if (s->container == NULL)
		return lo2_err_set(err, LO2_E_INVALID, "spec %s: the project is not planned", s->name);
	spec_config(p, s, &o);
	spec_healthcheck(s, &o);
	spec_ports(s, &o);
	spec_mounts(p, s, &o);
	spec_secrets(p, s, &o);
	spec_host(s, &o);
	spec_links(p, s, &o);
	spec_volumes_from(p, s, &o);
	if (s->network_mode) {
		if (spec_network_mode(p, s, &o, err) < 0) {
			engine_container_spec_free(&o);
			return -1;
		}
	} else {
		spec_networks(p, s, &o);
	}
	spec_replica(p, s, number, &o);
	*out = o;
	return 0;
}
