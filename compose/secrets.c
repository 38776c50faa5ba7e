/* secrets.c - `secrets:` and `configs:` without Swarm, as docker compose v2 runs them: a file:
 * source is bind-mounted read-only at /run/secrets/<name> (configs: /<name>) or the target; an
 * environment: or content: source is a file that `up` writes for the project (mode, uid and gid
 * applied to it) and `down` removes. external: ones exist only in Swarm and are refused. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file.h"
#include "common/mem.h"
#include "compose/internal.h"
#include "compose/parse.h"

static const char *const top_keys[] = {"file",   "environment",     "content", "external",    "name",
                                       "labels", "template_driver", "driver",  "driver_opts", NULL};

static int parse_one(struct pctx *c, const struct compose_ynode *k, const struct compose_ynode *b,
                     bool is_config, struct compose_secret *sec)
{
	const char *kind = is_config ? "configs" : "secrets";
	lo2_autofree char *path = xasprintf("%s.%s", kind, k->value);
	lo2_autofree char *file = NULL;
	const struct compose_ynode *v;
	bool ext = false;
	const char *val;

	sec->key = xstrdup(k->value);
	sec->is_config = is_config;
	if (b->kind != COMPOSE_YMAP)
		return compose_expect(c, b, path, "a mapping");
	compose_warn_unknown(c, b, path, top_keys);
	if ((v = compose_ynode_get(b, "external"))) {
		if (v->kind == COMPOSE_YMAP)
			ext = true;
		else if (compose_get_bool(c, v, path, &ext) < 0)
			return -1;
		if (ext)
			return compose_perr(
			    c, v,
			    "%s: external %s exist only in Docker Swarm; lo2 (like docker "
			    "compose without Swarm) cannot use them: give a file:, environment: "
			    "or content:",
			    path, kind);
	}
	if ((v = compose_ynode_get(b, "file"))) {
		if (compose_get_str(c, v, path, &file) < 0)
			return -1;
		sec->file = compose_path_resolve(c->dir, file);
	} else if ((v = compose_ynode_get(b, "environment"))) {
		if (compose_get_str(c, v, path, &sec->environment) < 0)
			return -1;
		val = lo2_kvv_get(c->env, sec->environment);
		if (val == NULL) /* an error for up, not for config or down */
			compose_pwarn(c, v, "%s: variable \"%.100s\" is not set", path, sec->environment);
		sec->content = val ? xstrdup(val) : NULL;
	} else if ((v = compose_ynode_get(b, "content"))) {
		if (compose_get_str(c, v, path, &sec->content) < 0)
			return -1;
	} else {
		return compose_perr(c, b, "%s: expected a file:, environment: or content: key", path);
	}
	return 0;
}

int compose_parse_secrets(struct pctx *c, const struct compose_ynode *m, bool is_config)
{
	struct compose_project *p = c->p;

	if (m == NULL || compose_ynode_is_null(m))
		return 0;
	if (m->kind != COMPOSE_YMAP)
		return compose_expect(c, m, is_config ? "configs" : "secrets", "a mapping");
	p->secrets = xrealloc(p->secrets, (p->n_secrets + m->n) * sizeof(*p->secrets));
	for (size_t i = 0; i < m->n; i++) {
		struct compose_secret *sec = &p->secrets[p->n_secrets++];

		memset(sec, 0, sizeof(*sec));
		if (parse_one(c, m->keys[i], m->items[i], is_config, sec) < 0)
			return -1;
	}
	return 0;
}

/* ---- a service's secrets: and configs: ---- */

static const char *const svc_keys[] = {"source", "target", "uid", "gid", "mode", NULL};

/* YAML 1.1 reads 0440 as octal: so does compose. */
static int parse_mode(struct pctx *c, const struct compose_ynode *n, const char *path, int *mode)
{
	lo2_autofree char *v = NULL;
	const char *d;
	char *end;
	long x;

	if (compose_get_str(c, n, path, &v) < 0)
		return -1;
	d = strncmp(v, "0o", 2) == 0 ? v + 2 : v;
	x = strtol(d, &end, d[0] == '0' || d != v ? 8 : 10);
	if (end == d || *end || x < 0 || x > 07777)
		return compose_perr(c, n, "%s: invalid mode \"%.32s\" (expected e.g. 0440)", path, v);
	*mode = (int)x;
	return 0;
}

static char *default_target(bool is_config, const char *name)
{
	if (name[0] == '/')
		return xstrdup(name);
	return is_config ? xasprintf("/%s", name) : xasprintf("/run/secrets/%s", name);
}

static int svc_secret_one(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                          const char *path, bool is_config)
{
	struct compose_svc_secret *ss;
	const struct compose_secret *sec;
	const struct compose_ynode *v, *src = n;
	lo2_autofree char *target = NULL;

	s->secrets = xrealloc(s->secrets, (s->n_secrets + 1) * sizeof(*s->secrets));
	ss = &s->secrets[s->n_secrets++];
	memset(ss, 0, sizeof(*ss));
	ss->is_config = is_config;
	ss->mode = -1;
	if (n->kind == COMPOSE_YMAP) {
		compose_warn_unknown(c, n, path, svc_keys);
		if ((src = compose_ynode_get(n, "source")) == NULL)
			return compose_perr(c, n, "%s: expected a source: key", path);
		if ((v = compose_ynode_get(n, "target")) && compose_get_str(c, v, path, &target) < 0)
			return -1;
		if ((v = compose_ynode_get(n, "uid")) && compose_get_str(c, v, path, &ss->uid) < 0)
			return -1;
		if ((v = compose_ynode_get(n, "gid")) && compose_get_str(c, v, path, &ss->gid) < 0)
			return -1;
		if ((v = compose_ynode_get(n, "mode")) && parse_mode(c, v, path, &ss->mode) < 0)
			return -1;
	}
	if (compose_get_str(c, src, path, &ss->source) < 0)
		return -1;
	if (!compose_ynode_get(compose_ynode_get(c->root, is_config ? "configs" : "secrets"), ss->source))
		return compose_perr(c, src, "%s: %s \"%.100s\" is not declared under the top-level %s key",
		                    path, is_config ? "config" : "secret", ss->source,
		                    is_config ? "configs" : "secrets");
	ss->target = default_target(is_config, target ? target : ss->source);
	sec = compose_secret_find(c->p, is_config, ss->source);
	if (sec && sec->file && (ss->uid || ss->gid || ss->mode >= 0))
		compose_pwarn(c, n,
		              "%s: uid, gid and mode are not applied to %s \"%s\": it is a bind mount of the "
		              "host file %s (as in docker compose v2)",
		              path, is_config ? "config" : "secret", ss->source, sec->file);
	return 0;
}

int compose_parse_svc_secrets(struct pctx *c, struct compose_service *s, const struct compose_ynode *n,
                              const char *path, bool is_config)
{
	if (n->kind != COMPOSE_YSEQ)
		return compose_expect(c, n, path, "a list");
	for (size_t i = 0; i < n->n; i++)
		if (svc_secret_one(c, s, n->items[i], path, is_config) < 0)
			return -1;
	return 0;
}

/* ---- where the files are ---- */

char *compose_secrets_dir(const char *project)
{
	const char *run = getenv("XDG_RUNTIME_DIR");

	if (run && run[0] == '/')
		return xasprintf("%s/lo2-secrets/%s", run, project);
	return xasprintf("/tmp/lo2-secrets-%u/%s", (unsigned)getuid(), project);
}

const struct compose_secret *compose_secret_find(const struct compose_project *p, bool is_config,
                                                 const char *key)
{
	for (size_t i = 0; i < p->n_secrets; i++)
		if (p->secrets[i].is_config == is_config && strcmp(p->secrets[i].key, key) == 0)
			return &p->secrets[i];
	return NULL;
}

char *compose_secret_host_path(const struct compose_project *p, const struct compose_service *s,
                               const struct compose_svc_secret *ss)
{
	const struct compose_secret *sec = compose_secret_find(p, ss->is_config, ss->source);
	lo2_autofree char *dir = NULL;

	if (sec && sec->file)
		return xstrdup(sec->file);
	dir = compose_secrets_dir(p->name);
	/* "svc-": a service may be named ".." */
	return xasprintf("%s/svc-%s/%s-%s", dir, s->name, ss->is_config ? "config" : "secret", ss->source);
}

/* ---- the files up writes and down removes ---- */

static int owner_of(const char *s, unsigned *id)
{
	char *end;
	unsigned long v;

	if (s == NULL)
		return 0;
	v = strtoul(s, &end, 10);
	if (end == s || *end)
		return -1;
	*id = (unsigned)v;
	return 1;
}

/* Mode, then uid/gid: where the host refuses (lo2 not root) a warning, as the engine would. */
static void apply_owner(const char *path, const struct compose_svc_secret *ss, struct lo2_strv *warnings)
{
	unsigned uid = 0, gid = 0;
	int hu = owner_of(ss->uid, &uid), hg = owner_of(ss->gid, &gid);

	if (chmod(path, (mode_t)(ss->mode >= 0 ? ss->mode : 0444)) < 0)
		lo2_strv_take(warnings, xasprintf("%s %s: chmod: %s", ss->is_config ? "config" : "secret",
		                                  ss->source, strerror(errno)));
	if (hu < 0 || hg < 0) {
		lo2_strv_take(warnings, xasprintf("%s %s: uid and gid must be numbers; not applied",
		                                  ss->is_config ? "config" : "secret", ss->source));
		return;
	}
	if ((hu || hg) && chown(path, hu ? uid : (uid_t)-1, hg ? gid : (gid_t)-1) < 0)
		lo2_strv_take(warnings,
		              xasprintf("%s %s: cannot give the file to %u:%u (%s); the container sees "
		                        "the host's owner",
		                        ss->is_config ? "config" : "secret", ss->source, uid, gid,
		                        strerror(errno)));
}

int compose_secrets_write(const struct compose_project *p, const struct compose_service *s,
                          struct lo2_strv *warnings, struct lo2_err *err)
{
	for (size_t i = 0; i < s->n_secrets; i++) {
		const struct compose_svc_secret *ss = &s->secrets[i];
		const struct compose_secret *sec = compose_secret_find(p, ss->is_config, ss->source);
		lo2_autofree char *path = NULL;
		lo2_autofree char *dir = NULL;

		if (sec == NULL || sec->file)
			continue;
		if (sec->content == NULL)
			return lo2_err_set(err, LO2_E_INVALID, "service %s: %s %s: variable %s is not set",
			                   s->name, ss->is_config ? "config" : "secret", ss->source,
			                   sec->environment);
		path = compose_secret_host_path(p, s, ss);
		dir = compose_path_resolve(path, "..");
		if (lo2_mkdir_p(dir, 0700, err) < 0 ||
		    lo2_write_file_atomic(path, sec->content, strlen(sec->content), err) < 0)
			return lo2_err_prefix(err, "service %s: %s %s", s->name,
			                      ss->is_config ? "config" : "secret", ss->source);
		apply_owner(path, ss, warnings);
	}
	return 0;
}

/* Removes dir/svc-<service>/{secret,config}-* and the folders, nothing else. */
void compose_secrets_remove(const char *project)
{
	lo2_autofree char *root = compose_secrets_dir(project);
	DIR *d = opendir(root);
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		lo2_autofree char *sub = NULL;
		DIR *sd;
		struct dirent *fe;

		if (strncmp(de->d_name, "svc-", 4) != 0)
			continue;
		sub = xasprintf("%s/%s", root, de->d_name);
		if ((sd = opendir(sub)) == NULL)
			continue;
		while ((fe = readdir(sd)) != NULL) {
			lo2_autofree char *f = NULL;

			if (strncmp(fe->d_name, "secret-", 7) != 0 && strncmp(fe->d_name, "config-", 7) != 0)
				continue;
			f = xasprintf("%s/%s", sub, fe->d_name);
			unlink(f);
		}
		closedir(sd);
		rmdir(sub);
	}
	closedir(d);
	rmdir(root);
	*strrchr(root, '/') = '\0';
	rmdir(root); /* the per-user folder, when no other project has files there */
}
