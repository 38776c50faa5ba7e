/* secret.c - database passwords: read from an environment variable or a file (never from
 * the command line), wiped when freed, and scrubbed from error messages as a last guard. */
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/mem.h"
#include "mysql/mysql.h"

#define PASSWORD_FILE_MAX 4096
#define DB_SCRUB_MIN 4

/* Drops one trailing "\n" or "\r\n", and anything after the first line. */
static void first_line(char *s)
{
	char *nl = strchr(s, '\n');

	if (nl == NULL)
		return;
	if (nl > s && nl[-1] == '\r')
		nl--;
	*nl = '\0';
}

int db_password_load(const char *env_var, const char *file, char **out, struct lo2_err *err)
{
	const char *v;
	char *data = NULL;
	size_t len = 0;

	*out = NULL;
	if ((env_var == NULL) == (file == NULL))
		return lo2_err_set(err, LO2_E_USAGE,
		                   "password: give one of an environment variable or a file");
	if (env_var) {
		v = getenv(env_var);
		if (v == NULL)
			return lo2_err_set(err, LO2_E_INVALID, "password: environment variable %s is not set",
			                   env_var);
		*out = xstrdup(v);
		return 0;
	}
	if (lo2_read_file(file, PASSWORD_FILE_MAX, &data, &len, err) < 0)
		return lo2_err_prefix(err, "password file");
	first_line(data);
	*out = data;
	return 0;
}

void db_password_free(char *p)
{
	if (p == NULL)
		return;
	/* volatile so the compiler keeps the wipe of memory about to be freed */
	for (volatile char *q = p; *q; q++)
		*q = '\0';
	free(p);
}

void db_err_scrub(struct lo2_err *err, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0;
	char *from, *hit;

	/* Shorter secrets would mangle ordinary words; messages never hold them by construction. */
	if (err == NULL || n < DB_SCRUB_MIN)
		return;
	from = err->msg;
	for (hit = strstr(from, secret); hit; hit = strstr(from, secret)) {
		memmove(hit + 3, hit + n, strlen(hit + n) + 1); /* n > 3: the message only shrinks */
		memcpy(hit, "***", 3);
		from = hit + 3;
	}
}
