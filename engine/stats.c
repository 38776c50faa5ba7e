/* stats.c - one-shot container stats, reduced to the figures docker stats shows
 * (cgroup v1 and v2). */
#include <string.h>

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
