/* fuzz_sql_split.c - libFuzzer target: any bytes as an init SQL script through the statement
 * splitter (quotes, comments, DELIMITER lines) and the statement excerpt used in messages. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mysql/mysql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct db_script s = {0};
	struct lo2_err err = {0};
	char ex[80];

	if (db_script_split((const char *)data, size, &s, &err) == 0) {
		for (size_t i = 0; i < s.n; i++) {
			db_stmt_excerpt(s.v[i].text, ex, sizeof(ex));
			assert(strlen(ex) < sizeof(ex));
		}
		db_script_free(&s);
	}
	return 0;
}
