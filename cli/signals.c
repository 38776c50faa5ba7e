/* signals.c - how lo2's long commands end on SIGINT, SIGTERM or SIGHUP: the first signal
 * cancels the work (it stops within a second and cleans up); a second one exits at once,
 * saying what is left behind. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static atomic_bool *cancel_flag;
static volatile sig_atomic_t signals_seen;
static char second_msg[1024] = "lo2: second signal: exiting now\n";

static void on_signal(int sig)
{
	(void)sig;
	if (signals_seen++ == 0) {
		if (cancel_flag)
			atomic_store(cancel_flag, true);
		return;
	}
	/* only async-signal-safe calls here */
	if (write(STDERR_FILENO, second_msg, strlen(second_msg)) < 0)
		_exit(130);
	_exit(130);
}

void cli_cancel_signals(atomic_bool *flag)
{
	struct sigaction sa;

	cancel_flag = flag;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

void cli_cancel_message(const char *msg)
{
	sigset_t block, old;

	/* the handler reads the buffer: no signal while it changes */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	snprintf(second_msg, sizeof(second_msg), "%s\n", msg);
	sigprocmask(SIG_SETMASK, &old, NULL);
}
