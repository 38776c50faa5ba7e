/* stats.c - container stats: the one-shot call reduced to the figures docker stats shows, and
 * the streamed samples with every figure of cgroup v1 and v2 mapped to one set (validated: a
 * field of the wrong type is a named error). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/mem.h"
#include "engine/internal.h"

static uint64_t u64(const struct lo2_json *v)
{
	int64_t n = 0;

	return lo2_json_int(v, &n) && n > 0 ? (uint64_t)n : 0;
}

static uint64_t mem_usage(const struct lo2_json *mem)
{
	const struct lo2_json *st = lo2_json_get(mem, "stats");
	uint64_t usage = u64(lo2_json_get(mem, "usage"));
	const struct lo2_json *v1 = lo2_json_get(st, "total_inactive_file");
	const struct lo2_json *v2 = lo2_json_get(st, "inactive_file");
	uint64_t inactive = v1 ? u64(v1) : u64(v2);

	/* As docker stats: usage less the inactive file cache (v1 total_inactive_file, v2 inactive_file). */
	return (v1 || v2) && inactive < usage ? usage - inactive : usage;
}

static void blkio(const struct lo2_json *list, struct engine_stats *out)
{
	for (size_t i = 0; i < lo2_json_len(list); i++) {
		const struct lo2_json *ent = lo2_json_at(list, i);
		const char *op = lo2_json_str(lo2_json_get(ent, "op"));

		if (op == NULL)
			continue;
		if (op[0] == 'r' || op[0] == 'R')
			out->blk_read += u64(lo2_json_get(ent, "value"));
		else if (op[0] == 'w' || op[0] == 'W')
			out->blk_write += u64(lo2_json_get(ent, "value"));
	}
}

int engine_stats_parse(const char *json, struct engine_stats *out, struct lo2_err *err)
{
	struct lo2_json *doc = NULL;
	const struct lo2_json *cpu, *nets;

	memset(out, 0, sizeof(*out));
	if (lo2_json_parse(json, "container stats", &doc, err) < 0)
		return -1;
	out->read_ns = engine_parse_time(lo2_json_str(lo2_json_get(doc, "read")));
	cpu = lo2_json_get(doc, "cpu_stats");
	out->cpu_total_ns = u64(lo2_json_path(cpu, "cpu_usage", "total_usage", NULL));
	out->cpu_system_host_ns = u64(lo2_json_get(cpu, "system_cpu_usage"));
	out->online_cpus = (unsigned)u64(lo2_json_get(cpu, "online_cpus"));
	out->throttled_periods = u64(lo2_json_path(cpu, "throttling_data", "throttled_periods", NULL));
	out->throttled_ns = u64(lo2_json_path(cpu, "throttling_data", "throttled_time", NULL));
	if (out->online_cpus == 0)
		out->online_cpus =
		    (unsigned)lo2_json_len(lo2_json_path(cpu, "cpu_usage", "percpu_usage", NULL));
	out->mem_usage = mem_usage(lo2_json_get(doc, "memory_stats"));
	out->mem_limit = u64(lo2_json_path(doc, "memory_stats", "limit", NULL));
	nets = lo2_json_get(doc, "networks");
	for (size_t i = 0; i < lo2_json_len(nets); i++) {
		out->net_rx += u64(lo2_json_get(lo2_json_val_at(nets, i), "rx_bytes"));
		out->net_tx += u64(lo2_json_get(lo2_json_val_at(nets, i), "tx_bytes"));
	}
	blkio(lo2_json_path(doc, "blkio_stats", "io_service_bytes_recursive", NULL), out);
	out->pids = u64(lo2_json_path(doc, "pids_stats", "current", NULL));
	lo2_json_free(doc);
	return 0;
}

int engine_container_stats(struct engine *e, const char *id, struct engine_stats *out, struct lo2_err *err)
{
	lo2_autofree char *eid = engine_escape(id);
	lo2_autofree char *path = xasprintf("/containers/%s/stats?stream=0&one-shot=1", eid);
	struct ereq r = {.path = path};
	struct eresp resp;
	int ret = -1;

	if (engine_call(e, &r, &resp, err, "read stats of container %s", id) < 0)
		goto out;
	if (engine_stats_parse(resp.body.data ? resp.body.data : "", out, err) < 0) {
		lo2_err_prefix(err, "read stats of container %s", id);
		goto out;
	}
	ret = 0;
out:
	eresp_free(&resp);
	return ret;
}

/* ---- streamed samples ---- */

/* An optional counter or gauge: absent leaves *have false; anything but a non-negative number
 * is an error. Numbers beyond int64 (yajl reads them as doubles) are taken as doubles. */
static int field_u64(const struct lo2_json *obj, const char *key, const char *what, uint64_t *out, bool *have,
                     struct lo2_err *err)
{
	const struct lo2_json *v = lo2_json_get(obj, key);
	int64_t i = 0;
	double d = 0;

	*have = false;
	if (v == NULL || lo2_json_is_null(v))
		return 0;
	if (lo2_json_int(v, &i) && i >= 0)
		*out = (uint64_t)i;
	else if (!lo2_json_int(v, &i) && lo2_json_double(v, &d) && d >= 0 && d < 1.8446744073709552e19)
		*out = (uint64_t)d;
	else
		return lo2_err_set(err, LO2_E_INVALID, "%s: %s is not a non-negative integer", what, key);
	*have = true;
	return 0;
}

static int stat_u64(struct engine_stats_sample *s, enum engine_stat k, const struct lo2_json *obj,
                    const char *key, const char *what, struct lo2_err *err)
{
	bool have = false;

	if (field_u64(obj, key, what, &s->v[k], &have, err) < 0)
		return -1;
	if (have)
		s->have |= 1u << k;
	return 0;
}

static int read_cpu(const struct lo2_json *doc, struct engine_stats_sample *s, struct lo2_err *err)
{
	const struct lo2_json *cpu = NULL, *use = NULL, *thr = NULL;

	if (engine_field(doc, "cpu_stats", ENGINE_J_OBJ, false, "the sample", &cpu, err) < 0 ||
	    engine_field(cpu, "cpu_usage", ENGINE_J_OBJ, false, "cpu_stats", &use, err) < 0 ||
	    engine_field(cpu, "throttling_data", ENGINE_J_OBJ, false, "cpu_stats", &thr, err) < 0)
		return -1;
	return stat_u64(s, ENGINE_STAT_CPU_TOTAL_NS, use, "total_usage", "cpu_stats.cpu_usage", err) < 0 ||
	               stat_u64(s, ENGINE_STAT_CPU_USER_NS, use, "usage_in_usermode", "cpu_stats.cpu_usage",
	                        err) < 0 ||
	               stat_u64(s, ENGINE_STAT_CPU_KERNEL_NS, use, "usage_in_kernelmode",
	                        "cpu_stats.cpu_usage", err) < 0 ||
	               stat_u64(s, ENGINE_STAT_CPU_PERIODS, thr, "periods", "cpu_stats.throttling_data",
	                        err) < 0 ||
	               stat_u64(s, ENGINE_STAT_CPU_THROTTLED_PERIODS, thr, "throttled_periods",
	                        "cpu_stats.throttling_data", err) < 0 ||
	               stat_u64(s, ENGINE_STAT_CPU_THROTTLED_NS, thr, "throttled_time",
	                        "cpu_stats.throttling_data", err) < 0
	           ? -1
	           : 0;
}

/* Working set as cAdvisor computes it: usage less inactive file pages, 0 when those exceed it. */
static void working_set(struct engine_stats_sample *s, uint64_t inactive)
{
	uint64_t usage = s->v[ENGINE_STAT_MEM_USAGE];

	if (!(s->have & 1u << ENGINE_STAT_MEM_USAGE))
		return;
	s->v[ENGINE_STAT_MEM_WORKING_SET] = inactive < usage ? usage - inactive : 0;
	s->have |= 1u << ENGINE_STAT_MEM_WORKING_SET;
}

static int read_mem(const struct lo2_json *doc, struct engine_stats_sample *s, struct lo2_err *err)
{
	const struct lo2_json *mem = NULL, *st = NULL;
	const char *w = "memory_stats.stats";
	uint64_t inactive = 0;
	bool have = false;

	if (engine_field(doc, "memory_stats", ENGINE_J_OBJ, false, "the sample", &mem, err) < 0 ||
	    engine_field(mem, "stats", ENGINE_J_OBJ, false, "memory_stats", &st, err) < 0 ||
	    stat_u64(s, ENGINE_STAT_MEM_USAGE, mem, "usage", "memory_stats", err) < 0 ||
	    stat_u64(s, ENGINE_STAT_MEM_LIMIT, mem, "limit", "memory_stats", err) < 0 ||
	    stat_u64(s, ENGINE_STAT_MEM_FAILCNT, mem, "failcnt", "memory_stats", err) < 0)
		return -1;
	if (st == NULL)
		return 0;
	/* cgroup v1 names the hierarchy's totals total_*; v2's memory.stat has anon, file, inactive_file */
	s->cgroup_v2 = lo2_json_get(st, "total_inactive_file") == NULL && lo2_json_get(st, "anon") != NULL;
	if (s->cgroup_v2)
		return field_u64(st, "inactive_file", w, &inactive, &have, err) < 0 ||
		               stat_u64(s, ENGINE_STAT_MEM_RSS, st, "anon", w, err) < 0 ||
		               stat_u64(s, ENGINE_STAT_MEM_CACHE, st, "file", w, err) < 0
		           ? -1
		           : (working_set(s, inactive), 0);
	if (field_u64(st, "total_inactive_file", w, &inactive, &have, err) < 0 ||
	    stat_u64(s, ENGINE_STAT_MEM_RSS, st, "total_rss", w, err) < 0 ||
	    stat_u64(s, ENGINE_STAT_MEM_CACHE, st, "total_cache", w, err) < 0)
		return -1;
	working_set(s, inactive);
	return 0;
}

static int read_nets(const struct lo2_json *doc, struct engine_stats_sample *s, struct lo2_err *err)
{
	static const char *const keys[ENGINE_NET_N] = {"rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
	                                               "tx_bytes", "tx_packets", "tx_errors", "tx_dropped"};
	const struct lo2_json *nets = NULL;

	if (engine_field(doc, "networks", ENGINE_J_OBJ, false, "the sample", &nets, err) < 0)
		return -1;
	for (size_t i = 0; i < lo2_json_len(nets) && s->n_nets < ENGINE_STATS_MAX_NETS; i++) {
		const struct lo2_json *n = lo2_json_val_at(nets, i);
		const char *name = lo2_json_key_at(nets, i);
		char what[64];

		snprintf(what, sizeof(what), "networks.%.40s", name);
		if (!lo2_json_is_object(n))
			return lo2_err_set(err, LO2_E_INVALID, "%s is not an object", what);
		snprintf(s->nets[s->n_nets].name, sizeof(s->nets[0].name), "%s", name);
		for (int k = 0; k < ENGINE_NET_N; k++) {
			bool have = false;

			if (field_u64(n, keys[k], what, &s->nets[s->n_nets].v[k], &have, err) < 0)
				return -1;
		}
		s->n_nets++;
	}
	return 0;
}

/* The device's slot (a new one when there is room; NULL beyond the cap). */
static size_t dev_slot(struct engine_stats_sample *s, unsigned major, unsigned minor)
{
	size_t i;

	for (i = 0; i < s->n_devs; i++)
		if (s->devs[i].major == major && s->devs[i].minor == minor)
			return i;
	if (i == ENGINE_STATS_MAX_DEVS)
		return i;
	s->devs[i].major = major;
	s->devs[i].minor = minor;
	s->n_devs++;
	return i;
}

/* One blkio list: values with op read/write (v1 "Read", v2 "read") summed per device. */
static int read_blk_list(const struct lo2_json *blk, const char *key, enum engine_stat_dev rd,
                         struct engine_stats_sample *s, struct lo2_err *err)
{
	const struct lo2_json *list = NULL;
	char what[96];

	if (engine_field(blk, key, ENGINE_J_ARR, false, "blkio_stats", &list, err) < 0)
		return -1;
	for (size_t i = 0; i < lo2_json_len(list); i++) {
		const struct lo2_json *ent = lo2_json_at(list, i), *op = NULL;
		uint64_t major = 0, minor = 0, val = 0;
		bool h1 = false, h2 = false, h3 = false;
		size_t d;
		int k;

		snprintf(what, sizeof(what), "blkio_stats.%s entry %zu", key, i + 1);
		if (!lo2_json_is_object(ent))
			return lo2_err_set(err, LO2_E_INVALID, "%s is not an object", what);
		if (engine_field(ent, "op", ENGINE_J_STR, true, what, &op, err) < 0 ||
		    field_u64(ent, "major", what, &major, &h1, err) < 0 ||
		    field_u64(ent, "minor", what, &minor, &h2, err) < 0 ||
		    field_u64(ent, "value", what, &val, &h3, err) < 0)
			return -1;
		if (strcasecmp(lo2_json_str(op), "read") == 0)
			k = (int)rd;
		else if (strcasecmp(lo2_json_str(op), "write") == 0)
			k = (int)rd + 1;
		else
			continue;
		d = dev_slot(s, (unsigned)major, (unsigned)minor);
		if (d == ENGINE_STATS_MAX_DEVS || !h3)
			continue;
		s->devs[d].v[k] += val;
		s->devs[d].have |= 1u << k;
	}
	return 0;
}

static int read_blk(const struct lo2_json *doc, struct engine_stats_sample *s, struct lo2_err *err)
{
	const struct lo2_json *blk = NULL;

	if (engine_field(doc, "blkio_stats", ENGINE_J_OBJ, false, "the sample", &blk, err) < 0)
		return -1;
	return read_blk_list(blk, "io_service_bytes_recursive", ENGINE_DEV_READ_BYTES, s, err) < 0 ||
	               read_blk_list(blk, "io_serviced_recursive", ENGINE_DEV_READS, s, err) < 0
	           ? -1
	           : 0;
}

static int read_sample(const struct lo2_json *doc, struct engine_stats_sample *s, struct lo2_err *err)
{
	const struct lo2_json *read = NULL, *pids = NULL;

	if (!lo2_json_is_object(doc))
		return lo2_err_set(err, LO2_E_INVALID, "the sample is not an object");
	if (engine_field(doc, "read", ENGINE_J_STR, true, "the sample", &read, err) < 0 ||
	    engine_field(doc, "pids_stats", ENGINE_J_OBJ, false, "the sample", &pids, err) < 0)
		return -1;
	s->read_ns = engine_parse_time(lo2_json_str(read));
	if (s->read_ns < 0)
		return lo2_err_set(err, LO2_E_INVALID, "the sample: read \"%s\" is no time",
		                   lo2_json_str(read));
	if (s->read_ns == 0)
		return 0; /* not running: the engine's empty sample */
	return read_cpu(doc, s, err) < 0 || read_mem(doc, s, err) < 0 || read_nets(doc, s, err) < 0 ||
	               read_blk(doc, s, err) < 0 ||
	               stat_u64(s, ENGINE_STAT_PIDS, pids, "current", "pids_stats", err) < 0
	           ? -1
	           : 0;
}

int engine_stats_sample_parse(const char *json, size_t n, struct engine_stats_sample *out,
                              struct lo2_err *err)
{
	lo2_autofree char *text = xstrndup(json, n);
	struct lo2_json *doc = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	if (lo2_json_parse(text, "container stats sample", &doc, err) < 0)
		return -1;
	ret = read_sample(doc, out, err);
	lo2_json_free(doc);
	if (ret < 0)
		memset(out, 0, sizeof(*out));
	return ret < 0 ? lo2_err_prefix(err, "container stats sample") : 0;
}

struct stats_ctx {
	engine_stats_fn fn;
	void *user;
	bool stopped;
	struct engine_stats_sample sample;
};

static int stats_line(void *user, const char *line, size_t n, struct lo2_err *err)
{
	struct stats_ctx *c = user;
	struct lo2_err bad = {0};
	int rc;

	if (engine_stats_sample_parse(line, n, &c->sample, &bad) < 0)
		rc = c->fn(c->user, NULL, &bad);
	else
		rc = c->fn(c->user, &c->sample, NULL);
	if (rc == 0)
		return 0;
	c->stopped = true;
	return lo2_err_set(err, LO2_E_CANCELLED, "stopped by the stats handler");
}

int engine_container_stats_stream(struct engine *e, const char *id, const atomic_bool *cancel,
                                  engine_stats_fn fn, void *user, struct lo2_err *err)
{
	struct stats_ctx *c = xcalloc(1, sizeof(*c));
	struct engine_lines lines = {.buf = {.max = 1024 * 1024}, .on_line = stats_line, .user = c};
	lo2_autofree char *eid = NULL, *path = NULL;
	/* a stopped container still gets an empty sample a second; may_idle keeps a long pause of the
	 * engine's collector from being taken for a stalled connection */
	struct ereq r = {
	    .stream = true, .may_idle = true, .cancel = cancel, .on_body = engine_lines_feed, .user = &lines};
	int ret;

	c->fn = fn;
	c->user = user;
	if (engine_check_ref(id, "stream stats of container", err) < 0) {
		free(c);
		return -1;
	}
	eid = engine_escape(id);
	path = xasprintf("/containers/%s/stats?stream=1", eid);
	r.path = path;
	ret = engine_call(e, &r, NULL, err, "stream stats of container %s", id);
	if (ret == 0)
		ret = engine_lines_finish(&lines, err);
	else
		lo2_buf_free(&lines.buf);
	if (ret < 0 && c->stopped) {
		lo2_err_clear(err);
		ret = 0;
	}
	free(c);
	return ret;
}
