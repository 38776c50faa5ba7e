/* networks.c - networks: create (labels, IPAM, CheckDuplicate), inspect, list, connect,
 * disconnect, remove. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "engine/internal.h"

void engine_network_spec_free(struct engine_network_spec *s)
{
	if (s == NULL)
		return;
	free(s->name);
	free(s->driver);
	free(s->ipam_driver);
	lo2_kvv_free(&s->labels);
	lo2_kvv_free(&s->options);
	for (size_t i = 0; i < s->n_pools; i++) {
		free(s->pools[i].subnet);
		free(s->pools[i].ip_range);
		free(s->pools[i].gateway);
	}
	free(s->pools);
	memset(s, 0, sizeof(*s));
}

static void jw_ipam(struct lo2_jw *w, const struct engine_network_spec *s)
{
	lo2_jw_key(w, "IPAM");
	lo2_jw_obj(w);
	lo2_jw_key(w, "Driver");
	lo2_jw_str(w, s->ipam_driver ? s->ipam_driver : "default");
	lo2_jw_key(w, "Config");
	lo2_jw_arr(w);
	for (size_t i = 0; i < s->n_pools; i++) {
		lo2_jw_obj(w);
		if (s->pools[i].subnet) {
			lo2_jw_key(w, "Subnet");
			lo2_jw_str(w, s->pools[i].subnet);
		}
		if (s->pools[i].ip_range) {
			lo2_jw_key(w, "IPRange");
			lo2_jw_str(w, s->pools[i].ip_range);
		}
		if (s->pools[i].gateway) {
			lo2_jw_key(w, "Gateway");
			lo2_jw_str(w, s->pools[i].gateway);
		}
		lo2_jw_obj_end(w);
	}
	lo2_jw_arr_end(w);
	lo2_jw_obj_end(w);
}

int engine_network_create(struct engine *e, const struct engine_network_spec *s, char **id_out,
                          struct lo2_err *err)
{
	struct lo2_jw *w = lo2_jw_new(NULL);
	lo2_autofree char *body = NULL;
	struct ereq r = {.method = "POST", .path = "/networks/create"};
	struct lo2_json *doc = NULL;

	lo2_jw_obj(w);
	lo2_jw_key(w, "Name");
	lo2_jw_str(w, s->name);
	lo2_jw_key(w, "Driver");
	lo2_jw_str(w, s->driver ? s->driver : "bridge");
	/* Daemons before 25 allow duplicate names without it; newer ones ignore it. */
	lo2_jw_key(w, "CheckDuplicate");
	lo2_jw_bool(w, true);
	lo2_jw_key(w, "Internal");
	lo2_jw_bool(w, s->internal);
	lo2_jw_key(w, "Attachable");
	lo2_jw_bool(w, s->attachable);
	lo2_jw_key(w, "EnableIPv6");
	lo2_jw_bool(w, s->enable_ipv6);
	jw_ipam(w, s);
	engine_jw_kvv(w, "Options", &s->options);
	engine_jw_kvv(w, "Labels", &s->labels);
	lo2_jw_obj_end(w);
	body = lo2_jw_finish(w, NULL);
	r.json = body;
	if (engine_call_json(e, &r, "network create response", &doc, err, "create network %s", s->name) < 0)
		return -1;
	if (id_out != NULL && engine_field_strdup(doc, "Id", true, "the answer", id_out, err) < 0) {
		lo2_json_free(doc);
		return lo2_err_prefix(err, "create network %s", s->name);
	}
	lo2_json_free(doc);
	return 0;
}

/* The first host address of an IPv4 subnet "a.b.c.d/n" (what the engine gives a bridge's
 * gateway when the configuration names none), or NULL. */
static char *first_host(const char *subnet)
{
	unsigned a, b, c, d, n;
	uint32_t ip, mask;

	if (subnet == NULL || sscanf(subnet, "%u.%u.%u.%u/%u", &a, &b, &c, &d, &n) != 5 || a > 255 ||
	    b > 255 || c > 255 || d > 255 || n < 1 || n > 30)
		return NULL;
	mask = n == 32 ? 0xffffffffu : ~(0xffffffffu >> n);
	ip = ((a << 24 | b << 16 | c << 8 | d) & mask) + 1;
	return xasprintf("%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

/* The first IPv4 gateway of IPAM.Config, else the first gateway; the default bridge's config
 * (docker0) names no gateway: then the first host of its first IPv4 subnet, as the engine does. */
static char *read_gateway(const struct lo2_json *doc)
{
	const struct lo2_json *cfg = lo2_json_path(doc, "IPAM", "Config", NULL);
	const char *any = NULL;

	for (size_t i = 0; i < lo2_json_len(cfg); i++) {
		const char *g = lo2_json_str(lo2_json_get(lo2_json_at(cfg, i), "Gateway"));

		if (g == NULL || g[0] == '\0')
			continue;
		if (strchr(g, ':') == NULL)
			return xstrdup(g);
		if (any == NULL)
			any = g;
	}
	if (any)
		return xstrdup(any);
	for (size_t i = 0; i < lo2_json_len(cfg); i++) {
		char *g = first_host(lo2_json_str(lo2_json_get(lo2_json_at(cfg, i), "Subnet")));

		if (g)
			return g;
	}
	return NULL;
}

static int read_network(const struct lo2_json *doc, const char *what, void *slot, struct lo2_err *err)
{
	struct engine_network_info *out = slot;
	const struct lo2_json *cs = NULL;

	if (!lo2_json_is_object(doc))
		return lo2_err_set(err, LO2_E_INVALID, "%s is not an object", what);
	if (engine_field_strdup(doc, "Id", true, what, &out->id, err) < 0 ||
	    engine_field_strdup(doc, "Name", true, what, &out->name, err) < 0 ||
	    engine_field_strdup(doc, "Driver", false, what, &out->driver, err) < 0 ||
	    engine_field_bool(doc, "Internal", what, &out->internal, err) < 0 ||
	    engine_field_kvv(doc, "Labels", what, &out->labels, err) < 0 ||
	    engine_field(doc, "Containers", ENGINE_J_OBJ, false, what, &cs, err) < 0)
		return -1;
	out->gateway = read_gateway(doc);
	for (size_t i = 0; i < lo2_json_len(cs); i++)
		lo2_strv_push(&out->containers, lo2_json_key_at(cs, i));
	return 0;
}

int engine_network_inspect(struct engine *e, const char *name, struct engine_network_info *out,
                           struct lo2_err *err)
{
	lo2_autofree char *en = engine_escape(name);
	lo2_autofree char *path = xasprintf("/networks/%s", en);
	struct ereq r = {.path = path};
	struct lo2_json *doc = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	if (engine_call_json(e, &r, "network inspect", &doc, err, "inspect network %s", name) < 0)
		return -1;
	ret = read_network(doc, "the answer", out, err);
	lo2_json_free(doc);
	if (ret < 0) {
		engine_network_info_free(out);
		return lo2_err_prefix(err, "inspect network %s", name);
	}
	return 0;
}

void engine_network_info_free(struct engine_network_info *n)
{
	if (n == NULL)
		return;
	free(n->id);
	free(n->name);
	free(n->driver);
	lo2_kvv_free(&n->labels);
	lo2_strv_free(&n->containers);
	free(n->gateway);
	memset(n, 0, sizeof(*n));
}

int engine_network_list(struct engine *e, const struct lo2_strv *filters, struct engine_network_list *out,
                        struct lo2_err *err)
{
	lo2_autofree char *fq = engine_filters_query(filters);
	lo2_autofree char *path = xasprintf("/networks?%s", fq);
	struct ereq r = {.path = path};
	struct lo2_json *doc = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	if (engine_call_json(e, &r, "network list", &doc, err, "list networks") < 0)
		return -1;
	ret = engine_read_entries(doc, sizeof(*out->v), (void **)&out->v, &out->n, read_network, err);
	lo2_json_free(doc);
	if (ret < 0) {
		engine_network_list_free(out);
		return lo2_err_prefix(err, "list networks");
	}
	return 0;
}

void engine_network_list_free(struct engine_network_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		engine_network_info_free(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int engine_network_connect(struct engine *e, const char *network, const char *container,
                           const struct engine_endpoint_cfg *cfg, struct lo2_err *err)
{
	lo2_autofree char *en = engine_escape(network);
	lo2_autofree char *path = xasprintf("/networks/%s/connect", en);
	lo2_autofree char *body = NULL;
	struct lo2_jw *w = lo2_jw_new(NULL);
	struct ereq r = {.method = "POST", .path = path};

	lo2_jw_obj(w);
	lo2_jw_key(w, "Container");
	lo2_jw_str(w, container);
	lo2_jw_key(w, "EndpointConfig");
	lo2_jw_obj(w);
	if (cfg != NULL) {
		engine_jw_strv(w, "Aliases", &cfg->aliases);
		engine_jw_strv(w, "Links", &cfg->links);
		if (cfg->ipv4_address || cfg->ipv6_address) {
			lo2_jw_key(w, "IPAMConfig");
			lo2_jw_obj(w);
			if (cfg->ipv4_address) {
				lo2_jw_key(w, "IPv4Address");
				lo2_jw_str(w, cfg->ipv4_address);
			}
			if (cfg->ipv6_address) {
				lo2_jw_key(w, "IPv6Address");
				lo2_jw_str(w, cfg->ipv6_address);
			}
			lo2_jw_obj_end(w);
		}
	}
	lo2_jw_obj_end(w);
	lo2_jw_obj_end(w);
	body = lo2_jw_finish(w, NULL);
	r.json = body;
	return engine_call(e, &r, NULL, err, "connect container %s to network %s", container, network);
}

int engine_network_disconnect(struct engine *e, const char *network, const char *container, bool force,
                              struct lo2_err *err)
{
	lo2_autofree char *en = engine_escape(network);
	lo2_autofree char *path = xasprintf("/networks/%s/disconnect", en);
	lo2_autofree char *body = NULL;
	struct lo2_jw *w = lo2_jw_new(NULL);
	struct ereq r = {.method = "POST", .path = path};

	lo2_jw_obj(w);
	lo2_jw_key(w, "Container");
	lo2_jw_str(w, container);
	lo2_jw_key(w, "Force");
	lo2_jw_bool(w, force);
	lo2_jw_obj_end(w);
	body = lo2_jw_finish(w, NULL);
	r.json = body;
	return engine_call(e, &r, NULL, err, "disconnect container %s from network %s", container, network);
}

int engine_network_remove(struct engine *e, const char *name, struct lo2_err *err)
{
	lo2_autofree char *en = engine_escape(name);
	lo2_autofree char *path = xasprintf("/networks/%s", en);
	struct ereq r = {.method = "DELETE", .path = path};

	return engine_call(e, &r, NULL, err, "remove network %s", name);
}
