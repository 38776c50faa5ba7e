/* logs.c - window log export: placeholder until written. */
#include "fetch/fetch.h"

int fetch_logs(const struct fetch_logs_opts *o, const struct lo2_strv *names, struct fetch_report *rep,
               struct lo2_err *err)
{
	return lo2_err_set(err, LO2_E_GENERIC, "fetch logs: not implemented");
}
