/* resolve.c - the address and password of a compose service's database container, read
 * through the engine (compose labels, published ports, network addresses, environment), so
 * lo2 can say "the mysqldb service" instead of an address. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"
#include "common/mem.h"
#include "common/str.h"
#include "engine/engine.h"
#include "mysql/mysql.h"

#define DB_CONTAINER_PORT "3306/tcp"

/* The value of KEY in a "K=V" environment list, or NULL. */
static const char *env_get(const struct lo2_strv *env, const char *key)
{
	size_t n = strlen(key);

	for (size_t i = 0; i < env->n; i++)
		if (strncmp(env->v[i], key, n) == 0 && env->v[i][n] == '=')
			return env->v[i] + n + 1;
	return NULL;
}

static bool env_true(const struct lo2_strv *env, const char *key)
{
	const char *v = env_get(env, key);

	return v && *v && strcmp(v, "0") != 0 && strcasecmp(v, "no") != 0 && strcasecmp(v, "false") != 0;
}

/* The password the entrypoints of the mysql and mariadb images give root, or to their
 * MYSQL_USER/MARIADB_USER; NULL when the environment does not say. */
static char *password_for(const struct lo2_strv *env, const char *user)
{
	const char *v = NULL, *u;

	if (strcmp(user, "root") == 0) {
		v = env_get(env, "MYSQL_ROOT_PASSWORD");
		if (v == NULL)
			v = env_get(env, "MARIADB_ROOT_PASSWORD");
		if (v == NULL && (env_true(env, "MYSQL_ALLOW_EMPTY_PASSWORD") ||
		                  env_true(env, "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD")))
			v = "";
		return xstrdup(v);
	}
	u = env_get(env, "MYSQL_USER");
	if (u && strcmp(u, user) == 0)
		v = env_get(env, "MYSQL_PASSWORD");
	u = env_get(env, "MARIADB_USER");
	if (v == NULL && u && strcmp(u, user) == 0)
		v = env_get(env, "MARIADB_PASSWORD");
	return xstrdup(v); /* xstrdup(NULL) is NULL */
}

/* The host a published port is reached on: the engine's host for a tcp:// engine, else the
 * bound address, with the wildcard addresses meaning loopback. */
static char *published_host(struct engine *e, const char *host_ip)
{
	const char *d = engine_display(e), *h, *end;

	if (d && lo2_str_has_prefix(d, "tcp://")) {
		h = d + 6;
		end = strrchr(h, ':');
		return end ? xstrndup(h, (size_t)(end - h)) : xstrdup(h);
	}
	if (host_ip == NULL || !*host_ip || strcmp(host_ip, "0.0.0.0") == 0 || strcmp(host_ip, "::") == 0)
		return xstrdup(DB_DEFAULT_HOST);
	return xstrdup(host_ip);
}

static bool use_published(struct engine *e, const struct engine_container_info *ci,
                          struct db_service_addr *out)
{
	for (size_t i = 0; i < ci->n_ports; i++) {
		const struct engine_published *p = &ci->ports[i];

		if (strcmp(p->container_port, DB_CONTAINER_PORT) != 0 || !p->host_port || !*p->host_port)
			continue;
		out->host = published_host(e, p->host_ip);
		out->port = (unsigned)strtoul(p->host_port, NULL, 10);
		out->published = true;
		return out->port != 0;
	}
	return false;
}

/* Its IPv4 address on a network of the project ("<project>_..."), else on any network. */
static bool use_network_ip(const char *project, const struct engine_container_info *ci,
                           struct db_service_addr *out)
{
	lo2_autofree char *prefix = xasprintf("%s_", project);
	const char *any = NULL;

	for (size_t i = 0; i < ci->n_nets; i++) {
		const char *ip = ci->nets[i].ip;

		if (ip == NULL || !*ip)
			continue;
		if (lo2_str_has_prefix(ci->nets[i].network, prefix)) {
			any = ip;
			break;
		}
		if (any == NULL)
			any = ip;
	}
	if (any == NULL)
		return false;
	out->host = xstrdup(any);
	out->port = DB_DEFAULT_PORT;
	return true;
}

/* The running container of the service; with several (scaled), the lowest container number. */
static int find_container(struct engine *e, const char *project, const char *service, char **id,
                          struct lo2_err *err)
{
	struct lo2_strv filters = {0};
	struct engine_container_list cl = {0};
	size_t best = 0;
	int ret = -1;

	lo2_strv_take(&filters, xasprintf("label=com.docker.compose.project=%s", project));
	lo2_strv_take(&filters, xasprintf("label=com.docker.compose.service=%s", service));
	if (engine_container_list(e, &filters, false, &cl, err) < 0)
		goto out;
	if (cl.n == 0) {
		lo2_err_set(err, LO2_E_NOT_FOUND, "no running container of service %s in project %s", service,
		            project);
		goto out;
	}
	for (size_t i = 1; i < cl.n; i++) {
		const char *a = lo2_kvv_get(&cl.v[i].labels, "com.docker.compose.container-number");
		const char *b = lo2_kvv_get(&cl.v[best].labels, "com.docker.compose.container-number");

		if (a && b && atoi(a) < atoi(b))
			best = i;
	}
	*id = xstrdup(cl.v[best].id);
	ret = 0;
out:
	engine_container_list_free(&cl);
	lo2_strv_free(&filters);
	return ret;
}

int db_resolve_service(struct engine *e, const char *project, const char *service, const char *user,
                       struct db_service_addr *out, struct lo2_err *err)
{
	struct engine_container_info ci = {0};
	lo2_autofree char *id = NULL;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (find_container(e, project, service, &id, err) < 0)
		return lo2_err_prefix(err, "resolve mysql service %s", service);
	if (engine_container_inspect(e, id, &ci, err) < 0) {
		lo2_err_prefix(err, "resolve mysql service %s", service);
		goto out;
	}
	out->container = xstrdup(ci.name);
	if (!use_published(e, &ci, out) && !use_network_ip(project, &ci, out)) {
		lo2_err_set(
		    err, LO2_E_NOT_FOUND,
		    "resolve mysql service %s: container %s publishes no %s and has no network address",
		    service, ci.name, DB_CONTAINER_PORT);
		goto out;
	}
	out->password = password_for(&ci.env, user ? user : DB_DEFAULT_USER);
	lo2_debug("mysql service %s: container %s at %s:%u (%s)%s", service, ci.name, out->host, out->port,
	          out->published ? "published" : "network address",
	          out->password ? ", password from its environment" : "");
	ret = 0;
out:
	engine_container_info_free(&ci);
	if (ret < 0)
		db_service_addr_free(out);
	return ret;
}

void db_service_addr_free(struct db_service_addr *a)
{
	if (a == NULL)
		return;
	free(a->container);
	free(a->host);
	db_password_free(a->password);
	memset(a, 0, sizeof(*a));
}
