/* thread.c - see thread.h. */
#include "common/thread.h"

int lo2_thread_start(pthread_t *t, void *(*fn)(void *), void *arg, const char *what, struct lo2_err *err)
{
	int rc = pthread_create(t, NULL, fn, arg);

	if (rc != 0)
		return lo2_err_errno(err, rc, "start thread %s", what);
	return 0;
}
