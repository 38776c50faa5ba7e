/* auth.h - registry credentials as the docker CLI finds them: the docker config folder
 * (DOCKER_CONFIG, else ~/.docker) and its config.json (auths, credsStore, credHelpers through the
 * docker-credential-<name> helper protocol), DOCKER_AUTH_CONFIG, Docker Hub's index names and
 * host:port matching; and the X-Registry-Auth / X-Registry-Config header values the engine takes.
 * Secrets never enter an error message, a source description or a log line; the structures that
 * hold them are wiped when freed. engine_image_pull and engine_image_build use this by themselves. */
#ifndef LO2_ENGINE_AUTH_H
#define LO2_ENGINE_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/str.h"

/* The key Docker Hub's credentials are stored under (docker login's default). */
#define ENGINE_HUB_KEY "https://index.docker.io/v1/"

struct engine_auth {
	char *registry; /* index name: "docker.io", "127.0.0.1:5000" */
	char
	    *key; /* what was looked up and asked of a helper: ENGINE_HUB_KEY for Docker Hub, else registry */
	char *username, *password, *identity_token, *registry_token; /* secrets: never print them */
	bool found; /* a user name with password, or a token, is set */
	/* Where the credentials came from ("auths entry \"127.0.0.1:5000\" of /root/.docker/config.json"),
	 * or where lo2 looked when none were found. Never holds a secret. */
	char *source;
};

/* The registry (index name) of an image reference: "nginx" and "index.docker.io/x/y" -> "docker.io",
 * "127.0.0.1:5000/x:1" -> "127.0.0.1:5000", "localhost/x" -> "localhost" (caller frees). */
int engine_ref_registry(const char *ref, char **out, struct lo2_err *err);
/* The repository of an image reference in full: "nginx:1.27" -> "docker.io/library/nginx",
 * "prom/prometheus" -> "docker.io/prom/prometheus", "127.0.0.1:5000/x/y@sha256:..." ->
 * "127.0.0.1:5000/x/y" (caller frees). */
char *engine_ref_repository(const char *ref);
/* True for the names Docker Hub goes by: "docker.io", "index.docker.io", "registry-1.docker.io",
 * ENGINE_HUB_KEY, with or without a scheme or path. */
bool engine_registry_is_hub(const char *name);
/* The docker CLI's ConvertToHostname: scheme and path dropped, port kept
 * ("https://reg:5000/v2/" -> "reg:5000") (caller frees). */
char *engine_registry_hostname(const char *key);
/* True when a config key (auths or credHelpers) names registry: equal, same host:port after
 * engine_registry_hostname, or both Docker Hub. */
bool engine_registry_matches(const char *key, const char *registry);

/* The docker config folder the CLI would use: $DOCKER_CONFIG, else $HOME/.docker (caller frees). */
char *engine_docker_config_dir(void);

/* Finds the credentials for registry (an index name) as the docker CLI does: DOCKER_AUTH_CONFIG
 * first (only with config_dir NULL, i.e. the environment's settings), then a credHelpers entry for
 * the registry or else credsStore (the helper is the only source then, as for the CLI), else the
 * auths entry (exact key, then host:port, then Docker Hub's names). config_dir NULL: the
 * environment's folder. Returns 0 with out filled (out->found tells); -1 when the config file or a
 * helper failed (err names which, without secrets; out is still filled, found false). Free out
 * with engine_auth_free. */
int engine_auth_find(const char *config_dir, const char *registry, struct engine_auth *out,
                     struct lo2_err *err);
void engine_auth_free(struct engine_auth *a);

/* Asks docker-credential-<helper> for server's credentials (`get`, server on stdin, JSON on stdout;
 * posix_spawnp, no shell). 0 with out->found set or not ("credentials not found" is no error);
 * -1 when the helper is missing, fails or answers garbage: err names the helper and its stderr's
 * first line. Fills only the secret fields and found of out. */
int engine_cred_helper_get(const char *helper, const char *server, struct engine_auth *out,
                           struct lo2_err *err);
/* The servers docker-credential-<helper> holds credentials for (`list`), appended to servers. */
int engine_cred_helper_list(const char *helper, struct lo2_strv *servers, struct lo2_err *err);

/* The X-Registry-Auth value for a (base64url of the engine's AuthConfig JSON); NULL when
 * nothing was found. Free with engine_secret_free. */
char *engine_auth_header(const struct engine_auth *a);
/* The X-Registry-Config value for a build (every credential the config knows, as the CLI's
 * GetAllCredentials: auths or the credsStore's list, and each credHelpers registry), or NULL when
 * there are none. Failing helpers are skipped (a build may not need them). Free with engine_secret_free. */
char *engine_auth_config_header(const char *config_dir);
/* Wipes and frees a string that may hold a secret. */
void engine_secret_free(char *s);

/* Replaces every secret of a (4 bytes or longer) in err's message with "***". */
void engine_auth_scrub(struct lo2_err *err, const struct engine_auth *a);
/* A request header as debug output may show it: the value of X-Registry-Auth, X-Registry-Config,
 * Authorization and Proxy-Authorization replaced by "<hidden, N bytes>"; others as they are. */
void engine_header_for_log(const char *header, char *out, size_t outsz);

/* Base64 (standard alphabet, or URL-safe with url), padded (caller frees). */
char *engine_base64(const void *p, size_t n, bool url);
/* Decodes standard or URL-safe base64 (padding optional) into *out (NUL-terminated, caller frees
 * with engine_secret_free); -1 on a bad character or length. */
int engine_base64_decode(const char *s, char **out, size_t *n);

#endif
