/* json.c - the normalised model as JSON, shaped like `docker compose config --format json`
 * (what `lo2 config` prints) and, without build/depends_on, the canonical text that the
 * config-hash label hashes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/mem.h"
#include "compose/internal.h"

static void w_str(struct lo2_jw *w, const char *k, const char *v)
{
	if (v == NULL)
		return;
	lo2_jw_key(w, k);
	lo2_jw_str(w, v);
}

static void w_bool(struct lo2_jw *w, const char *k, bool v)
{
	if (!v)
		return;
	lo2_jw_key(w, k);
	lo2_jw_bool(w, true);
}

static void w_strv(struct lo2_jw *w, const char *k, const struct lo2_strv *v, bool always)
{
	if (v->n == 0 && !always)
		return;
	lo2_jw_key(w, k);
	lo2_jw_arr(w);
	for (size_t i = 0; i < v->n; i++)
		lo2_jw_str(w, v->v[i]);
	lo2_jw_arr_end(w);
}

static void w_kvv(struct lo2_jw *w, const char *k, const struct lo2_kvv *kv)
{
	if (kv->n == 0)
		return;
	lo2_jw_key(w, k);
	lo2_jw_obj(w);
	for (size_t i = 0; i < kv->n; i++) {
		lo2_jw_key(w, kv->v[i].key);
		lo2_jw_str(w, kv->v[i].val);
	}
	lo2_jw_obj_end(w);
}

static void w_duration(struct lo2_jw *w, const char *k, int64_t ns)
{
	char buf[64];

	if (ns < 0)
		return;
	compose_format_duration(ns, buf, sizeof(buf));
	w_str(w, k, buf);
}

static void w_ports(struct lo2_jw *w, const struct compose_service *s)
{
	if (s->n_ports == 0)
		return;
	lo2_jw_key(w, "ports");
	lo2_jw_arr(w);
	for (size_t i = 0; i < s->n_ports; i++) {
		const struct compose_port *p = &s->ports[i];

		lo2_jw_obj(w);
		w_str(w, "mode", p->mode);
		if (p->host_ip[0])
			w_str(w, "host_ip", p->host_ip);
		lo2_jw_key(w, "target");
		lo2_jw_int(w, p->target);
		if (p->published[0])
			w_str(w, "published", p->published);
		w_str(w, "protocol", p->protocol);
		lo2_jw_obj_end(w);
	}
	lo2_jw_arr_end(w);
}

static void w_mount(struct lo2_jw *w, const struct compose_mount *m)
{
	lo2_jw_obj(w);
	w_str(w, "type", m->type);
	w_str(w, "source", m->source);
	w_str(w, "target", m->target);
	w_bool(w, "read_only", m->read_only);
	if (strcmp(m->type, "bind") == 0) {
		lo2_jw_key(w, "bind");
		lo2_jw_obj(w);
		w_str(w, "propagation", m->propagation);
		w_str(w, "selinux", m->selinux);
		lo2_jw_key(w, "create_host_path");
		lo2_jw_bool(w, m->create_host_path);
		lo2_jw_obj_end(w);
	} else if (strcmp(m->type, "volume") == 0 && (m->nocopy || m->subpath)) {
		lo2_jw_key(w, "volume");
		lo2_jw_obj(w);
		w_bool(w, "nocopy", m->nocopy);
		w_str(w, "subpath", m->subpath);
		lo2_jw_obj_end(w);
	} else if (strcmp(m->type, "tmpfs") == 0 && m->tmpfs_size) {
		lo2_jw_key(w, "tmpfs");
		lo2_jw_obj(w);
		lo2_jw_key(w, "size");
		lo2_jw_int(w, m->tmpfs_size);
		lo2_jw_obj_end(w);
	}
	lo2_jw_obj_end(w);
}

static void w_networks(struct lo2_jw *w, const struct compose_service *s)
{
	if (s->n_networks == 0)
		return;
	lo2_jw_key(w, "networks");
	lo2_jw_obj(w);
	for (size_t i = 0; i < s->n_networks; i++) {
		const struct compose_svc_net *n = &s->networks[i];

		lo2_jw_key(w, n->key);
		if (n->aliases.n == 0 && !n->ipv4_address && !n->ipv6_address && !n->priority) {
			lo2_jw_null(w);
			continue;
		}
		lo2_jw_obj(w);
		w_strv(w, "aliases", &n->aliases, false);
		w_str(w, "ipv4_address", n->ipv4_address);
		w_str(w, "ipv6_address", n->ipv6_address);
		if (n->priority) {
			lo2_jw_key(w, "priority");
			lo2_jw_int(w, n->priority);
		}
		lo2_jw_obj_end(w);
	}
	lo2_jw_obj_end(w);
}

static void w_deps(struct lo2_jw *w, const struct compose_service *s)
{
	if (s->n_deps == 0)
		return;
	lo2_jw_key(w, "depends_on");
	lo2_jw_obj(w);
	for (size_t i = 0; i < s->n_deps; i++) {
		lo2_jw_key(w, s->deps[i].service);
		lo2_jw_obj(w);
		w_str(w, "condition", s->deps[i].condition);
		lo2_jw_key(w, "required");
		lo2_jw_bool(w, s->deps[i].required);
		lo2_jw_key(w, "restart");
		lo2_jw_bool(w, s->deps[i].restart);
		lo2_jw_obj_end(w);
	}
	lo2_jw_obj_end(w);
}

static void w_healthcheck(struct lo2_jw *w, const struct compose_healthcheck *h)
{
	if (!h->set)
		return;
	lo2_jw_key(w, "healthcheck");
	lo2_jw_obj(w);
	w_strv(w, "test", &h->test, false);
	w_duration(w, "interval", h->interval_ns);
	w_duration(w, "timeout", h->timeout_ns);
	w_duration(w, "start_period", h->start_period_ns);
	w_duration(w, "start_interval", h->start_interval_ns);
	if (h->retries >= 0) {
		lo2_jw_key(w, "retries");
		lo2_jw_int(w, h->retries);
	}
	w_bool(w, "disable", h->disable);
	lo2_jw_obj_end(w);
}

static void w_logging(struct lo2_jw *w, const struct compose_service *s)
{
	if (s->log_driver == NULL && s->log_opts.n == 0)
		return;
	lo2_jw_key(w, "logging");
	lo2_jw_obj(w);
	w_str(w, "driver", s->log_driver);
	w_kvv(w, "options", &s->log_opts);
	lo2_jw_obj_end(w);
}

static void w_int_opt(struct lo2_jw *w, const char *k, int64_t v)
{
	if (v <= 0)
		return;
	lo2_jw_key(w, k);
	lo2_jw_int(w, v);
}

static void w_build(struct lo2_jw *w, const struct compose_service *s)
{
	if (!s->has_build)
		return;
	lo2_jw_key(w, "build");
	lo2_jw_obj(w);
	w_str(w, "context", s->build.context);
	w_str(w, "dockerfile", s->build.dockerfile ? s->build.dockerfile : "Dockerfile");
	w_kvv(w, "args", &s->build.args);
	w_kvv(w, "labels", &s->build.labels);
	w_str(w, "target", s->build.target);
	w_str(w, "network", s->build.network);
	w_int_opt(w, "shm_size", s->build.shm_size);
	w_strv(w, "extra_hosts", &s->build.extra_hosts, false);
	w_bool(w, "no_cache", s->build.no_cache);
	w_bool(w, "pull", s->build.pull);
	lo2_jw_obj_end(w);
}

static void w_ulimits(struct lo2_jw *w, const struct compose_service *s)
{
	if (s->n_ulimits == 0)
		return;
	lo2_jw_key(w, "ulimits");
	lo2_jw_obj(w);
	for (size_t i = 0; i < s->n_ulimits; i++) {
		lo2_jw_key(w, s->ulimits[i].name);
		lo2_jw_obj(w);
		lo2_jw_key(w, "soft");
		lo2_jw_int(w, s->ulimits[i].soft);
		lo2_jw_key(w, "hard");
		lo2_jw_int(w, s->ulimits[i].hard);
		lo2_jw_obj_end(w);
	}
	lo2_jw_obj_end(w);
}

static void w_cpus(struct lo2_jw *w, const char *k, int64_t nano)
{
	if (nano <= 0)
		return;
	lo2_jw_key(w, k);
	lo2_jw_double(w, (double)nano / 1e9);
}

/* for_hash leaves replicas out: scaling does not recreate the containers kept (as v2). */
static void w_deploy(struct lo2_jw *w, const struct compose_deploy *d, bool for_hash)
{
	bool lim = d->cpus_nano || d->memory || d->pids, res = d->res_cpus_nano || d->res_memory;

	if (!d->set)
		return;
	lo2_jw_key(w, "deploy");
	lo2_jw_obj(w);
	if (lim || res) {
		lo2_jw_key(w, "resources");
		lo2_jw_obj(w);
		if (lim) {
			lo2_jw_key(w, "limits");
			lo2_jw_obj(w);
			w_cpus(w, "cpus", d->cpus_nano);
			w_int_opt(w, "memory", d->memory);
			w_int_opt(w, "pids", d->pids);
			lo2_jw_obj_end(w);
		}
		if (res) {
			lo2_jw_key(w, "reservations");
			lo2_jw_obj(w);
			w_cpus(w, "cpus", d->res_cpus_nano);
			w_int_opt(w, "memory", d->res_memory);
			lo2_jw_obj_end(w);
		}
		lo2_jw_obj_end(w);
	}
	if (d->replicas >= 0 && !for_hash) {
		lo2_jw_key(w, "replicas");
		lo2_jw_int(w, d->replicas);
	}
	if (d->has_restart_policy) {
		lo2_jw_key(w, "restart_policy");
		lo2_jw_obj(w);
		w_str(w, "condition", d->restart_condition);
		if (d->max_attempts >= 0) {
			lo2_jw_key(w, "max_attempts");
			lo2_jw_int(w, d->max_attempts);
		}
		lo2_jw_obj_end(w);
	}
	lo2_jw_obj_end(w);
}

static void w_secrets(struct lo2_jw *w, const struct compose_service *s, bool is_config)
{
	bool any = false;

	for (size_t i = 0; i < s->n_secrets; i++) {
		const struct compose_svc_secret *ss = &s->secrets[i];

		if (ss->is_config != is_config)
			continue;
		if (!any) {
			lo2_jw_key(w, is_config ? "configs" : "secrets");
			lo2_jw_arr(w);
			any = true;
		}
		lo2_jw_obj(w);
		w_str(w, "source", ss->source);
		w_str(w, "target", ss->target);
		w_str(w, "uid", ss->uid);
		w_str(w, "gid", ss->gid);
		if (ss->mode >= 0) {
			lo2_jw_key(w, "mode");
			lo2_jw_int(w, ss->mode);
		}
		lo2_jw_obj_end(w);
	}
	if (any)
		lo2_jw_arr_end(w);
}

static void w_flags(struct lo2_jw *w, const struct compose_service *s)
{
	w_bool(w, "privileged", s->privileged);
	w_bool(w, "tty", s->tty);
	w_bool(w, "stdin_open", s->stdin_open);
	w_bool(w, "init", s->init);
	w_bool(w, "read_only", s->read_only);
	w_int_opt(w, "shm_size", s->shm_size);
	w_int_opt(w, "mem_limit", s->mem_limit);
	w_int_opt(w, "mem_reservation", s->mem_reservation);
	w_cpus(w, "cpus", s->cpus_nano);
	w_int_opt(w, "pids_limit", s->pids_limit);
	w_int_opt(w, "cpu_shares", s->cpu_shares);
	w_int_opt(w, "cpu_quota", s->cpu_quota);
	w_int_opt(w, "cpu_period", s->cpu_period);
	if (s->memswap_limit) {
		lo2_jw_key(w, "memswap_limit");
		lo2_jw_int(w, s->memswap_limit);
	}
	if (s->mem_swappiness >= 0) {
		lo2_jw_key(w, "mem_swappiness");
		lo2_jw_int(w, s->mem_swappiness);
	}
	w_bool(w, "oom_kill_disable", s->oom_kill_disable);
	if (s->oom_score_adj) {
		lo2_jw_key(w, "oom_score_adj");
		lo2_jw_int(w, s->oom_score_adj);
	}
}

static void w_lists(struct lo2_jw *w, const struct compose_service *s)
{
	w_strv(w, "cap_add", &s->cap_add, false);
	w_strv(w, "cap_drop", &s->cap_drop, false);
	w_strv(w, "dns", &s->dns, false);
	w_strv(w, "dns_opt", &s->dns_opt, false);
	w_strv(w, "dns_search", &s->dns_search, false);
	w_strv(w, "expose", &s->expose, false);
	w_strv(w, "extra_hosts", &s->extra_hosts, false);
	w_strv(w, "group_add", &s->group_add, false);
	w_strv(w, "links", &s->links, false);
	w_strv(w, "security_opt", &s->security_opt, false);
	w_strv(w, "tmpfs", &s->tmpfs, false);
}

void compose_service_write_json(struct lo2_jw *w, const struct compose_project *p,
                                const struct compose_service *s, bool for_hash)
{
	lo2_jw_obj(w);
	if (!for_hash) {
		w_build(w, s);
		w_deps(w, s);
	}
	if (s->command_set)
		w_strv(w, "command", &s->command, true);
	w_str(w, "container_name", s->container_name);
	w_secrets(w, s, true);
	w_deploy(w, &s->deploy, for_hash);
	w_str(w, "domainname", s->domainname);
	if (s->entrypoint_set)
		w_strv(w, "entrypoint", &s->entrypoint, true);
	w_kvv(w, "environment", &s->environment);
	w_healthcheck(w, &s->healthcheck);
	w_str(w, "hostname", s->hostname);
	w_str(w, "image", s->image);
	w_str(w, "cgroup_parent", s->cgroup_parent);
	w_str(w, "cpuset", s->cpuset);
	w_strv(w, "devices", &s->devices, false);
	w_str(w, "ipc", s->ipc);
	w_kvv(w, "labels", &s->labels);
	w_lists(w, s);
	w_logging(w, s);
	w_str(w, "network_mode", s->network_mode);
	w_networks(w, s);
	w_str(w, "pid", s->pid);
	w_str(w, "platform", s->platform);
	w_ports(w, s);
	if (!for_hash)
		w_strv(w, "profiles", &s->profiles, false);
	w_str(w, "restart", s->restart);
	w_str(w, "runtime", s->runtime);
	w_secrets(w, s, false);
	if (s->scale >= 0 && !for_hash) {
		lo2_jw_key(w, "scale");
		lo2_jw_int(w, s->scale);
	}
	w_duration(w, "stop_grace_period", s->stop_grace_period_ns);
	w_str(w, "stop_signal", s->stop_signal);
	w_kvv(w, "storage_opt", &s->storage_opt);
	w_kvv(w, "sysctls", &s->sysctls);
	w_ulimits(w, s);
	w_str(w, "user", s->user);
	w_str(w, "userns_mode", s->userns_mode);
	w_flags(w, s);
	if (s->n_mounts) {
		lo2_jw_key(w, "volumes");
		lo2_jw_arr(w);
		for (size_t i = 0; i < s->n_mounts; i++)
			w_mount(w, &s->mounts[i]);
		lo2_jw_arr_end(w);
	}
	w_strv(w, "volumes_from", &s->volumes_from, false);
	w_str(w, "working_dir", s->working_dir);
	lo2_jw_obj_end(w);
}

static void w_resource(struct lo2_jw *w, const char *key, const char *name, const char *driver, bool external,
                       const struct lo2_kvv *labels, const struct lo2_kvv *opts,
                       const struct compose_network *n)
{
	lo2_jw_key(w, key);
	lo2_jw_obj(w);
	w_str(w, "name", name);
	w_str(w, "driver", driver);
	w_kvv(w, "driver_opts", opts);
	w_bool(w, "external", external);
	if (n && (n->ipam_driver || n->n_pools)) {
		lo2_jw_key(w, "ipam");
		lo2_jw_obj(w);
		w_str(w, "driver", n->ipam_driver);
		lo2_jw_key(w, "config");
		lo2_jw_arr(w);
		for (size_t i = 0; i < n->n_pools; i++) {
			lo2_jw_obj(w);
			w_str(w, "subnet", n->pools[i].subnet);
			w_str(w, "ip_range", n->pools[i].ip_range);
			w_str(w, "gateway", n->pools[i].gateway);
			lo2_jw_obj_end(w);
		}
		lo2_jw_arr_end(w);
		lo2_jw_obj_end(w);
	}
	if (n) {
		w_bool(w, "internal", n->internal);
		w_bool(w, "attachable", n->attachable);
		w_bool(w, "enable_ipv6", n->enable_ipv6);
	}
	w_kvv(w, "labels", labels);
	lo2_jw_obj_end(w);
}

static void w_networks_top(struct lo2_jw *w, const struct compose_project *p)
{
	if (p->n_networks == 0)
		return;
	lo2_jw_key(w, "networks");
	lo2_jw_obj(w);
	for (size_t i = 0; i < p->n_networks; i++) {
		const struct compose_network *n = &p->networks[i];

		w_resource(w, n->key, n->name, n->driver, n->external, &n->labels, &n->driver_opts, n);
	}
	lo2_jw_obj_end(w);
}

static void w_volumes_top(struct lo2_jw *w, const struct compose_project *p)
{
	if (p->n_volumes == 0)
		return;
	lo2_jw_key(w, "volumes");
	lo2_jw_obj(w);
	for (size_t i = 0; i < p->n_volumes; i++) {
		const struct compose_volume *v = &p->volumes[i];

		w_resource(w, v->key, v->name, v->driver, v->external, &v->labels, &v->driver_opts, NULL);
	}
	lo2_jw_obj_end(w);
}

static void w_secrets_top(struct lo2_jw *w, const struct compose_project *p, bool is_config)
{
	bool any = false;
	char *name;

	for (size_t i = 0; i < p->n_secrets; i++) {
		const struct compose_secret *sec = &p->secrets[i];

		if (sec->is_config != is_config)
			continue;
		if (!any) {
			lo2_jw_key(w, is_config ? "configs" : "secrets");
			lo2_jw_obj(w);
			any = true;
		}
		name = xasprintf("%s_%s", p->name, sec->key);
		lo2_jw_key(w, sec->key);
		lo2_jw_obj(w);
		w_str(w, "name", name);
		free(name);
		w_str(w, "file", sec->file);
		w_str(w, "environment", sec->environment);
		if (sec->file == NULL && sec->environment == NULL)
			w_str(w, "content", sec->content);
		lo2_jw_obj_end(w);
	}
	if (any)
		lo2_jw_obj_end(w);
}

char *compose_project_json(const struct compose_project *p, const char *indent)
{
	struct lo2_jw *w = lo2_jw_new(indent);

	lo2_jw_obj(w);
	w_str(w, "name", p->name);
	lo2_jw_key(w, "services");
	lo2_jw_obj(w);
	for (size_t i = 0; i < p->n_services; i++) {
		lo2_jw_key(w, p->services[i].name);
		compose_service_write_json(w, p, &p->services[i], false);
	}
	lo2_jw_obj_end(w);
	w_networks_top(w, p);
	w_volumes_top(w, p);
	w_secrets_top(w, p, false);
	w_secrets_top(w, p, true);
	lo2_jw_obj_end(w);
	return lo2_jw_finish(w, NULL);
}
