/* model.c - the compose model's lookups and its release. */
#include <stdlib.h>
#include <string.h>

#include "compose/compose.h"
#include "compose/internal.h"

void compose_service_release(struct compose_service *s)
{
	free(s->name);
	free(s->image);
	free(s->build.context);
	free(s->build.dockerfile);
	lo2_kvv_free(&s->build.args);
	lo2_kvv_free(&s->build.labels);
	free(s->build.target);
	free(s->build.network);
	lo2_strv_free(&s->build.extra_hosts);
	free(s->container_name);
	lo2_strv_free(&s->command);
	lo2_strv_free(&s->entrypoint);
	lo2_kvv_free(&s->environment);
	for (size_t i = 0; i < s->n_ports; i++) {
		free(s->ports[i].host_ip);
		free(s->ports[i].published);
		free(s->ports[i].protocol);
		free(s->ports[i].mode);
	}
	free(s->ports);
	lo2_strv_free(&s->expose);
	for (size_t i = 0; i < s->n_mounts; i++) {
		free(s->mounts[i].type);
		free(s->mounts[i].source);
		free(s->mounts[i].target);
		free(s->mounts[i].propagation);
		free(s->mounts[i].selinux);
		free(s->mounts[i].subpath);
	}
	free(s->mounts);
	for (size_t i = 0; i < s->n_networks; i++) {
		free(s->networks[i].key);
		lo2_strv_free(&s->networks[i].aliases);
		free(s->networks[i].ipv4_address);
		free(s->networks[i].ipv6_address);
	}
	free(s->networks);
	free(s->network_mode);
	for (size_t i = 0; i < s->n_deps; i++) {
		free(s->deps[i].service);
		free(s->deps[i].condition);
	}
	free(s->deps);
	lo2_strv_free(&s->links);
	free(s->log_driver);
	lo2_kvv_free(&s->log_opts);
	free(s->user);
	free(s->restart);
	free(s->working_dir);
	free(s->hostname);
	free(s->domainname);
	free(s->stop_signal);
	free(s->platform);
	free(s->pid);
	free(s->ipc);
	lo2_strv_free(&s->dns_opt);
	free(s->runtime);
	free(s->cgroup_parent);
	free(s->userns_mode);
	free(s->cpuset);
	lo2_strv_free(&s->devices);
	lo2_kvv_free(&s->storage_opt);
	lo2_strv_free(&s->volumes_from);
	lo2_strv_free(&s->group_add);
	lo2_strv_free(&s->profiles);
	free(s->deploy.restart_condition);
	for (size_t i = 0; i < s->n_secrets; i++) {
		free(s->secrets[i].source);
		free(s->secrets[i].target);
		free(s->secrets[i].uid);
		free(s->secrets[i].gid);
	}
	free(s->secrets);
	lo2_strv_free(&s->healthcheck.test);
	lo2_kvv_free(&s->labels);
	lo2_strv_free(&s->cap_add);
	lo2_strv_free(&s->cap_drop);
	lo2_strv_free(&s->extra_hosts);
	lo2_strv_free(&s->dns);
	lo2_strv_free(&s->dns_search);
	lo2_strv_free(&s->security_opt);
	for (size_t i = 0; i < s->n_ulimits; i++)
		free(s->ulimits[i].name);
	free(s->ulimits);
	lo2_kvv_free(&s->sysctls);
	lo2_strv_free(&s->tmpfs);
	free(s->container);
	free(s->config_hash);
	lo2_kvv_free(&s->plan_labels);
}

void compose_project_free(struct compose_project *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n_services; i++)
		compose_service_release(&p->services[i]);
	free(p->services);
	for (size_t i = 0; i < p->n_networks; i++) {
		free(p->networks[i].key);
		free(p->networks[i].name);
		free(p->networks[i].driver);
		lo2_kvv_free(&p->networks[i].labels);
		lo2_kvv_free(&p->networks[i].driver_opts);
		free(p->networks[i].ipam_driver);
		for (size_t k = 0; k < p->networks[i].n_pools; k++) {
			free(p->networks[i].pools[k].subnet);
			free(p->networks[i].pools[k].ip_range);
			free(p->networks[i].pools[k].gateway);
		}
		free(p->networks[i].pools);
	}
	free(p->networks);
	for (size_t i = 0; i < p->n_volumes; i++) {
		free(p->volumes[i].key);
		free(p->volumes[i].name);
		free(p->volumes[i].driver);
		lo2_kvv_free(&p->volumes[i].labels);
		lo2_kvv_free(&p->volumes[i].driver_opts);
	}
	free(p->volumes);
	for (size_t i = 0; i < p->n_secrets; i++) {
		free(p->secrets[i].key);
		free(p->secrets[i].file);
		free(p->secrets[i].environment);
		free(p->secrets[i].content);
	}
	free(p->secrets);
	free(p->name);
	free(p->working_dir);
	free(p->config_file);
	free(p);
}

const struct compose_service *compose_service_find(const struct compose_project *p, const char *name)
{
	for (size_t i = 0; i < p->n_services; i++)
		if (strcmp(p->services[i].name, name) == 0)
			return &p->services[i];
	return NULL;
}

bool compose_service_has_healthcheck(const struct compose_service *s)
{
	return s->healthcheck.set && !s->healthcheck.disable && s->healthcheck.test.n > 0 &&
	       strcmp(s->healthcheck.test.v[0], "NONE") != 0;
}
