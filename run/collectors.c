/* collectors.c - making the collectors of run/collectors.h that apply to a run. */
#include <stdlib.h>

#include "common/mem.h"
#include "run/collectors.h"
#include "run/session.h"

#define ENTRY(name) run_collector_##name,
static const run_collector_make_fn makers[] = {RUN_COLLECTORS(ENTRY)};
#undef ENTRY

int run_collectors_make(struct run_session *s, struct lo2_err *err)
{
	size_t n = sizeof(makers) / sizeof(makers[0]);

	s->cols = xcalloc(n + 1, sizeof(*s->cols));
	for (size_t i = 0; i < n; i++) {
		struct run_collector *c = NULL;

		if (makers[i](s, &c, err) < 0)
			return -1;
		if (c)
			s->cols[s->n_cols++] = c;
	}
	return 0;
}

int run_collectors_vars(struct run_session *s, struct lo2_err *err)
{
	struct lo2_kvv vars = {0};
	int ret = 0;

	for (size_t i = 0; i < s->n_cols && ret == 0; i++)
		if (s->cols[i]->ops->vars && s->cols[i]->ops->vars(s->cols[i], &vars, err) < 0)
			ret = lo2_err_prefix(err, "%s", s->cols[i]->ops->name);
	if (ret == 0)
		ret = run_stack_load(s, vars.n ? &vars : NULL, true, err);
	lo2_kvv_free(&vars);
	return ret;
}
