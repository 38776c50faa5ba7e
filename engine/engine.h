/* engine.h - lo2's Docker Engine API client: transport (unix socket, tcp, tcp+TLS via
 * DOCKER_HOST), API version negotiation, containers, networks, volumes, images, logs
 * (with the stream demultiplexer), events and stats. Thread-safe: one struct engine may be
 * used from several threads at once (each request takes a pooled connection).
 * Every function returns 0 or -1 and fills err with "<operation> <object>: <status>: <engine's message>". */
#ifndef LO2_ENGINE_H
#define LO2_ENGINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/sink.h"
#include "common/str.h"

/* API versions lo2 speaks: it never goes below MIN, and never above MAX. */
#define ENGINE_API_MIN_MINOR 41
#define ENGINE_API_MAX_MINOR 47

struct engine;

/* ---- endpoint (DOCKER_HOST as the docker CLI reads it) ---- */
struct engine_endpoint {
	char *unix_path; /* set for unix:// */
	char *base_url; /* "http://localhost" for a socket, "http(s)://host:port" for tcp */
	bool tls;
	bool tls_verify;
	char *ca_file, *cert_file, *key_file; /* set with tls when the files exist */
	char *display; /* what messages call it: "unix:///var/run/docker.sock" */
	bool cleartext; /* plain HTTP over TCP to a host that is not a loopback address */
};
/* Parses docker_host (NULL or "": the default socket) with the TLS settings the CLI reads
 * (tls_verify: DOCKER_TLS_VERIFY, tls: DOCKER_TLS, cert_path: DOCKER_CERT_PATH; each may be NULL). */
int engine_endpoint_parse(const char *docker_host, const char *tls_verify, const char *tls,
                          const char *cert_path, struct engine_endpoint *out, struct lo2_err *err);
void engine_endpoint_free(struct engine_endpoint *ep);

/* Connects to docker_host (NULL: $DOCKER_HOST, else the default socket; TLS from the environment),
 * pings, reads /version and negotiates the API version ($DOCKER_API_VERSION pins it). Free with
 * engine_free. A wrapper of engine_open_endpoint over the environment's settings. */
int engine_open(const char *docker_host, struct engine **out, struct lo2_err *err);
/* An engine named explicitly, as a docker context holds it: nothing is read from the
 * environment, so several engines can be open at once in one process. */
struct engine_open_opts {
	const char
	    *host; /* as DOCKER_HOST spells it: unix:///path, tcp://host[:port]; NULL: default socket */
	bool tls; /* TLS on tcp:// even without files (also on when any file is given) */
	/* TLS material (PEM files; each may be NULL): a CA turns on verification of the engine;
	 * a client certificate needs its key */
	const char *ca_file, *cert_file, *key_file;
	const char *api_version; /* "1.NN" pins the API version; NULL: negotiate */
};
/* The endpoint o names (files checked: present and readable). */
int engine_endpoint_parse_explicit(const struct engine_open_opts *o, struct engine_endpoint *out,
                                   struct lo2_err *err);
/* engine_open for an explicit endpoint: no environment variable is read. */
int engine_open_endpoint(const struct engine_open_opts *o, struct engine **out, struct lo2_err *err);
void engine_free(struct engine *e);
const char *engine_api_version(const struct engine *e); /* negotiated, e.g. "1.41" */
bool engine_api_at_least(const struct engine *e, int minor); /* negotiated >= 1.<minor> */
const char *engine_display(const struct engine *e); /* e.g. "unix:///var/run/docker.sock" */
/* From now on, every request that has no cancel flag of its own ends (LO2_E_CANCELLED) within
 * about 50 ms of *cancel becoming true; NULL removes it. For a phase of work that a signal must
 * be able to cut short (a deploy); clear it before the work that must run anyway (teardown). */
void engine_set_cancel(struct engine *e, const atomic_bool *cancel);
/* True when the engine is reached over TCP without TLS and not on a loopback address: the API
 * (and anything it carries, such as environment variables) crosses the network in cleartext.
 * lo2 keeps docker's behaviour and connects; the CLI warns. */
bool engine_is_cleartext(const struct engine *e);

struct engine_version_info {
	char version[64];
	char api_version[16];
	char min_api_version[16];
	char os[32];
	char arch[32];
	char kernel[128];
};
/* The engine's /version as read at engine_open. */
const struct engine_version_info *engine_version(const struct engine *e);
int engine_ping(struct engine *e, struct lo2_err *err);

struct engine_info {
	char driver[64]; /* storage driver */
	char cgroup_version[8];
	int64_t system_time_ns; /* the engine's clock */
	int ncpu;
	int64_t mem_total;
	char cgroup_driver[16]; /* cgroupfs or systemd */
};
int engine_info(struct engine *e, struct engine_info *out, struct lo2_err *err);
/* The engine's clock minus lo2's, in ns: 0 for an engine on a unix socket (the same kernel's
 * clock), else measured from /info (the shortest of three round trips). */
int engine_clock_offset(struct engine *e, int64_t *offset_ns, struct lo2_err *err);

/* ---- filters: each entry "key=value", split at the first '=' ("label=a.b=c") ---- */
/* The JSON map[string][]string the API wants (caller frees). */
char *engine_filters_json(const struct lo2_strv *filters);

/* ---- containers ---- */
struct engine_mount {
	char *type; /* "bind", "volume", "tmpfs" */
	char *source;
	char *target;
	bool read_only;
	bool create_mountpoint; /* bind: BindOptions.CreateMountpoint */
	bool no_copy; /* volume: VolumeOptions.NoCopy */
	int64_t tmpfs_size; /* bytes, 0 = unset */
};
struct engine_port {
	char *container_port; /* "80/tcp", "6831/udp" */
	char *host_ip; /* "" = every address */
	char *host_port; /* "" = random, "8000-8010" = any in range */
};
struct engine_ulimit {
	char *name;
	int64_t soft, hard;
};
struct engine_endpoint_cfg {
	char *network;
	struct lo2_strv aliases;
	struct lo2_strv links;
	char *ipv4_address, *ipv6_address;
};
struct engine_healthcheck {
	bool set; /* false: inherit from the image (Healthcheck omitted) */
	struct lo2_strv test; /* ["CMD", ...], ["CMD-SHELL", "..."], ["NONE"] */
	int64_t interval_ns, timeout_ns, start_period_ns, start_interval_ns;
	int retries;
};
struct engine_container_spec {
	char *name; /* ?name= */
	char *platform; /* ?platform= */
	char *image;
	bool cmd_set;
	struct lo2_strv cmd;
	bool entrypoint_set; /* set with no entries clears the image's entrypoint */
	struct lo2_strv entrypoint;
	struct lo2_strv env; /* "K=V" */
	char *user, *working_dir, *hostname, *domainname;
	struct lo2_kvv labels;
	struct lo2_strv exposed_ports; /* "80/tcp" */
	struct engine_healthcheck healthcheck;
	bool tty, open_stdin;
	char *stop_signal;
	int stop_timeout; /* seconds; -1 = unset */
	/* HostConfig */
	struct lo2_strv binds;
	struct engine_mount *mounts;
	size_t n_mounts;
	struct engine_port *ports;
	size_t n_ports;
	char *network_mode;
	char *restart_policy; /* "", "no", "always", "unless-stopped", "on-failure" */
	int restart_max_retries;
	char *log_driver;
	struct lo2_kvv log_opts;
	struct lo2_strv links, cap_add, cap_drop, extra_hosts, dns, dns_search, dns_options, security_opt,
	    group_add;
	struct engine_ulimit *ulimits;
	size_t n_ulimits;
	struct lo2_kvv tmpfs, sysctls;
	bool privileged, init, read_only, auto_remove;
	int64_t memory, nano_cpus, pids_limit, shm_size; /* 0 = unset */
	int64_t memory_reservation; /* bytes; 0 = unset */
	char *pid_mode, *ipc_mode;
	char *runtime, *cgroup_parent, *userns_mode; /* NULL = the daemon's default */
	char *cpuset_cpus; /* "0-3", NULL = unset */
	int64_t cpu_shares, cpu_quota, cpu_period, memory_swap; /* 0 = unset (memory_swap -1: unlimited) */
	int mem_swappiness; /* sent when mem_swappiness_set */
	bool mem_swappiness_set, oom_kill_disable;
	int oom_score_adj; /* 0 = unset */
	struct lo2_strv devices; /* "host[:container[:perms]]" */
	struct lo2_kvv storage_opt;
	struct lo2_strv volumes_from; /* "container[:ro|:rw]" */
	/* NetworkingConfig: the first is the primary (joined at create); from API 1.44 all are
	 * sent at create, below it the others are connected after create. */
	struct engine_endpoint_cfg *networks;
	size_t n_networks;
};
void engine_container_spec_free(struct engine_container_spec *s);
/* The create body for API 1.<minor> (caller frees). */
char *engine_container_spec_json(const struct engine_container_spec *s, int api_minor);

/* Creates (and, below API 1.44, connects the secondary networks). *id_out: caller frees. */
int engine_container_create(struct engine *e, const struct engine_container_spec *s, char **id_out,
                            struct lo2_err *err);
/* An already running container counts as started. */
int engine_container_start(struct engine *e, const char *id, struct lo2_err *err);
/* timeout_s < 0: the container's StopTimeout. An already stopped container counts as stopped. */
int engine_container_stop(struct engine *e, const char *id, int timeout_s, struct lo2_err *err);
int engine_container_restart(struct engine *e, const char *id, int timeout_s, struct lo2_err *err);
int engine_container_kill(struct engine *e, const char *id, const char *signal, struct lo2_err *err);
int engine_container_remove(struct engine *e, const char *id, bool force, bool volumes, struct lo2_err *err);
int engine_container_pause(struct engine *e, const char *id, struct lo2_err *err);
int engine_container_unpause(struct engine *e, const char *id, struct lo2_err *err);
int engine_container_rename(struct engine *e, const char *id, const char *name, struct lo2_err *err);
/* Blocks until condition ("not-running", "next-exit", "removed"; NULL = not-running); no timeout
 * unless cancel becomes true. */
int engine_container_wait(struct engine *e, const char *id, const char *condition, const atomic_bool *cancel,
                          int64_t *exit_code, struct lo2_err *err);

struct engine_resources {
	int64_t nano_cpus, memory, memory_swap, pids_limit, cpu_shares; /* 0 = unchanged */
	int64_t cpu_quota, cpu_period; /* 0 = unchanged; cpu_quota -1 = no quota */
};
int engine_container_update(struct engine *e, const char *id, const struct engine_resources *r,
                            struct lo2_err *err);

struct engine_net_addr {
	char *network;
	char *ip;
	char *ipv6;
	struct lo2_strv aliases;
};
struct engine_published {
	char *container_port; /* "80/tcp" */
	char *host_ip;
	char *host_port;
};
struct engine_container_info {
	char *id;
	char *name; /* without the leading '/' */
	char *image; /* Config.Image, as asked for */
	char *image_id; /* Image */
	char *status; /* created|running|paused|restarting|removing|exited|dead */
	bool running, paused, restarting, oom_killed, dead, tty;
	int pid;
	int64_t exit_code;
	char *error;
	int64_t started_ns, finished_ns; /* 0 for the zero time */
	char *health; /* starting|healthy|unhealthy, NULL without a healthcheck */
	int restart_count;
	char *restart_policy; /* HostConfig.RestartPolicy.Name ("" or "no": none) */
	char *cgroup_parent; /* HostConfig.CgroupParent ("" : the engine's default) */
	struct engine_resources limits; /* HostConfig's as the engine holds them (0: unset) */
	char *log_type; /* HostConfig.LogConfig: the driver ("json-file", "local", ...) */
	struct lo2_kvv log_opts; /* and its options as the engine applied them (max-size, ...) */
	struct lo2_kvv labels;
	struct lo2_strv env;
	struct engine_net_addr *nets;
	size_t n_nets;
	struct engine_published *ports;
	size_t n_ports;
};
int engine_container_inspect(struct engine *e, const char *id, struct engine_container_info *out,
                             struct lo2_err *err);
void engine_container_info_free(struct engine_container_info *ci);

struct engine_container_summary {
	char *id;
	char *name; /* first name, without '/' */
	char *image;
	char *state; /* running, exited, ... */
	char *status; /* "Up 3 minutes (healthy)" */
	int64_t created;
	struct lo2_kvv labels;
};
struct engine_container_list {
	struct engine_container_summary *v;
	size_t n;
};
/* filters as engine_filters_json; all: include stopped containers. */
int engine_container_list(struct engine *e, const struct lo2_strv *filters, bool all,
                          struct engine_container_list *out, struct lo2_err *err);
void engine_container_list_free(struct engine_container_list *l);

/* ---- logs ---- */
enum engine_stream { ENGINE_STDIN = 0, ENGINE_STDOUT = 1, ENGINE_STDERR = 2, ENGINE_SYSERR = 3 };

/* Receives a log payload piece: stream is ENGINE_STDOUT/ENGINE_STDERR (ENGINE_STDIN is
 * reported as stdout); frame_start is true on a frame's first piece, frame_end on its last
 * (a frame larger than any buffer arrives in pieces). In a raw (TTY) stream there are no
 * frames: every piece has stream stdout and both flags false. Return -1 with err set to stop. */
typedef int (*engine_data_fn)(void *user, int stream, const char *p, size_t n, bool frame_start,
                              bool frame_end, struct lo2_err *err);

/* The incremental demultiplexer of the 8-byte-header log stream (or pass-through for TTY).
 * Type-3 frames (the engine's errors after the 200) become an error, never log text. */
struct engine_demux;
struct engine_demux *engine_demux_new(bool tty, engine_data_fn fn, void *user);
int engine_demux_feed(struct engine_demux *d, const char *p, size_t n, struct lo2_err *err);
/* Ends the stream: an error when it stopped inside a frame (truncated). */
int engine_demux_finish(struct engine_demux *d, struct lo2_err *err);
void engine_demux_free(struct engine_demux *d);

struct engine_logs_opts {
	int64_t since_ns; /* 0 = from the start; inclusive, as the engine */
	int64_t until_ns; /* 0 = no bound; inclusive */
	bool timestamps;
	bool follow;
	bool no_stdout, no_stderr;
	const char *tail; /* NULL = all */
	const atomic_bool *cancel; /* stops a (follow) stream when it becomes true; may be NULL */
};
/* Streams a container's logs to fn, demultiplexed unless the container has a TTY
 * (decided by inspect, so it is right below API 1.42 too). A cancelled stream returns -1 with LO2_E_CANCELLED. */
int engine_container_logs(struct engine *e, const char *id, const struct engine_logs_opts *o,
                          engine_data_fn fn, void *user, struct lo2_err *err);
/* The same, with every payload byte (stdout and stderr, in stream order) written to sink.
 * The sink is neither committed nor aborted. */
int engine_container_logs_to_sink(struct engine *e, const char *id, const struct engine_logs_opts *o,
                                  struct lo2_sink *sink, struct lo2_err *err);

/* ---- events ---- */
struct engine_event {
	const char *type; /* container, network, image, ... */
	const char *action; /* die, oom, health_status: healthy, ... */
	const char *id; /* Actor.ID */
	const char *name; /* Actor.Attributes.name, or NULL */
	int64_t time_ns;
	const struct lo2_kvv *attrs; /* Actor.Attributes */
};
/* Return non-zero to stop the stream (engine_events then returns 0). */
typedef int (*engine_event_fn)(void *user, const struct engine_event *ev);
struct engine_events_opts {
	int64_t since_ns, until_ns; /* 0 = unset */
	const struct lo2_strv *filters;
	const atomic_bool *cancel;
};
int engine_events(struct engine *e, const struct engine_events_opts *o, engine_event_fn fn, void *user,
                  struct lo2_err *err);

/* ---- stats (one shot) ---- */
struct engine_stats {
	int64_t read_ns;
	uint64_t cpu_total_ns, cpu_system_host_ns;
	unsigned online_cpus;
	uint64_t mem_usage, mem_limit; /* usage less inactive file cache, as docker stats shows */
	uint64_t net_rx, net_tx, blk_read, blk_write, pids;
	uint64_t throttled_periods, throttled_ns; /* CFS periods the quota throttled, and for how long */
};
int engine_container_stats(struct engine *e, const char *id, struct engine_stats *out, struct lo2_err *err);
/* Parses one stats JSON object (exposed for tests). */
int engine_stats_parse(const char *json, struct engine_stats *out, struct lo2_err *err);

/* ---- stats (streamed, every figure) ----
 * One sample of GET /containers/{id}/stats, with the figures of both cgroup versions mapped to
 * one set (see README "Per-container metrics" for every field's source). */
enum engine_stat {
	ENGINE_STAT_CPU_TOTAL_NS, /* cpu_stats.cpu_usage.total_usage */
	ENGINE_STAT_CPU_USER_NS, /* .usage_in_usermode */
	ENGINE_STAT_CPU_KERNEL_NS, /* .usage_in_kernelmode */
	ENGINE_STAT_CPU_PERIODS, /* cpu_stats.throttling_data.periods */
	ENGINE_STAT_CPU_THROTTLED_PERIODS, /* .throttled_periods */
	ENGINE_STAT_CPU_THROTTLED_NS, /* .throttled_time */
	ENGINE_STAT_MEM_USAGE, /* memory_stats.usage */
	ENGINE_STAT_MEM_WORKING_SET, /* usage less inactive file (v1 total_inactive_file, v2 inactive_file), >= 0 */
	ENGINE_STAT_MEM_RSS, /* v1 stats.total_rss, v2 stats.anon */
	ENGINE_STAT_MEM_CACHE, /* v1 stats.total_cache, v2 stats.file */
	ENGINE_STAT_MEM_LIMIT, /* memory_stats.limit */
	ENGINE_STAT_MEM_FAILCNT, /* memory_stats.failcnt (v1 only) */
	ENGINE_STAT_PIDS, /* pids_stats.current */
	ENGINE_STAT_N
};
#define ENGINE_STATS_MAX_NETS 16
#define ENGINE_STATS_MAX_DEVS 16
enum engine_stat_net {
	ENGINE_NET_RX_BYTES,
	ENGINE_NET_RX_PACKETS,
	ENGINE_NET_RX_ERRORS,
	ENGINE_NET_RX_DROPPED,
	ENGINE_NET_TX_BYTES,
	ENGINE_NET_TX_PACKETS,
	ENGINE_NET_TX_ERRORS,
	ENGINE_NET_TX_DROPPED,
	ENGINE_NET_N
};
enum engine_stat_dev {
	ENGINE_DEV_READ_BYTES,
	ENGINE_DEV_WRITE_BYTES,
	ENGINE_DEV_READS,
	ENGINE_DEV_WRITES,
	ENGINE_DEV_N
};
struct engine_stats_sample {
	int64_t read_ns; /* when the engine read it; 0: the container was not running (an empty sample) */
	bool cgroup_v2; /* memory_stats.stats in the cgroup v2 shape */
	uint64_t v[ENGINE_STAT_N];
	uint32_t have; /* bit i: v[i] was in the sample */
	struct {
		char name[32];
		uint64_t v[ENGINE_NET_N];
	} nets[ENGINE_STATS_MAX_NETS]; /* per interface, in the engine's order */
	size_t n_nets;
	struct {
		unsigned major, minor;
		uint64_t v[ENGINE_DEV_N];
		uint32_t have; /* bit i: v[i] was in the sample */
	} devs[ENGINE_STATS_MAX_DEVS]; /* per block device (blkio_stats *_recursive, summed by op) */
	size_t n_devs;
};
/* Reads one stats object (text of n bytes) into *out. A value of the wrong type or a sample that
 * is no object is an error naming the field ("memory_stats: usage is not an integer"); interfaces
 * or devices beyond the caps are left out. */
int engine_stats_sample_parse(const char *json, size_t n, struct engine_stats_sample *out,
                              struct lo2_err *err);
/* Receives each sample of a stats stream; sample NULL and bad set: a line the engine sent that is
 * no stats sample (the stream goes on). Return non-zero to end the stream (the call returns 0). */
typedef int (*engine_stats_fn)(void *user, const struct engine_stats_sample *sample,
                               const struct lo2_err *bad);
/* Streams GET /containers/{id}/stats (about one sample a second, empty ones while the container
 * is not running; the stream survives restarts and ends when the container is removed) until fn
 * asks to stop (0), the stream ends (0), cancel becomes true (-1, LO2_E_CANCELLED) or it fails. */
int engine_container_stats_stream(struct engine *e, const char *id, const atomic_bool *cancel,
                                  engine_stats_fn fn, void *user, struct lo2_err *err);

/* ---- networks ---- */
struct engine_ipam_pool {
	char *subnet, *ip_range, *gateway;
};
struct engine_network_spec {
	char *name;
	char *driver; /* NULL = bridge */
	bool internal, attachable, enable_ipv6;
	struct lo2_kvv labels, options;
	char *ipam_driver;
	struct engine_ipam_pool *pools;
	size_t n_pools;
};
void engine_network_spec_free(struct engine_network_spec *s);
int engine_network_create(struct engine *e, const struct engine_network_spec *s, char **id_out,
                          struct lo2_err *err);
struct engine_network_info {
	char *id, *name, *driver;
	bool internal;
	struct lo2_kvv labels;
	struct lo2_strv containers; /* ids of attached containers */
	char *gateway; /* the IPAM gateway (the host's address on the network; IPv4 first), or NULL */
};
int engine_network_inspect(struct engine *e, const char *name, struct engine_network_info *out,
                           struct lo2_err *err);
void engine_network_info_free(struct engine_network_info *n);
struct engine_network_list {
	struct engine_network_info *v;
	size_t n;
};
int engine_network_list(struct engine *e, const struct lo2_strv *filters, struct engine_network_list *out,
                        struct lo2_err *err);
void engine_network_list_free(struct engine_network_list *l);
/* cfg may be NULL (no aliases). */
int engine_network_connect(struct engine *e, const char *network, const char *container,
                           const struct engine_endpoint_cfg *cfg, struct lo2_err *err);
int engine_network_disconnect(struct engine *e, const char *network, const char *container, bool force,
                              struct lo2_err *err);
int engine_network_remove(struct engine *e, const char *name, struct lo2_err *err);

/* ---- volumes ---- */
struct engine_volume_spec {
	char *name;
	char *driver; /* NULL = local */
	struct lo2_kvv labels, driver_opts;
};
int engine_volume_create(struct engine *e, const struct engine_volume_spec *s, struct lo2_err *err);
struct engine_volume_info {
	char *name, *driver, *mountpoint;
	struct lo2_kvv labels;
};
int engine_volume_inspect(struct engine *e, const char *name, struct engine_volume_info *out,
                          struct lo2_err *err);
void engine_volume_info_free(struct engine_volume_info *v);
struct engine_volume_list {
	struct engine_volume_info *v;
	size_t n;
};
int engine_volume_list(struct engine *e, const struct lo2_strv *filters, struct engine_volume_list *out,
                       struct lo2_err *err);
void engine_volume_list_free(struct engine_volume_list *l);
int engine_volume_remove(struct engine *e, const char *name, bool force, struct lo2_err *err);

/* ---- images ---- */
struct engine_image_info {
	char *id;
	struct lo2_strv tags;
	/* RepoDigests: "repo@sha256:..." per registry repository the image was pulled from or pushed
	 * to (the manifest digest a registry serves: pulling it gives the same bytes); empty for an
	 * image only built or imported here. */
	struct lo2_strv repo_digests;
	struct lo2_kvv labels;
	int64_t size;
	char *created;
};
int engine_image_inspect(struct engine *e, const char *ref, struct engine_image_info *out,
                         struct lo2_err *err);
void engine_image_info_free(struct engine_image_info *i);
/* The RepoDigests entry of info for ref's repository ("nginx:1.27" matches "nginx@sha256:..."
 * and "docker.io/library/nginx@sha256:..."), or NULL when the image has none from there
 * (caller frees). Deploying that reference gives the same bytes on any engine. */
char *engine_image_repo_digest(const struct engine_image_info *info, const char *ref);
/* Receives one human-readable progress line (no newline). */
typedef void (*engine_progress_fn)(void *user, const char *line);
/* Reads up to n bytes of an upload; returns the count, 0 at the end, -1 on error (err set). */
typedef ssize_t (*engine_read_fn)(void *user, char *buf, size_t n, struct lo2_err *err);
/* Pulls ref ("nginx", "nginx:1.27", "reg:5000/x/y@sha256:..."); errors inside the stream fail it.
 * Sends the registry credentials the docker CLI would (engine/auth.h; engine_set_docker_config);
 * a credential problem is reported as a "warning: ..." progress line and the pull goes on without
 * credentials. Failures are named: unauthorized (with where credentials were or were not found),
 * not found, rate limited (toomanyrequests), TLS of an insecure registry. */
int engine_image_pull(struct engine *e, const char *ref, const char *platform, engine_progress_fn progress,
                      void *user, struct lo2_err *err);

/* The progress of one pull, summed over its layers. */
struct engine_pull_state {
	const char *ref;
	const char *status; /* the engine's latest status ("Downloading", "Pull complete", ...) */
	int layers_total, layers_done; /* layers seen; those present (pulled, or already there) */
	int layers_existing; /* of layers_done: already there before the pull (not downloaded) */
	int64_t bytes_done, bytes_total; /* download bytes of the layers whose size was reported */
	const char *digest; /* "sha256:..." once the engine reported it, else NULL */
};
typedef void (*engine_pull_fn)(void *user, const struct engine_pull_state *st);
struct engine_pull_opts {
	const char *platform; /* NULL: the engine's */
	engine_progress_fn line; /* each progress line (and credential warnings); may be NULL */
	engine_pull_fn state; /* the summed state after each progress message; may be NULL */
	void *user; /* for both */
};
/* engine_image_pull with the summed per-layer state as it goes (o may be NULL). */
int engine_image_pull_with(struct engine *e, const char *ref, const struct engine_pull_opts *o,
                           struct lo2_err *err);
/* Registry credentials for this engine's pulls and builds come from the docker config folder dir
 * (dir/config.json) instead of the environment's ($DOCKER_CONFIG, else ~/.docker; with
 * DOCKER_AUTH_CONFIG). NULL or "" restores the environment's. Call before sharing e between threads. */
int engine_set_docker_config(struct engine *e, const char *dir, struct lo2_err *err);
/* Imports a rootfs tar read from rd as ref ("repo:tag"); changes are Dockerfile lines ("CMD [\"sh\"]"). */
int engine_image_import(struct engine *e, engine_read_fn rd, void *rd_user, const char *ref,
                        const struct lo2_strv *changes, engine_progress_fn progress, void *user,
                        char **id_out, struct lo2_err *err);
struct engine_build_opts {
	const char *tag; /* "name:tag" */
	const char *dockerfile; /* NULL = Dockerfile */
	const struct lo2_kvv *build_args;
	const struct lo2_kvv *labels;
	bool no_cache;
	bool pull; /* pull newer FROM images */
	const char *target; /* the stage to build, or NULL */
	const char *network_mode; /* RUN steps' network, or NULL */
	int64_t shm_size; /* bytes; 0 = the default */
	const struct lo2_strv *extra_hosts; /* "host:ip" */
};
/* Builds from a tar context read from rd (classic builder; the engine pulls a missing FROM image
 * itself, with the registry credentials the docker CLI would send: X-Registry-Config). */
int engine_image_build(struct engine *e, engine_read_fn rd, void *rd_user, const struct engine_build_opts *o,
                       engine_progress_fn progress, void *user, char **id_out, struct lo2_err *err);
/* Builds the folder ctx (the one build path of `lo2 image build` and compose's build:): its
 * .dockerignore applies; o->dockerfile is absolute or relative to ctx (NULL: ctx/Dockerfile), and
 * one outside ctx is sent under a name of its own, as docker does. */
int engine_image_build_dir(struct engine *e, const char *ctx, const struct engine_build_opts *o,
                           engine_progress_fn progress, void *user, char **id_out, struct lo2_err *err);
int engine_image_remove(struct engine *e, const char *ref, bool force, struct lo2_err *err);
/* Exports images (with their tags) as the tar `docker save` writes, streamed into sink (neither
 * committed nor aborted here). */
int engine_image_save(struct engine *e, const struct lo2_strv *refs, struct lo2_sink *sink,
                      struct lo2_err *err);
/* Loads a tar of engine_image_save (or `docker save`) read from rd; progress gets the engine's
 * lines ("Loaded image: ..."); an error inside the stream fails it. */
int engine_image_load(struct engine *e, engine_read_fn rd, void *rd_user, engine_progress_fn progress,
                      void *user, struct lo2_err *err);
/* An engine_read_fn over a file descriptor (user is a pointer to the int fd). */
ssize_t engine_read_fd(void *user, char *buf, size_t n, struct lo2_err *err);

#endif
