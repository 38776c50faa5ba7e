/* docker-credential-lo2test - a credential helper for lo2's tests, speaking the
 * docker-credential-helpers protocol (`get`: server URL on stdin, JSON on stdout; `list`;
 * `store` and `erase` accepted) from its environment, as an external program:
 *   LO2TEST_CRED_SERVER, LO2TEST_CRED_USER, LO2TEST_CRED_SECRET  the one credential it holds
 *   LO2TEST_CRED_FAIL   when set: print it (and a second line) on stderr and exit 3
 *   LO2TEST_CRED_JUNK   when set: answer `get` with it (not JSON) and exit 0
 *   LO2TEST_CRED_LOG    a file that gets "<action> <stdin>" per call (never a secret) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *env(const char *k)
{
	const char *v = getenv(k);

	return v ? v : "";
}

/* Prints s as a JSON string. */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

static void read_stdin(char *buf, size_t n)
{
	size_t len = fread(buf, 1, n - 1, stdin);

	buf[len] = '\0';
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		buf[--len] = '\0';
}

static void log_call(const char *action, const char *input)
{
	FILE *f;

	if (env("LO2TEST_CRED_LOG")[0] == '\0')
		return;
	f = fopen(env("LO2TEST_CRED_LOG"), "a");
	if (f == NULL)
		return;
	fprintf(f, "%s %s\n", action, input);
	fclose(f);
}

static int get(const char *server)
{
	if (env("LO2TEST_CRED_JUNK")[0]) {
		printf("%s\n", env("LO2TEST_CRED_JUNK"));
		return 0;
	}
	if (strcmp(server, env("LO2TEST_CRED_SERVER")) != 0) {
		printf("credentials not found in native keychain\n"); /* the protocol's "none" */
		return 1;
	}
	printf("{\"ServerURL\":");
	json_str(server);
	printf(",\"Username\":");
	json_str(env("LO2TEST_CRED_USER"));
	printf(",\"Secret\":");
	json_str(env("LO2TEST_CRED_SECRET"));
	printf("}\n");
	return 0;
}

int main(int argc, char **argv)
{
	char input[4096];
	const char *action = argc > 1 ? argv[1] : "";

	read_stdin(input, sizeof(input));
	log_call(action, strcmp(action, "store") == 0 ? "(a credential)" : input);
	if (env("LO2TEST_CRED_FAIL")[0]) {
		fprintf(stderr, "%s\nsecond line that lo2 does not show\n", env("LO2TEST_CRED_FAIL"));
		return 3;
	}
	if (strcmp(action, "get") == 0)
		return get(input);
	if (strcmp(action, "list") == 0) {
		printf("{");
		if (env("LO2TEST_CRED_SERVER")[0]) {
			json_str(env("LO2TEST_CRED_SERVER"));
			printf(":");
			json_str(env("LO2TEST_CRED_USER"));
		}
		printf("}\n");
		return 0;
	}
	if (strcmp(action, "store") == 0 || strcmp(action, "erase") == 0)
		return 0;
	fprintf(stderr, "unknown action: %s\n", action);
	return 1;
}
