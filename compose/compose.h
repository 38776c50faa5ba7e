/* compose.h - compose files for lo2: load (YAML, interpolation, validation with
 * file:line:col), plan (project name, container names, compose labels, dependency waves,
 * engine create specs) and deploy (up / down / ps through engine/). */
#ifndef LO2_COMPOSE_H
#define LO2_COMPOSE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/str.h"

struct engine;
struct engine_container_spec;

/* ---- the model (every string owned by the project) ---- */
struct compose_port {
	char *host_ip; /* "" = every address */
	char *published; /* "" = random, "8080", or "8000-8010" (any in range) */
	int target;
	char *protocol; /* tcp, udp, sctp */
	char *mode; /* ingress (default) or host */
};
struct compose_mount {
	char *type; /* bind, volume, tmpfs */
	char *source; /* bind: absolute path; volume: the top-level key; NULL: anonymous */
	char *target;
	bool read_only;
	bool create_host_path; /* bind */
	char *propagation; /* bind, or NULL */
	char *selinux; /* bind: "z", "Z" or NULL */
	bool nocopy; /* volume */
	char *subpath; /* volume, or NULL */
	int64_t tmpfs_size; /* bytes, 0 = unset */
	bool long_syntax;
};
struct compose_svc_net {
	char *key; /* top-level networks key ("default" included) */
	struct lo2_strv aliases;
	char *ipv4_address, *ipv6_address;
	int priority;
};
struct compose_dep {
	char *service;
	char *condition; /* service_started, service_healthy, service_completed_successfully */
	bool required, restart;
	int line, col; /* where the dependency is named */
};
struct compose_healthcheck {
	bool set, disable;
	struct lo2_strv test;
	int64_t interval_ns, timeout_ns, start_period_ns, start_interval_ns; /* -1 = unset */
	int retries; /* -1 = unset */
};
struct compose_ulimit {
	char *name;
	int64_t soft, hard;
};
struct compose_build {
	char *context; /* absolute */
	char *dockerfile;
	struct lo2_kvv args; /* a name alone takes its value from the variables; unset: left out */
	struct lo2_kvv labels;
	char *target, *network;
	int64_t shm_size; /* bytes, 0 = unset */
	struct lo2_strv extra_hosts; /* "host:ip" */
	bool no_cache, pull;
};

/* deploy: what docker compose v2 applies outside Swarm. */
struct compose_deploy {
	bool set;
	int64_t cpus_nano; /* resources.limits.cpus in 1e-9 CPUs; 0 = unset */
	int64_t memory, pids; /* resources.limits; 0 = unset */
	int64_t res_cpus_nano, res_memory; /* resources.reservations; 0 = unset */
	int replicas; /* -1 = unset */
	char *restart_condition; /* restart_policy.condition as written, or NULL */
	int max_attempts; /* restart_policy.max_attempts; -1 = unset */
	bool has_restart_policy;
};

/* A secret or config a service mounts (secrets: and configs:). */
struct compose_svc_secret {
	bool is_config;
	char *source; /* the top-level key */
	char *target; /* absolute path in the container */
	char *uid, *gid; /* NULL = unset */
	int mode; /* permission bits; -1 = unset (0444) */
};

struct compose_service {
	char *name;
	int line, col; /* where the service's key is */
	char *image; /* as written, or NULL with build: (then <project>-<service>) */
	bool has_build;
	struct compose_build build;
	char *container_name;
	bool command_set, entrypoint_set;
	struct lo2_strv command, entrypoint;
	struct lo2_kvv environment; /* value NULL: unset (sent as a bare KEY) */
	struct compose_port *ports;
	size_t n_ports;
	struct lo2_strv expose; /* "80/tcp" */
	struct compose_mount *mounts;
	size_t n_mounts;
	struct compose_svc_net *networks; /* sorted: highest priority first, then by key */
	size_t n_networks;
	char *network_mode; /* NULL, host, none, bridge, container:x, service:x */
	struct compose_dep *deps;
	size_t n_deps;
	struct lo2_strv links; /* "service[:alias]" */
	char *log_driver;
	struct lo2_kvv log_opts;
	char *user, *restart, *working_dir, *hostname, *domainname, *stop_signal, *platform;
	char *pid, *ipc;
	char *runtime, *cgroup_parent, *userns_mode, *cpuset;
	int64_t cpu_shares, cpu_quota, cpu_period, memswap_limit; /* 0 = unset */
	int64_t mem_swappiness, oom_score_adj; /* mem_swappiness -1 = unset; oom_score_adj 0 = unset */
	bool oom_kill_disable;
	struct lo2_strv devices; /* "host[:container[:perms]]" */
	struct lo2_kvv storage_opt;
	struct lo2_strv volumes_from; /* "service[:ro|rw]" or "container:name[:ro|rw]" */
	struct compose_healthcheck healthcheck;
	struct lo2_kvv labels;
	bool privileged, tty, stdin_open, init, read_only;
	struct lo2_strv cap_add, cap_drop, extra_hosts, dns, dns_search, security_opt;
	struct compose_ulimit *ulimits;
	size_t n_ulimits;
	struct lo2_kvv sysctls;
	struct lo2_strv tmpfs;
	int64_t stop_grace_period_ns; /* -1 = unset */
	int64_t shm_size, mem_limit; /* bytes, 0 = unset */
	int64_t mem_reservation; /* bytes, 0 = unset */
	int64_t cpus_nano, pids_limit; /* cpus: in 1e-9 CPUs; 0 = unset */
	struct lo2_strv dns_opt, group_add;
	struct lo2_strv profiles; /* as written; the service runs only when one is active */
	struct compose_deploy deploy;
	struct compose_svc_secret *secrets; /* secrets: and configs:, in file order */
	size_t n_secrets;
	int scale; /* scale:, -1 = unset */
	int replicas; /* containers to run: deploy.replicas, else scale:, else 1 */
	/* filled by compose_plan */
	char *container; /* container name */
	char *config_hash;
	int wave; /* 0 for services with no dependencies */
	struct lo2_kvv plan_labels; /* every label the container gets */
};

struct compose_ipam_pool {
	char *subnet, *ip_range, *gateway; /* NULL = unset */
};
struct compose_network {
	char *key;
	char *name; /* engine name: <project>_<key>, or name:, or the key when external */
	char *driver;
	bool external, internal, attachable, enable_ipv6;
	struct lo2_kvv labels, driver_opts;
	bool used; /* some service joins it */
	char *ipam_driver; /* NULL = default */
	struct compose_ipam_pool *pools; /* ipam.config */
	size_t n_pools;
};
struct compose_volume {
	char *key;
	char *name;
	char *driver;
	bool external;
	struct lo2_kvv labels, driver_opts;
};

/* A top-level secret or config: from a host file, or content lo2 writes for the project (from a
 * variable, or content: written in the file). */
struct compose_secret {
	char *key;
	bool is_config;
	char *file; /* absolute path, or NULL */
	char *environment; /* the variable's name, or NULL */
	char *content; /* environment's value or content:, when file is NULL */
};

struct compose_project {
	char *name;
	char *working_dir; /* absolute folder of the compose file */
	char *config_file; /* absolute path */
	struct compose_service *services; /* in file order */
	size_t n_services;
	struct compose_network *networks; /* "default" is added when some service uses it */
	size_t n_networks;
	struct compose_volume *volumes;
	size_t n_volumes;
	struct compose_secret *secrets; /* secrets: and configs: */
	size_t n_secrets;
	int n_waves; /* set by compose_plan */
};

struct compose_load_opts {
	const char *file; /* the compose file */
	const char *project_name; /* -p, or NULL */
	/* Variables for interpolation; NULL: the process environment over the .env beside the file. */
	const struct lo2_kvv *env;
	/* Variables set over those (a program's own, such as lo2's LO2_OTLP_ENDPOINT); may be NULL. */
	const struct lo2_kvv *extra_env;
	size_t max_nodes; /* YAML expansion cap; 0 = default */
	/* Active profiles (--profile); NULL or empty: COMPOSE_PROFILES from the variables. */
	const struct lo2_strv *profiles;
	/* Services named on the command line: their profiles become active. May be NULL. */
	const struct lo2_strv *services;
	/* Keys that change what runs but lo2 does not implement are warnings, not errors
	 * (--compatibility lenient). */
	bool lenient;
};

/* Loads, interpolates and validates a compose file. Warnings (unknown keys, unset variables)
 * are appended to warnings as "FILE:LINE:COL: ..." (may be NULL). Errors read
 * "FILE:LINE:COL: ...". *out: free with compose_project_free. */
int compose_load(const struct compose_load_opts *o, struct compose_project **out, struct lo2_strv *warnings,
                 struct lo2_err *err);
/* The same from text in memory; o->file names it in messages and anchors relative paths. */
int compose_load_text(const char *text, size_t len, const struct compose_load_opts *o,
                      struct compose_project **out, struct lo2_strv *warnings, struct lo2_err *err);
void compose_project_free(struct compose_project *p);

const struct compose_service *compose_service_find(const struct compose_project *p, const char *name);
bool compose_service_has_healthcheck(const struct compose_service *s);

/* ---- plan ---- */
/* Fills container names, labels, config hashes and dependency waves (a cycle is an error). */
int compose_plan(struct compose_project *p, struct lo2_err *err);
/* The engine create spec of a planned service (free with engine_container_spec_free). */
int compose_service_spec(const struct compose_project *p, const struct compose_service *s,
                         struct engine_container_spec *out, struct lo2_err *err);
/* The same for replica number (1-based): <project>-<service>-<number>, its container-number
 * label and network alias. */
int compose_service_replica_spec(const struct compose_project *p, const struct compose_service *s, int number,
                                 struct engine_container_spec *out, struct lo2_err *err);
/* The container name of replica number (caller frees). */
char *compose_replica_name(const struct compose_project *p, const struct compose_service *s, int number);
/* The normalised model as JSON (pretty when indent != NULL; caller frees). */
char *compose_project_json(const struct compose_project *p, const char *indent);

/* The folder where up writes the project's environment:/content: secrets and configs, one
 * file per service and secret, and down removes (caller frees). */
char *compose_secrets_dir(const char *project);
/* The host file a service's secret or config is bind-mounted from (caller frees). */
char *compose_secret_host_path(const struct compose_project *p, const struct compose_service *s,
                               const struct compose_svc_secret *ss);
/* Writes the environment:/content: secrets and configs of s (mode, uid, gid applied; what the
 * host refuses goes to warnings). */
int compose_secrets_write(const struct compose_project *p, const struct compose_service *s,
                          struct lo2_strv *warnings, struct lo2_err *err);
/* Removes what compose_secrets_write wrote for the project (nothing else). */
void compose_secrets_remove(const char *project);
const struct compose_secret *compose_secret_find(const struct compose_project *p, bool is_config,
                                                 const char *key);

/* ---- deploy ---- */
struct compose_up_opts {
	bool force_recreate, no_build, wait;
	int timeout_s; /* waits on dependencies and --wait; 0 = none */
	const struct lo2_strv *services; /* NULL or empty: all (with their dependencies) */
	bool quiet; /* no progress lines */
	/* When it becomes true, up stops (LO2_E_CANCELLED) at its next step or wait. */
	const atomic_bool *cancel;
	/* Containers of services without a logging: section get json-file logs that never rotate. */
	bool unrotated_logs;
	/* Each line of a build's or pull's progress stream (NULL: none); the library never prints. */
	void (*stream)(void *user, const char *line);
	void *stream_user;
};
/* Creates networks and volumes, pulls missing images, creates and starts containers wave by
 * wave (a wave's services in parallel). Progress lines go to stderr unless quiet. */
int compose_up(struct engine *e, const struct compose_project *p, const struct compose_up_opts *o,
               struct lo2_err *err);
struct compose_down_opts {
	bool volumes;
	int timeout_s; /* < 0: each container's StopTimeout */
	bool quiet;
};
/* Stops and removes the project's containers (found by label), its networks, and with
 * volumes its named volumes. p may hold only a name when the file is gone. */
int compose_down(struct engine *e, const struct compose_project *p, const struct compose_down_opts *o,
                 struct lo2_err *err);
struct compose_ps_row {
	char *name, *service, *state, *health, *ports, *id;
};
struct compose_ps {
	struct compose_ps_row *v;
	size_t n;
};
/* The project's containers (found by label), sorted by name. */
int compose_ps(struct engine *e, const char *project, struct compose_ps *out, struct lo2_err *err);
void compose_ps_free(struct compose_ps *ps);

#endif
