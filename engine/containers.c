/* containers.c - container create bodies (everything compose needs), lifecycle calls,
 * inspect and list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "engine/internal.h"

static void free_endpoint(struct engine_endpoint_cfg *n)
{
	free(n->network);
	lo2_strv_free(&n->aliases);
	lo2_strv_free(&n->links);
	free(n->ipv4_address);
	free(n->ipv6_address);
}

void engine_container_spec_free(struct engine_container_spec *s)
{
	if (s == NULL)
		return;
	char **strs[] = {&s->name,         &s->platform,       &s->image,         &s->user,
	                 &s->working_dir,  &s->hostname,       &s->domainname,    &s->stop_signal,
	                 &s->network_mode, &s->restart_policy, &s->log_driver,    &s->pid_mode,
	                 &s->ipc_mode,     &s->runtime,        &s->cgroup_parent, &s->userns_mode,
	                 &s->cpuset_cpus};
	struct lo2_strv *vs[] = {
	    &s->cmd,          &s->entrypoint, &s->env,         &s->exposed_ports, &s->healthcheck.test,
	    &s->binds,        &s->links,      &s->cap_add,     &s->cap_drop,      &s->extra_hosts,
	    &s->dns,          &s->dns_search, &s->dns_options, &s->security_opt,  &s->group_add,
	    &s->volumes_from, &s->devices};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++)
		lo2_strv_free(vs[i]);
	lo2_kvv_free(&s->labels);
	lo2_kvv_free(&s->log_opts);
	lo2_kvv_free(&s->tmpfs);
	lo2_kvv_free(&s->sysctls);
	lo2_kvv_free(&s->storage_opt);
	for (size_t i = 0; i < s->n_mounts; i++) {
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		free(s->mounts[i].target);
	}
	free(s->mounts);
	for (size_t i = 0; i < s->n_ports; i++) {
		free(s->ports[i].container_port);
		free(s->ports[i].host_ip);
		free(s->ports[i].host_port);
	}
	free(s->ports);
	for (size_t i = 0; i < s->n_ulimits; i++)
		free(s->ulimits[i].name);
	free(s->ulimits);
	for (size_t i = 0; i < s->n_networks; i++)
		free_endpoint(&s->networks[i]);
	free(s->networks);
	memset(s, 0, sizeof(*s));
}

/* ---- JSON body ---- */

static void put_str(struct lo2_jw *w, const char *k, const char *v)
{
	if (v == NULL)
		return;
	lo2_jw_key(w, k);
	lo2_jw_str(w, v);
}

static void put_strv_if(struct lo2_jw *w, const char *k, const struct lo2_strv *v)
{
	if (v->n > 0)
		engine_jw_strv(w, k, v);
}

static void put_int_if(struct lo2_jw *w, const char *k, int64_t v)
{
	if (v == 0)
		return;
	lo2_jw_key(w, k);
	lo2_jw_int(w, v);
}

static void put_bool(struct lo2_jw *w, const char *k, bool v)
{
	lo2_jw_key(w, k);
	lo2_jw_bool(w, v);
}

static void put_healthcheck(struct lo2_jw *w, const struct engine_healthcheck *h)
{
	if (!h->set)
		return;
	lo2_jw_key(w, "Healthcheck");
	lo2_jw_obj(w);
	engine_jw_strv(w, "Test", &h->test);
	put_int_if(w, "Interval", h->interval_ns);
	put_int_if(w, "Timeout", h->timeout_ns);
	put_int_if(w, "StartPeriod", h->start_period_ns);
	put_int_if(w, "StartInterval", h->start_interval_ns);
	put_int_if(w, "Retries", h->retries);
	lo2_jw_obj_end(w);
}

static void put_exposed(struct lo2_jw *w, const struct engine_container_spec *s)
{
	struct lo2_strv all = {0};

	lo2_strv_copy(&all, &s->exposed_ports);
	for (size_t i = 0; i < s->n_ports; i++)
		if (!lo2_strv_contains(&all, s->ports[i].container_port))
			lo2_strv_push(&all, s->ports[i].container_port);
	if (all.n > 0) {
		lo2_jw_key(w, "ExposedPorts");
		lo2_jw_obj(w);
		for (size_t i = 0; i < all.n; i++) {
			lo2_jw_key(w, all.v[i]);
			lo2_jw_obj(w);
			lo2_jw_obj_end(w);
		}
		lo2_jw_obj_end(w);
	}
	lo2_strv_free(&all);
}

static void put_config(struct lo2_jw *w, const struct engine_container_spec *s)
{
	put_str(w, "Image", s->image);
	if (s->cmd_set)
		engine_jw_strv(w, "Cmd", &s->cmd);
	if (s->entrypoint_set)
		engine_jw_strv(w, "Entrypoint", &s->entrypoint);
	put_strv_if(w, "Env", &s->env);
	put_str(w, "User", s->user);
	put_str(w, "WorkingDir", s->working_dir);
	put_str(w, "Hostname", s->hostname);
	put_str(w, "Domainname", s->domainname);
	engine_jw_kvv(w, "Labels", &s->labels);
	put_exposed(w, s);
	put_healthcheck(w, &s->healthcheck);
	put_bool(w, "Tty", s->tty);
	put_bool(w, "OpenStdin", s->open_stdin);
	put_bool(w, "AttachStdout", true);
	put_bool(w, "AttachStderr", true);
	put_str(w, "StopSignal", s->stop_signal);
	if (s->stop_timeout >= 0 && (s->stop_timeout > 0 || s->stop_signal)) {
		lo2_jw_key(w, "StopTimeout");
		lo2_jw_int(w, s->stop_timeout);
	}
}

static void put_mounts(struct lo2_jw *w, const struct engine_container_spec *s)
{
	if (s->n_mounts == 0)
		return;
	lo2_jw_key(w, "Mounts");
	lo2_jw_arr(w);
	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct engine_mount *m = &s->mounts[i];

		lo2_jw_obj(w);
		put_str(w, "Type", m->type);
		put_str(w, "Source", m->source ? m->source : "");
		put_str(w, "Target", m->target);
		put_bool(w, "ReadOnly", m->read_only);
		if (m->type && strcmp(m->type, "bind") == 0 && m->create_mountpoint) {
			lo2_jw_key(w, "BindOptions");
			lo2_jw_obj(w);
			put_bool(w, "CreateMountpoint", true);
			lo2_jw_obj_end(w);
		}
		if (m->type && strcmp(m->type, "volume") == 0 && m->no_copy) {
			lo2_jw_key(w, "VolumeOptions");
			lo2_jw_obj(w);
			put_bool(w, "NoCopy", true);
			lo2_jw_obj_end(w);
		}
		if (m->type && strcmp(m->type, "tmpfs") == 0 && m->tmpfs_size > 0) {
			lo2_jw_key(w, "TmpfsOptions");
			lo2_jw_obj(w);
			put_int_if(w, "SizeBytes", m->tmpfs_size);
			lo2_jw_obj_end(w);
		}
		lo2_jw_obj_end(w);
	}
	lo2_jw_arr_end(w);
}

static void put_port_bindings(struct lo2_jw *w, const struct engine_container_spec *s)
{
	struct lo2_strv keys = {0};

	if (s->n_ports == 0)
		return;
	for (size_t i = 0; i < s->n_ports; i++)
		if (!lo2_strv_contains(&keys, s->ports[i].container_port))
			lo2_strv_push(&keys, s->ports[i].container_port);
	lo2_jw_key(w, "PortBindings");
	lo2_jw_obj(w);
	for (size_t k = 0; k < keys.n; k++) {
		lo2_jw_key(w, keys.v[k]);
		lo2_jw_arr(w);
		for (size_t i = 0; i < s->n_ports; i++) {
			if (strcmp(s->ports[i].container_port, keys.v[k]) != 0)
				continue;
			lo2_jw_obj(w);
			put_str(w, "HostIp", s->ports[i].host_ip ? s->ports[i].host_ip : "");
			put_str(w, "HostPort", s->ports[i].host_port ? s->ports[i].host_port : "");
			lo2_jw_obj_end(w);
		}
		lo2_jw_arr_end(w);
	}
	lo2_jw_obj_end(w);
	lo2_strv_free(&keys);
}

static void put_restart_log(struct lo2_jw *w, const struct engine_container_spec *s)
{
	if (s->restart_policy) {
		lo2_jw_key(w, "RestartPolicy");
		lo2_jw_obj(w);
		put_str(w, "Name", s->restart_policy);
		if (strcmp(s->restart_policy, "on-failure") == 0)
			put_int_if(w, "MaximumRetryCount", s->restart_max_retries);
		lo2_jw_obj_end(w);
	}
	if (s->log_driver) {
		lo2_jw_key(w, "LogConfig");
		lo2_jw_obj(w);
		put_str(w, "Type", s->log_driver);
		engine_jw_kvv(w, "Config", &s->log_opts);
		lo2_jw_obj_end(w);
	}
}

static void put_ulimits(struct lo2_jw *w, const struct engine_container_spec *s)
{
	if (s->n_ulimits == 0)
		return;
	lo2_jw_key(w, "Ulimits");
	lo2_jw_arr(w);
	for (size_t i = 0; i < s->n_ulimits; i++) {
		lo2_jw_obj(w);
		put_str(w, "Name", s->ulimits[i].name);
		lo2_jw_key(w, "Soft");
		lo2_jw_int(w, s->ulimits[i].soft);
		lo2_jw_key(w, "Hard");
		lo2_jw_int(w, s->ulimits[i].hard);
		lo2_jw_obj_end(w);
	}
	lo2_jw_arr_end(w);
}

/* "host[:container[:perms]]" as HostConfig.Devices. */
static void put_devices(struct lo2_jw *w, const struct lo2_strv *d)
{
	if (d->n == 0)
		return;
	lo2_jw_key(w, "Devices");
	lo2_jw_arr(w);
	for (size_t i = 0; i < d->n; i++) {
		lo2_autofree char *v = xstrdup(d->v[i]);
		char *c1 = strchr(v, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (c1)
			*c1 = '\0';
		if (c2)
			*c2 = '\0';
		lo2_jw_obj(w);
		put_str(w, "PathOnHost", v);
		put_str(w, "PathInContainer", c1 ? c1 + 1 : v);
		put_str(w, "CgroupPermissions", c2 ? c2 + 1 : "rwm");
		lo2_jw_obj_end(w);
	}
	lo2_jw_arr_end(w);
}

static void put_host_config(struct lo2_jw *w, const struct engine_container_spec *s)
{
	lo2_jw_key(w, "HostConfig");
	lo2_jw_obj(w);
	put_strv_if(w, "Binds", &s->binds);
	put_mounts(w, s);
	put_port_bindings(w, s);
	put_str(w, "NetworkMode",
	        s->network_mode ? s->network_mode : (s->n_networks ? s->networks[0].network : NULL));
	put_restart_log(w, s);
	put_strv_if(w, "Links", &s->links);
	put_bool(w, "Privileged", s->privileged);
	put_strv_if(w, "CapAdd", &s->cap_add);
	put_strv_if(w, "CapDrop", &s->cap_drop);
	put_strv_if(w, "ExtraHosts", &s->extra_hosts);
	put_strv_if(w, "Dns", &s->dns);
	put_strv_if(w, "DnsSearch", &s->dns_search);
	put_strv_if(w, "DnsOptions", &s->dns_options);
	put_strv_if(w, "SecurityOpt", &s->security_opt);
	put_strv_if(w, "GroupAdd", &s->group_add);
	put_ulimits(w, s);
	if (s->tmpfs.n)
		engine_jw_kvv(w, "Tmpfs", &s->tmpfs);
	if (s->sysctls.n)
		engine_jw_kvv(w, "Sysctls", &s->sysctls);
	if (s->init)
		put_bool(w, "Init", true);
	put_bool(w, "ReadonlyRootfs", s->read_only);
	put_bool(w, "AutoRemove", s->auto_remove);
	put_int_if(w, "Memory", s->memory);
	put_int_if(w, "MemoryReservation", s->memory_reservation);
	put_int_if(w, "NanoCpus", s->nano_cpus);
	put_int_if(w, "PidsLimit", s->pids_limit);
	put_int_if(w, "ShmSize", s->shm_size);
	put_str(w, "PidMode", s->pid_mode);
	put_str(w, "IpcMode", s->ipc_mode);
	put_str(w, "Runtime", s->runtime);
	put_str(w, "CgroupParent", s->cgroup_parent);
	put_str(w, "UsernsMode", s->userns_mode);
	put_strv_if(w, "VolumesFrom", &s->volumes_from);
	put_str(w, "CpusetCpus", s->cpuset_cpus);
	put_int_if(w, "CpuShares", s->cpu_shares);
	put_int_if(w, "CpuQuota", s->cpu_quota);
	put_int_if(w, "CpuPeriod", s->cpu_period);
	put_int_if(w, "MemorySwap", s->memory_swap);
	put_int_if(w, "OomScoreAdj", s->oom_score_adj);
	if (s->mem_swappiness_set) {
		lo2_jw_key(w, "MemorySwappiness");
		lo2_jw_int(w, s->mem_swappiness);
	}
	if (s->oom_kill_disable)
		put_bool(w, "OomKillDisable", true);
	put_devices(w, &s->devices);
	if (s->storage_opt.n)
		engine_jw_kvv(w, "StorageOpt", &s->storage_opt);
	lo2_jw_obj_end(w);
}

static void put_endpoint(struct lo2_jw *w, const struct engine_endpoint_cfg *n)
{
	lo2_jw_obj(w);
	put_strv_if(w, "Aliases", &n->aliases);
	put_strv_if(w, "Links", &n->links);
	if (n->ipv4_address || n->ipv6_address) {
		lo2_jw_key(w, "IPAMConfig");
		lo2_jw_obj(w);
		put_str(w, "IPv4Address", n->ipv4_address);
		put_str(w, "IPv6Address", n->ipv6_address);
		lo2_jw_obj_end(w);
	}
	lo2_jw_obj_end(w);
}

char *engine_container_spec_json(const struct engine_container_spec *s, int api_minor)
{
	struct lo2_jw *w = lo2_jw_new(NULL);
	/* Several networks at create need API 1.44; below it only the primary is sent. */
	size_t n_nets = api_minor >= 44 ? s->n_networks : (s->n_networks ? 1 : 0);

	lo2_jw_obj(w);
	put_config(w, s);
	put_host_config(w, s);
	if (n_nets > 0) {
		lo2_jw_key(w, "NetworkingConfig");
		lo2_jw_obj(w);
		lo2_jw_key(w, "EndpointsConfig");
		lo2_jw_obj(w);
		for (size_t i = 0; i < n_nets; i++) {
			lo2_jw_key(w, s->networks[i].network);
			put_endpoint(w, &s->networks[i]);
		}
		lo2_jw_obj_end(w);
		lo2_jw_obj_end(w);
	}
	lo2_jw_obj_end(w);
	return lo2_jw_finish(w, NULL);
}

/* ---- lifecycle ---- */

int engine_container_create(struct engine *e, const struct engine_container_spec *s, char **id_out,
                            struct lo2_err *err)
{
	int minor = engine_api_minor(e); /* one reading for the body and the connects below */
	lo2_autofree char *body = engine_container_spec_json(s, minor);
	lo2_autofree char *ename = s->name ? engine_escape(s->name) : NULL;
	lo2_autofree char *eplat = s->platform ? engine_escape(s->platform) : NULL;
	lo2_autofree char *path =
	    xasprintf("/containers/create%s%s%s%s", ename ? "?name=" : "", ename ? ename : "",
	              eplat ? (ename ? "&platform=" : "?platform=") : "", eplat ? eplat : "");
	const char *shown = s->name ? s->name : s->image;
	struct ereq r = {.method = "POST", .path = path, .json = body};
	struct lo2_json *doc = NULL;
	char *id;

	if (engine_call_json(e, &r, "create response", &doc, err, "create container %s", shown) < 0)
		return -1;
	if (engine_field_strdup(doc, "Id", true, "the answer", &id, err) < 0) {
		lo2_json_free(doc);
		return lo2_err_prefix(err, "create container %s", shown);
	}
	lo2_json_free(doc);
	/* Below API 1.44 the secondary networks are connected after create, before start. */
	for (size_t i = 1; minor < 44 && i < s->n_networks; i++) {
		if (engine_network_connect(e, s->networks[i].network, id, &s->networks[i], err) < 0) {
			lo2_err_prefix(err, "create container %s", shown);
			engine_container_remove(e, id, true, true, NULL);
			free(id);
			return -1;
		}
	}
	*id_out = id;
	return 0;
}

static int post_simple(struct engine *e, const char *id, const char *op, const char *query, long timeout_ms,
                       struct lo2_err *err, const char *what)
{
	lo2_autofree char *eid = engine_escape(id);
	lo2_autofree char *path = xasprintf("/containers/%s/%s%s", eid, op, query ? query : "");
	struct ereq r = {.method = "POST", .path = path, .timeout_ms = timeout_ms};
	char op_name[64];

	snprintf(op_name, sizeof(op_name), "%s container", what);
	if (engine_check_ref(id, op_name, err) < 0)
		return -1;
	return engine_call(e, &r, NULL, err, "%s container %s", what, id);
}

int engine_container_start(struct engine *e, const char *id, struct lo2_err *err)
{
	return post_simple(e, id, "start", NULL, 0, err, "start");
}

static long stop_deadline_ms(int timeout_s)
{
	/* The engine waits up to t (default 10 s, or StopTimeout) before SIGKILL: allow that plus a margin. */
	return ((timeout_s >= 0 ? timeout_s : 300) + 60) * 1000L;
}

int engine_container_stop(struct engine *e, const char *id, int timeout_s, struct lo2_err *err)
{
	char q[32] = "";

	if (timeout_s >= 0)
		snprintf(q, sizeof(q), "?t=%d", timeout_s);
	return post_simple(e, id, "stop", q, stop_deadline_ms(timeout_s), err, "stop");
}

int engine_container_restart(struct engine *e, const char *id, int timeout_s, struct lo2_err *err)
{
	char q[32] = "";

	if (timeout_s >= 0)
		snprintf(q, sizeof(q), "?t=%d", timeout_s);
	return post_simple(e, id, "restart", q, stop_deadline_ms(timeout_s), err, "restart");
}

int engine_container_kill(struct engine *e, const char *id, const char *signal, struct lo2_err *err)
{
	lo2_autofree char *esig = signal ? engine_escape(signal) : NULL;
	lo2_autofree char *q = esig ? xasprintf("?signal=%s", esig) : NULL;

	return post_simple(e, id, "kill", q, 0, err, "kill");
}

int engine_container_pause(struct engine *e, const char *id, struct lo2_err *err)
{
	return post_simple(e, id, "pause", NULL, 0, err, "pause");
}

int engine_container_unpause(struct engine *e, const char *id, struct lo2_err *err)
{
	return post_simple(e, id, "unpause", NULL, 0, err, "unpause");
}

int engine_container_rename(struct engine *e, const char *id, const char *name, struct lo2_err *err)
{
	lo2_autofree char *en = engine_escape(name);
	lo2_autofree char *q = xasprintf("?name=%s", en);

	return post_simple(e, id, "rename", q, 0, err, "rename");
}

int engine_container_remove(struct engine *e, const char *id, bool force, bool volumes, struct lo2_err *err)
{
	lo2_autofree char *eid = engine_escape(id);
	lo2_autofree char *path = xasprintf("/containers/%s?force=%d&v=%d", eid, force, volumes);
	struct ereq r = {.method = "DELETE", .path = path};

	if (engine_check_ref(id, "remove container", err) < 0)
		return -1;
	return engine_call(e, &r, NULL, err, "remove container %s", id);
}

int engine_container_wait(struct engine *e, const char *id, const char *condition, const atomic_bool *cancel,
                          int64_t *exit_code, struct lo2_err *err)
{
	lo2_autofree char *eid = engine_escape(id);
	lo2_autofree char *path =
	    xasprintf("/containers/%s/wait?condition=%s", eid, condition ? condition : "not-running");
	/* The 200 comes at once and the body only when the condition is met: no timeout. */
	struct ereq r = {.method = "POST", .path = path, .stream = true, .may_idle = true, .cancel = cancel};
	struct lo2_json *doc = NULL;
	const char *msg;
	int ret = 0;

	if (engine_check_ref(id, "wait for container", err) < 0 ||
	    engine_call_json(e, &r, "wait response", &doc, err, "wait for container %s", id) < 0)
		return -1;
	msg = lo2_json_str(lo2_json_path(doc, "Error", "Message", NULL));
	if (msg != NULL && msg[0] != '\0')
		ret = lo2_err_set(err, LO2_E_GENERIC, "wait for container %s: %s", id, msg);
	else if (exit_code && !lo2_json_int(lo2_json_get(doc, "StatusCode"), exit_code))
		*exit_code = -1;
	lo2_json_free(doc);
	return ret;
}

int engine_container_update(struct engine *e, const char *id, const struct engine_resources *res,
                            struct lo2_err *err)
{
	lo2_autofree char *eid = engine_escape(id);
	lo2_autofree char *path = xasprintf("/containers/%s/update", eid);
	struct lo2_jw *w = lo2_jw_new(NULL);
	lo2_autofree char *body = NULL;
	struct ereq r = {.method = "POST", .path = path};

	lo2_jw_obj(w);
	put_int_if(w, "NanoCpus", res->nano_cpus);
	put_int_if(w, "Memory", res->memory);
	put_int_if(w, "MemorySwap", res->memory_swap);
	put_int_if(w, "PidsLimit", res->pids_limit);
	put_int_if(w, "CpuShares", res->cpu_shares);
	put_int_if(w, "CpuQuota", res->cpu_quota);
	put_int_if(w, "CpuPeriod", res->cpu_period);
	lo2_jw_obj_end(w);
	body = lo2_jw_finish(w, NULL);
	r.json = body;
	return engine_call(e, &r, NULL, err, "update container %s", id);
}

/* ---- inspect and list ---- */

static int read_time(const struct lo2_json *st, const char *key, int64_t *out, struct lo2_err *err)
{
	const struct lo2_json *v;

	if (engine_field(st, key, ENGINE_J_STR, false, "State", &v, err) < 0)
		return -1;
	*out = engine_parse_time(lo2_json_str(v));
	return 0;
}

static int read_state(const struct lo2_json *st, struct engine_container_info *ci, struct lo2_err *err)
{
	const struct lo2_json *health = NULL;
	int64_t pid = 0;

	if (engine_field_strdup(st, "Status", true, "State", &ci->status, err) < 0 ||
	    engine_field_bool(st, "Running", "State", &ci->running, err) < 0 ||
	    engine_field_bool(st, "Paused", "State", &ci->paused, err) < 0 ||
	    engine_field_bool(st, "Restarting", "State", &ci->restarting, err) < 0 ||
	    engine_field_bool(st, "OOMKilled", "State", &ci->oom_killed, err) < 0 ||
	    engine_field_bool(st, "Dead", "State", &ci->dead, err) < 0 ||
	    engine_field_int(st, "Pid", "State", &pid, err) < 0 ||
	    engine_field_int(st, "ExitCode", "State", &ci->exit_code, err) < 0 ||
	    engine_field_strdup(st, "Error", false, "State", &ci->error, err) < 0 ||
	    read_time(st, "StartedAt", &ci->started_ns, err) < 0 ||
	    read_time(st, "FinishedAt", &ci->finished_ns, err) < 0 ||
	    engine_field(st, "Health", ENGINE_J_OBJ, false, "State", &health, err) < 0)
		return -1;
	ci->pid = (int)pid;
	if (health && engine_field_strdup(health, "Status", true, "State.Health", &ci->health, err) < 0)
		return -1;
	return 0;
}

static int read_network(const char *name, const struct lo2_json *v, struct engine_net_addr *a,
                        struct lo2_err *err)
{
	lo2_autofree char *what = xasprintf("NetworkSettings.Networks.%s", name);

	a->network = xstrdup(name);
	if (!lo2_json_is_object(v))
		return lo2_err_set(err, LO2_E_INVALID, "%s is not an object", what);
	if (engine_field_strdup(v, "IPAddress", false, what, &a->ip, err) < 0 ||
	    engine_field_strdup(v, "GlobalIPv6Address", false, what, &a->ipv6, err) < 0 ||
	    engine_field_strv(v, "Aliases", what, &a->aliases, err) < 0)
		return -1;
	return 0;
}

static int read_networks(const struct lo2_json *nets, struct engine_container_info *ci, struct lo2_err *err)
{
	size_t n = lo2_json_len(nets);

	if (n == 0)
		return 0;
	ci->nets = xcalloc(n, sizeof(*ci->nets));
	for (size_t i = 0; i < n; i++)
		if (read_network(lo2_json_key_at(nets, i), lo2_json_val_at(nets, i), &ci->nets[ci->n_nets++],
		                 err) < 0)
			return -1;
	return 0;
}

static int read_ports(const struct lo2_json *ports, struct engine_container_info *ci, struct lo2_err *err)
{
	for (size_t i = 0; i < lo2_json_len(ports); i++) {
		const char *port = lo2_json_key_at(ports, i);
		const struct lo2_json *binds = lo2_json_val_at(ports, i);
		lo2_autofree char *what = xasprintf("NetworkSettings.Ports.%s", port);

		if (!lo2_json_is_null(binds) && !lo2_json_is_array(binds))
			return lo2_err_set(err, LO2_E_INVALID, "%s is not an array", what);
		for (size_t k = 0; k < lo2_json_len(binds); k++) {
			const struct lo2_json *b = lo2_json_at(binds, k);
			struct engine_published *p;

			if (!lo2_json_is_object(b))
				return lo2_err_set(err, LO2_E_INVALID, "%s[%zu] is not an object", what, k);
			ci->ports = xrealloc(ci->ports, (ci->n_ports + 1) * sizeof(*ci->ports));
			p = &ci->ports[ci->n_ports++];
			memset(p, 0, sizeof(*p));
			p->container_port = xstrdup(port);
			if (engine_field_strdup(b, "HostIp", false, what, &p->host_ip, err) < 0 ||
			    engine_field_strdup(b, "HostPort", false, what, &p->host_port, err) < 0)
				return -1;
		}
	}
	return 0;
}

/* "/name" -> "name" (the engine's names carry a leading slash). */
static char *strip_slash(const char *name)
{
	return xstrdup(name[0] == '/' ? name + 1 : name);
}

static int read_config(const struct lo2_json *cfg, struct engine_container_info *ci, struct lo2_err *err)
{
	if (engine_field_strdup(cfg, "Image", false, "Config", &ci->image, err) < 0 ||
	    engine_field_bool(cfg, "Tty", "Config", &ci->tty, err) < 0 ||
	    engine_field_kvv(cfg, "Labels", "Config", &ci->labels, err) < 0 ||
	    engine_field_strv(cfg, "Env", "Config", &ci->env, err) < 0)
		return -1;
	return 0;
}

/* HostConfig.LogConfig: the log driver and its options, as the engine applied them. */
static int read_log_config(const struct lo2_json *hc, struct engine_container_info *ci, struct lo2_err *err)
{
	const struct lo2_json *lc = NULL;

	if (engine_field(hc, "LogConfig", ENGINE_J_OBJ, false, "HostConfig", &lc, err) < 0 ||
	    engine_field_strdup(lc, "Type", false, "HostConfig.LogConfig", &ci->log_type, err) < 0 ||
	    engine_field_kvv(lc, "Config", "HostConfig.LogConfig", &ci->log_opts, err) < 0)
		return -1;
	return 0;
}

/* HostConfig's restart policy and resource limits (what a fault lowers and restores). */
static int read_host_limits(const struct lo2_json *hc, struct engine_container_info *ci, struct lo2_err *err)
{
	const struct lo2_json *rp = NULL;
	struct engine_resources *l = &ci->limits;

	if (hc == NULL)
		return 0;
	if (engine_field(hc, "RestartPolicy", ENGINE_J_OBJ, false, "HostConfig", &rp, err) < 0 ||
	    engine_field_strdup(rp, "Name", false, "HostConfig.RestartPolicy", &ci->restart_policy, err) <
	        0 ||
	    engine_field_strdup(hc, "CgroupParent", false, "HostConfig", &ci->cgroup_parent, err) < 0 ||
	    engine_field_int(hc, "NanoCpus", "HostConfig", &l->nano_cpus, err) < 0 ||
	    engine_field_int(hc, "Memory", "HostConfig", &l->memory, err) < 0 ||
	    engine_field_int(hc, "MemorySwap", "HostConfig", &l->memory_swap, err) < 0 ||
	    engine_field_int(hc, "CpuShares", "HostConfig", &l->cpu_shares, err) < 0 ||
	    engine_field_int(hc, "CpuQuota", "HostConfig", &l->cpu_quota, err) < 0 ||
	    engine_field_int(hc, "CpuPeriod", "HostConfig", &l->cpu_period, err) < 0)
		return -1;
	return 0;
}

static int read_inspect(const struct lo2_json *doc, struct engine_container_info *ci, struct lo2_err *err)
{
	const struct lo2_json *name, *cfg, *state, *ns, *hc, *nets = NULL, *ports = NULL;
	int64_t n = 0;

	if (!lo2_json_is_object(doc))
		return lo2_err_set(err, LO2_E_INVALID, "the answer is not an object");
	if (engine_field_strdup(doc, "Id", true, "the answer", &ci->id, err) < 0 ||
	    engine_field(doc, "Name", ENGINE_J_STR, true, "the answer", &name, err) < 0 ||
	    engine_field_strdup(doc, "Image", false, "the answer", &ci->image_id, err) < 0 ||
	    engine_field_int(doc, "RestartCount", "the answer", &n, err) < 0 ||
	    engine_field(doc, "Config", ENGINE_J_OBJ, false, "the answer", &cfg, err) < 0 ||
	    engine_field(doc, "State", ENGINE_J_OBJ, true, "the answer", &state, err) < 0 ||
	    engine_field(doc, "NetworkSettings", ENGINE_J_OBJ, false, "the answer", &ns, err) < 0 ||
	    engine_field(doc, "HostConfig", ENGINE_J_OBJ, false, "the answer", &hc, err) < 0)
		return -1;
	if (ci->id[0] == '\0')
		return lo2_err_set(err, LO2_E_INVALID, "the answer has an empty Id");
	ci->name = strip_slash(lo2_json_str(name));
	ci->restart_count = (int)n;
	if (read_config(cfg, ci, err) < 0 || read_state(state, ci, err) < 0)
		return -1;
	if (read_log_config(hc, ci, err) < 0 || read_host_limits(hc, ci, err) < 0)
		return -1;
	if (engine_field(ns, "Networks", ENGINE_J_OBJ, false, "NetworkSettings", &nets, err) < 0 ||
	    engine_field(ns, "Ports", ENGINE_J_OBJ, false, "NetworkSettings", &ports, err) < 0)
		return -1;
	return read_networks(nets, ci, err) < 0 ? -1 : read_ports(ports, ci, err);
}

int engine_container_inspect_read(const struct lo2_json *doc, struct engine_container_info *ci,
                                  struct lo2_err *err)
{
	memset(ci, 0, sizeof(*ci));
	if (read_inspect(doc, ci, err) < 0) {
		engine_container_info_free(ci);
		return -1;
	}
	return 0;
}

int engine_container_inspect(struct engine *e, const char *id, struct engine_container_info *ci,
                             struct lo2_err *err)
{
	lo2_autofree char *eid = NULL;
	lo2_autofree char *path = NULL;
	struct ereq r = {0};
	struct lo2_json *doc = NULL;
	int ret;

	memset(ci, 0, sizeof(*ci));
	if (engine_check_ref(id, "inspect container", err) < 0)
		return -1;
	eid = engine_escape(id);
	path = xasprintf("/containers/%s/json", eid);
	r.path = path;
	if (engine_call_json(e, &r, "container inspect", &doc, err, "inspect container %s", id) < 0)
		return -1;
	ret = engine_container_inspect_read(doc, ci, err);
	lo2_json_free(doc);
	return ret < 0 ? lo2_err_prefix(err, "inspect container %s", id) : 0;
}

void engine_container_info_free(struct engine_container_info *ci)
{
	if (ci == NULL)
		return;
	free(ci->id);
	free(ci->name);
	free(ci->image);
	free(ci->image_id);
	free(ci->status);
	free(ci->error);
	free(ci->health);
	free(ci->log_type);
	free(ci->restart_policy);
	free(ci->cgroup_parent);
	lo2_kvv_free(&ci->log_opts);
	lo2_kvv_free(&ci->labels);
	lo2_strv_free(&ci->env);
	for (size_t i = 0; i < ci->n_nets; i++) {
		free(ci->nets[i].network);
		free(ci->nets[i].ip);
		free(ci->nets[i].ipv6);
		lo2_strv_free(&ci->nets[i].aliases);
	}
	free(ci->nets);
	for (size_t i = 0; i < ci->n_ports; i++) {
		free(ci->ports[i].container_port);
		free(ci->ports[i].host_ip);
		free(ci->ports[i].host_port);
	}
	free(ci->ports);
	memset(ci, 0, sizeof(*ci));
}

static int read_summary(const struct lo2_json *c, const char *what, void *slot, struct lo2_err *err)
{
	struct engine_container_summary *s = slot;
	const struct lo2_json *names = NULL;
	const char *name;

	if (!lo2_json_is_object(c))
		return lo2_err_set(err, LO2_E_INVALID, "%s is not an object", what);
	if (engine_field_strdup(c, "Id", true, what, &s->id, err) < 0 ||
	    engine_field(c, "Names", ENGINE_J_ARR, false, what, &names, err) < 0 ||
	    engine_field_strdup(c, "Image", false, what, &s->image, err) < 0 ||
	    engine_field_strdup(c, "State", true, what, &s->state, err) < 0 ||
	    engine_field_strdup(c, "Status", false, what, &s->status, err) < 0 ||
	    engine_field_int(c, "Created", what, &s->created, err) < 0 ||
	    engine_field_kvv(c, "Labels", what, &s->labels, err) < 0)
		return -1;
	if (s->id[0] == '\0')
		return lo2_err_set(err, LO2_E_INVALID, "%s has an empty Id", what);
	name = lo2_json_len(names) > 0 ? lo2_json_str(lo2_json_at(names, 0)) : "";
	if (name == NULL)
		return lo2_err_set(err, LO2_E_INVALID, "%s: Names[0] is not a string", what);
	s->name = strip_slash(name);
	if (s->image == NULL)
		s->image = xstrdup("");
	if (s->status == NULL)
		s->status = xstrdup("");
	return 0;
}

int engine_container_list_read(const struct lo2_json *doc, struct engine_container_list *out,
                               struct lo2_err *err)
{
	memset(out, 0, sizeof(*out));
	if (doc == NULL)
		return lo2_err_set(err, LO2_E_INVALID, "the answer is not an array");
	if (engine_read_entries(doc, sizeof(*out->v), (void **)&out->v, &out->n, read_summary, err) < 0) {
		engine_container_list_free(out);
		return -1;
	}
	return 0;
}

int engine_container_list(struct engine *e, const struct lo2_strv *filters, bool all,
                          struct engine_container_list *out, struct lo2_err *err)
{
	lo2_autofree char *fq = engine_filters_query(filters);
	lo2_autofree char *path = xasprintf("/containers/json?all=%d&%s", all ? 1 : 0, fq);
	struct ereq r = {.path = path};
	struct lo2_json *doc = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	if (engine_call_json(e, &r, "container list", &doc, err, "list containers") < 0)
		return -1;
	ret = engine_container_list_read(doc, out, err);
	lo2_json_free(doc);
	return ret < 0 ? lo2_err_prefix(err, "list containers") : 0;
}

void engine_container_list_free(struct engine_container_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		struct engine_container_summary *s = &l->v[i];

		free(s->id);
		free(s->name);
		free(s->image);
		free(s->state);
		free(s->status);
		lo2_kvv_free(&s->labels);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}
