/* thread.h - starting a thread as lo2 does everything fallible: an int status and an error
 * that names what the thread was for. */
#ifndef LO2_THREAD_H
#define LO2_THREAD_H

#include <pthread.h>

#include "common/err.h"

/* pthread_create with its result checked: -1 with "start thread <what>: <reason>". */
int lo2_thread_start(pthread_t *t, void *(*fn)(void *), void *arg, const char *what, struct lo2_err *err);

#endif
