/* http.c - fetch/'s HTTP: a curl multi pool that runs many GETs with a bounded number of
 * connections, per-transfer timeouts (total and stalled), and retries with exponential
 * backoff decided by each job's done callback; plus a small blocking GET. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/time.h"
#include "fetch/internal.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

char *http_escape(const char *s)
{
	char *e, *copy;

	pthread_once(&curl_once, curl_init_once);
	e = curl_easy_escape(NULL, s, 0);
	if (e == NULL)
		abort();
	copy = xstrdup(e);
	curl_free(e);
	return copy;
}

static void set_common(CURL *h, const char *url, int64_t timeout_ms, int64_t stall_ms)
{
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms < 10000 ? timeout_ms : 10000));
	if (stall_ms > 0) {
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)(stall_ms < 1000 ? 1 : stall_ms / 1000));
	}
	curl_easy_setopt(h, CURLOPT_USERAGENT, "lo2/" LO2_VERSION);
}

static size_t job_write(char *p, size_t size, size_t nmemb, void *user)
{
	struct http_job *j = user;
	size_t n = size * nmemb;

	return j->data(j->user, p, n) == 0 ? n : 0;
}

static void job_start(CURLM *m, struct http_job *j, const struct http_pool_opts *o)
{
	CURL *h = curl_easy_init();

	if (h == NULL)
		abort();
	set_common(h, j->url, o->timeout_ms, o->stall_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, job_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(h, CURLOPT_PRIVATE, j);
	j->errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, j->errbuf);
	j->h = h;
	j->reset(j->user);
	curl_multi_add_handle(m, h);
}

/* What a failed transfer means, in lo2's words; curl's own text only where lo2 has none. The
 * word "timed out" marks a timeout (chunk_check classifies by it). */
static const char *http_failure(CURLcode rc, const char *errbuf, char *out, size_t n)
{
	const char *m = NULL;

	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		m = "could not connect: nothing listens at that address, or the host is unreachable";
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		m = "could not connect: the host name does not resolve";
		break;
	case CURLE_OPERATION_TIMEDOUT:
		m = "timed out: the server sent no complete answer in time (busy, stalled or unreachable)";
		break;
	case CURLE_PARTIAL_FILE:
		m = "the server closed the connection before the whole answer arrived (the answer is "
		    "incomplete)";
		break;
	case CURLE_GOT_NOTHING:
		m = "the server closed the connection without answering";
		break;
	case CURLE_RECV_ERROR:
		m = "the connection broke while reading the answer";
		break;
	case CURLE_SEND_ERROR:
		m = "the connection broke while sending the request";
		break;
	default:
		snprintf(out, n, "the transfer failed (%s)",
		         errbuf && errbuf[0] ? errbuf : curl_easy_strerror(rc));
		return out;
	}
	snprintf(out, n, "%s", m);
	return out;
}

/* A finished transfer: asks the job whether to retry. Returns true when the job is over. */
static bool job_end(CURLM *m, struct http_job *j, CURLcode rc, const struct http_pool_opts *o)
{
	long status = 0;
	const char *cerr = NULL;
	char why[CURL_ERROR_SIZE + 64];
	bool last;
	int r;

	curl_easy_getinfo(j->h, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK)
		cerr = http_failure(rc, j->errbuf, why, sizeof(why));
	j->attempts++;
	last = j->attempts >= o->max_attempts;
	r = j->done(j->user, status, cerr, last);
	curl_multi_remove_handle(m, j->h);
	curl_easy_cleanup(j->h);
	j->h = NULL;
	if (r != HTTP_RETRY || last)
		return true;
	j->not_before = lo2_mono_ns() + o->backoff_ms * INT64_C(1000000) * ((int64_t)1 << (j->attempts - 1));
	return false;
}

/* Starts jobs while slots are free: due retries first, then new jobs. */
static void fill_slots(CURLM *m, struct http_job **jobs, size_t n, size_t *next, struct http_job **waiting,
                       size_t *nwait, size_t *active, const struct http_pool_opts *o)
{
	int64_t now = lo2_mono_ns();

	for (size_t i = 0; i < *nwait && *active < (size_t)o->concurrency;) {
		if (waiting[i]->not_before > now) {
			i++;
			continue;
		}
		job_start(m, waiting[i], o);
		(*active)++;
		waiting[i] = waiting[--(*nwait)];
	}
	while (*next < n && *active < (size_t)o->concurrency) {
		job_start(m, jobs[(*next)++], o);
		(*active)++;
	}
}

/* Ends every job that has not ended: active ones are aborted, the rest never start. */
static int cancel_all(CURLM *m, struct http_job **jobs, size_t n, struct http_job **waiting, size_t nwait,
                      size_t next, struct lo2_err *err)
{
	for (size_t i = 0; i < next; i++) {
		struct http_job *j = jobs[i];

		if (j->h == NULL)
			continue;
		curl_multi_remove_handle(m, j->h);
		curl_easy_cleanup(j->h);
		j->h = NULL;
		j->done(j->user, 0, "cancelled", true);
	}
	for (size_t i = 0; i < nwait; i++)
		waiting[i]->done(waiting[i]->user, 0, "cancelled", true);
	for (size_t i = next; i < n; i++)
		jobs[i]->done(jobs[i]->user, 0, "cancelled", true);
	return lo2_err_set(err, LO2_E_CANCELLED, "fetch: interrupted");
}

int http_run(struct http_job **jobs, size_t n, const struct http_pool_opts *o, struct lo2_err *err)
{
	CURLM *m;
	struct http_job **waiting = xcalloc(n + 1, sizeof(*waiting));
	size_t next = 0, nwait = 0, active = 0, finished = 0;

	pthread_once(&curl_once, curl_init_once);
	m = curl_multi_init();
	if (m == NULL) {
		free(waiting);
		return lo2_err_set(err, LO2_E_GENERIC, "fetch: cannot create a curl multi handle");
	}
	curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)o->concurrency);
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)o->concurrency);
	for (size_t i = 0; i < n; i++)
		jobs[i]->attempts = 0;
	while (finished < n) {
		CURLMsg *msg;
		int running, left;

		if (o->cancel && atomic_load(o->cancel)) {
			int rc = cancel_all(m, jobs, n, waiting, nwait, next, err);

			curl_multi_cleanup(m);
			free(waiting);
			return rc;
		}
		fill_slots(m, jobs, n, &next, waiting, &nwait, &active, o);
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			struct http_job *j;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
			active--;
			if (job_end(m, j, msg->data.result, o))
				finished++;
			else
				waiting[nwait++] = j;
		}
		if (finished < n)
			curl_multi_poll(m, NULL, 0, active > 0 ? 100 : 20, NULL);
	}
	curl_multi_cleanup(m);
	free(waiting);
	return 0;
}

struct get_ctx {
	struct lo2_buf body;
	bool over;
};

static size_t get_write(char *p, size_t size, size_t nmemb, void *user)
{
	struct get_ctx *g = user;

	if (lo2_buf_append(&g->body, p, size * nmemb) < 0) {
		g->over = true;
		return 0;
	}
	return size * nmemb;
}

int http_get(const char *url, size_t max, int64_t timeout_ms, char **body, long *status, struct lo2_err *err)
{
	struct get_ctx g = {.body = {NULL, 0, 0, max}};
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	CURL *h;

	pthread_once(&curl_once, curl_init_once);
	h = curl_easy_init();
	if (h == NULL)
		abort();
	set_common(h, url, timeout_ms, timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, get_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &g);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(h);
	*status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(h);
	if (g.over) {
		lo2_buf_free(&g.body);
		return lo2_err_set(err, LO2_E_INVALID, "GET %s: response larger than %zu bytes", url, max);
	}
	if (rc != CURLE_OK) {
		char why[CURL_ERROR_SIZE + 64];

		lo2_buf_free(&g.body);
		return lo2_err_set(err, rc == CURLE_OPERATION_TIMEDOUT ? LO2_E_TIMEOUT : LO2_E_CONNECT,
		                   "GET %s: %s", url, http_failure(rc, errbuf, why, sizeof(why)));
	}
	lo2_buf_append(&g.body, "", 0);
	*body = g.body.data ? lo2_buf_steal(&g.body) : xstrdup("");
	return 0;
}
