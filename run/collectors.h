/* collectors.h - the collectors of a run, in the order they start (and the reverse order they
 * stop). A new collector is a new file defining run_collector_<name> plus its name here. */
#ifndef LO2_RUN_COLLECTORS_H
#define LO2_RUN_COLLECTORS_H

#include "run/collector.h"

/* events first: it records what the others' containers do from the deploy on */
#define RUN_COLLECTORS(X) X(events) X(logs) X(stats) X(prometheus) X(jaeger) X(traces) X(faults)

#define RUN_COLLECTOR_DECLARE(name) \
	int run_collector_##name(struct run_session *s, struct run_collector **out, struct lo2_err *err);
RUN_COLLECTORS(RUN_COLLECTOR_DECLARE)

#endif
