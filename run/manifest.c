/* manifest.c - run.json written and read back (see manifest.h). Collector sections are kept
 * as JSON text and written as values, so a section survives a resume unchanged. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/sha256.h"
#include "run/manifest.h"

#define MANIFEST_FORMAT 2

static const char *const status_names[] = {"pending", "running", "complete", "incomplete", "failed"};
#define N_STATUS (sizeof(status_names) / sizeof(status_names[0]))

const char *run_test_status_name(enum run_test_status s)
{
	return status_names[s];
}

const char *run_test_load_tag(const struct run_test *t)
{
	return t->load_tag ? t->load_tag : t->tag;
}

void run_manifest_init(struct run_manifest *m, const struct run_schedule *s)
{
	memset(m, 0, sizeof(*m));
	m->seed = s->seed;
	m->status = xstrdup("running");
	m->n_tests = s->n;
	m->tests = xcalloc(s->n + 1, sizeof(*m->tests));
	for (size_t i = 0; i < s->n; i++) {
		m->tests[i].tag = xstrdup(s->tests[i].tag);
		m->tests[i].load_tag = s->tests[i].load_tag ? xstrdup(s->tests[i].load_tag) : NULL;
		m->tests[i].planned_s = s->tests[i].duration_s;
		m->tests[i].wait_s = s->tests[i].wait_s;
		m->tests[i].locust_exit = -1;
	}
}

void run_files_free(struct run_files *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		free(fs->v[i].path);
	free(fs->v);
	fs->v = NULL;
	fs->n = 0;
}

int run_files_add(struct run_files *fs, const char *root, const char *rel, struct lo2_err *err)
{
	lo2_autofree char *full = xasprintf("%s/%s", root, rel);
	struct run_file f = {0};

	if (lo2_sha256_file(full, f.sha256, &f.size, err) < 0)
		return -1;
	f.path = xstrdup(rel);
	fs->v = xrealloc(fs->v, (fs->n + 1) * sizeof(*fs->v));
	fs->v[fs->n++] = f;
	return 0;
}

static void attempt_free(struct run_attempt *a)
{
	free(a->dir);
	run_files_free(&a->files);
}

static void test_free(struct run_test *t)
{
	free(t->tag);
	free(t->load_tag);
	run_test_reset(t);
	for (size_t i = 0; i < t->n_attempts; i++)
		attempt_free(&t->attempts[i]);
	free(t->attempts);
}

void run_test_reset(struct run_test *t)
{
	run_files_free(&t->files);
	for (size_t i = 0; i < t->n_events; i++) {
		free(t->events[i].container);
		free(t->events[i].action);
		free(t->events[i].exit_code);
	}
	free(t->events);
	lo2_strv_free(&t->errors);
	lo2_kvv_free(&t->sections);
	free(t->locust_stopped);
	free(t->failure);
	t->locust_stopped = t->failure = NULL;
	t->events = NULL;
	t->n_events = 0;
	t->start_ns = t->end_ns = 0;
	t->gap_s = 0;
	t->have_counts = false;
	t->requests = t->failures = 0;
	t->locust_exit = -1;
	t->collect_s = 0;
	t->session = 0;
	t->locust_pid = 0;
}

void run_manifest_free(struct run_manifest *m)
{
	if (m == NULL)
		return;
	char *strs[] = {m->lo2_version, m->engine_version, m->engine_api,     m->engine_host, m->host,
	                m->project,     m->compose_file,   m->compose_sha256, m->status};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(strs[i]);
	lo2_kvv_free(&m->images);
	for (size_t i = 0; i < m->n_sessions; i++)
		free(m->sessions[i].how);
	free(m->sessions);
	lo2_strv_free(&m->warnings);
	lo2_kvv_free(&m->sections);
	run_files_free(&m->files);
	for (size_t i = 0; i < m->n_tests; i++)
		test_free(&m->tests[i]);
	free(m->tests);
	memset(m, 0, sizeof(*m));
}

int run_manifest_add_file(struct run_test *t, const char *root, const char *rel, struct lo2_err *err)
{
	return run_files_add(&t->files, root, rel, err);
}

void run_manifest_add_event(struct run_test *t, int64_t time_ns, const char *container, const char *action,
                            const char *exit_code)
{
	t->events = xrealloc(t->events, (t->n_events + 1) * sizeof(*t->events));
	t->events[t->n_events++] = (struct run_event){time_ns, xstrdup(container), xstrdup(action),
	                                              exit_code ? xstrdup(exit_code) : NULL};
}

struct run_session_rec *run_manifest_add_session(struct run_manifest *m, int64_t started_ns)
{
	struct run_session_rec *r;

	m->sessions = xrealloc(m->sessions, (m->n_sessions + 1) * sizeof(*m->sessions));
	r = &m->sessions[m->n_sessions];
	*r = (struct run_session_rec){.number = m->n_sessions ? m->sessions[m->n_sessions - 1].number + 1 : 1,
	                              .started_ns = started_ns,
	                              .how = xstrdup("running")};
	m->n_sessions++;
	return r;
}

/* ---- writing ---- */

static void kv_str(struct lo2_jw *w, const char *k, const char *v)
{
	lo2_jw_key(w, k);
	lo2_jw_str(w, v);
}

static void kv_int(struct lo2_jw *w, const char *k, int64_t v)
{
	lo2_jw_key(w, k);
	lo2_jw_int(w, v);
}

static void kv_double(struct lo2_jw *w, const char *k, double v)
{
	lo2_jw_key(w, k);
	lo2_jw_double(w, v);
}

static void write_files(struct lo2_jw *w, const char *key, const struct run_files *fs)
{
	lo2_jw_key(w, key);
	lo2_jw_arr(w);
	for (size_t i = 0; i < fs->n; i++) {
		lo2_jw_obj(w);
		kv_str(w, "path", fs->v[i].path);
		kv_int(w, "size", (int64_t)fs->v[i].size);
		kv_str(w, "sha256", fs->v[i].sha256);
		lo2_jw_obj_end(w);
	}
	lo2_jw_arr_end(w);
}

/* name -> JSON text, each written as a value (text that does not parse is kept as a string). */
static void write_sections(struct lo2_jw *w, const struct lo2_kvv *sections)
{
	lo2_jw_key(w, "collectors");
	lo2_jw_obj(w);
	for (size_t i = 0; i < sections->n; i++) {
		struct lo2_json *doc = NULL;

		lo2_jw_key(w, sections->v[i].key);
		if (sections->v[i].val && lo2_json_parse(sections->v[i].val, "section", &doc, NULL) == 0)
			lo2_jw_node(w, doc);
		else
			lo2_jw_str(w, sections->v[i].val);
		lo2_json_free(doc);
	}
	lo2_jw_obj_end(w);
}

static void write_strv(struct lo2_jw *w, const char *key, const struct lo2_strv *v)
{
	lo2_jw_key(w, key);
	lo2_jw_arr(w);
	for (size_t i = 0; i < v->n; i++)
		lo2_jw_str(w, v->v[i]);
	lo2_jw_arr_end(w);
}

static void write_locust(struct lo2_jw *w, const struct run_test *t)
{
	lo2_jw_key(w, "locust");
	lo2_jw_obj(w);
	kv_str(w, "tag", run_test_load_tag(t));
	kv_int(w, "exit_code", t->locust_exit);
	if (t->have_counts) {
		kv_int(w, "requests", (int64_t)t->requests);
		kv_int(w, "failures", (int64_t)t->failures);
	}
	if (t->locust_stopped)
		kv_str(w, "stopped_past_deadline", t->locust_stopped);
	if (t->locust_pid > 0)
		kv_int(w, "pid", t->locust_pid);
	lo2_jw_obj_end(w);
}

static void write_test(struct lo2_jw *w, const struct run_test *t)
{
	lo2_jw_obj(w);
	kv_str(w, "tag", t->tag);
	if (t->load_tag)
		kv_str(w, "load_tag", t->load_tag);
	kv_str(w, "status", run_test_status_name(t->status));
	if (t->failure)
		kv_str(w, "failure", t->failure);
	kv_int(w, "session", t->session);
	kv_int(w, "planned_duration_s", t->planned_s);
	kv_int(w, "wait_s", t->wait_s);
	kv_double(w, "gap_after_s", t->gap_s);
	kv_int(w, "start_ns", t->start_ns);
	kv_int(w, "end_ns", t->end_ns);
	kv_double(w, "actual_duration_s",
	          t->end_ns > t->start_ns ? (double)(t->end_ns - t->start_ns) / 1e9 : 0.0);
	kv_double(w, "collect_s", t->collect_s);
	write_locust(w, t);
	write_files(w, "files", &t->files);
	lo2_jw_key(w, "events");
	lo2_jw_arr(w);
	for (size_t i = 0; i < t->n_events; i++) {
		lo2_jw_obj(w);
		kv_int(w, "time_ns", t->events[i].time_ns);
		kv_str(w, "container", t->events[i].container);
		kv_str(w, "action", t->events[i].action);
		if (t->events[i].exit_code)
			kv_str(w, "exit_code", t->events[i].exit_code);
		lo2_jw_obj_end(w);
	}
	lo2_jw_arr_end(w);
	write_strv(w, "errors", &t->errors);
	write_sections(w, &t->sections);
	lo2_jw_key(w, "incomplete_attempts");
	lo2_jw_arr(w);
	for (size_t i = 0; i < t->n_attempts; i++) {
		const struct run_attempt *a = &t->attempts[i];

		lo2_jw_obj(w);
		kv_str(w, "dir", a->dir);
		kv_int(w, "session", a->session);
		kv_int(w, "start_ns", a->start_ns);
		kv_int(w, "end_ns", a->end_ns);
		write_files(w, "files", &a->files);
		lo2_jw_obj_end(w);
	}
	lo2_jw_arr_end(w);
	lo2_jw_obj_end(w);
}

static void write_sessions(struct lo2_jw *w, const struct run_manifest *m)
{
	lo2_jw_key(w, "sessions");
	lo2_jw_arr(w);
	for (size_t i = 0; i < m->n_sessions; i++) {
		const struct run_session_rec *r = &m->sessions[i];

		lo2_jw_obj(w);
		kv_int(w, "number", r->number);
		kv_int(w, "pid", r->pid);
		kv_int(w, "started_ns", r->started_ns);
		kv_int(w, "ended_ns", r->ended_ns);
		kv_str(w, "how", r->how);
		kv_int(w, "recovered_lines", (int64_t)r->recovered_lines);
		lo2_jw_obj_end(w);
	}
	lo2_jw_arr_end(w);
}

int run_manifest_write(const struct run_manifest *m, const char *path, struct lo2_err *err)
{
	struct lo2_jw *w = lo2_jw_new("    ");
	lo2_autofree char *text = NULL;
	char seed[32];
	size_t len = 0;

	snprintf(seed, sizeof(seed), "%" PRIu64, m->seed);
	lo2_jw_obj(w);
	kv_int(w, "format", MANIFEST_FORMAT);
	kv_str(w, "lo2_version", m->lo2_version);
	lo2_jw_key(w, "engine");
	lo2_jw_obj(w);
	kv_str(w, "host", m->engine_host);
	kv_str(w, "version", m->engine_version);
	kv_str(w, "api", m->engine_api);
	lo2_jw_obj_end(w);
	kv_str(w, "host", m->host);
	kv_str(w, "seed", seed); /* a string: 64-bit seeds do not survive JSON doubles */
	kv_str(w, "project", m->project);
	kv_str(w, "compose_file", m->compose_file);
	kv_str(w, "compose_sha256", m->compose_sha256);
	lo2_jw_key(w, "images");
	lo2_jw_obj(w);
	for (size_t i = 0; i < m->images.n; i++)
		kv_str(w, m->images.v[i].key, m->images.v[i].val);
	lo2_jw_obj_end(w);
	kv_int(w, "started_ns", m->started_ns);
	kv_int(w, "ended_ns", m->ended_ns);
	kv_double(w, "deploy_s", m->deploy_s);
	kv_double(w, "ready_s", m->ready_s);
	kv_str(w, "status", m->status);
	write_sessions(w, m);
	write_strv(w, "warnings", &m->warnings);
	write_sections(w, &m->sections);
	write_files(w, "files", &m->files);
	lo2_jw_key(w, "tests");
	lo2_jw_arr(w);
	for (size_t i = 0; i < m->n_tests; i++)
		write_test(w, &m->tests[i]);
	lo2_jw_arr_end(w);
	lo2_jw_obj_end(w);
	text = lo2_jw_finish(w, &len);
	if (lo2_write_file_atomic(path, text, len, err) < 0)
		return lo2_err_prefix(err, "write manifest");
	return 0;
}

/* ---- reading ---- */

static char *jstr(const struct lo2_json *o, const char *k)
{
	const char *s = lo2_json_str(lo2_json_get(o, k));

	return s ? xstrdup(s) : NULL;
}

static int64_t jint(const struct lo2_json *o, const char *k)
{
	int64_t v = 0;

	lo2_json_int(lo2_json_get(o, k), &v);
	return v;
}

static double jdouble(const struct lo2_json *o, const char *k)
{
	double v = 0;

	lo2_json_double(lo2_json_get(o, k), &v);
	return v;
}

static enum run_test_status status_of(const char *s)
{
	for (size_t i = 0; i < N_STATUS; i++)
		if (s && strcmp(s, status_names[i]) == 0)
			return (enum run_test_status)i;
	return RUN_TEST_PENDING;
}

static void read_files(const struct lo2_json *arr, struct run_files *fs)
{
	for (size_t i = 0; i < lo2_json_len(arr); i++) {
		const struct lo2_json *f = lo2_json_at(arr, i);
		const char *sum = lo2_json_str(lo2_json_get(f, "sha256"));
		struct run_file rf = {.path = jstr(f, "path"), .size = (uint64_t)jint(f, "size")};

		if (rf.path == NULL)
			continue;
		snprintf(rf.sha256, sizeof(rf.sha256), "%s", sum ? sum : "");
		fs->v = xrealloc(fs->v, (fs->n + 1) * sizeof(*fs->v));
		fs->v[fs->n++] = rf;
	}
}

static void read_sections(const struct lo2_json *obj, struct lo2_kvv *out)
{
	for (size_t i = 0; i < lo2_json_len(obj); i++) {
		struct lo2_jw *w = lo2_jw_new(NULL);
		lo2_autofree char *text = NULL;

		lo2_jw_node(w, lo2_json_val_at(obj, i));
		text = lo2_jw_finish(w, NULL);
		lo2_kvv_set(out, lo2_json_key_at(obj, i), text);
	}
}

static void read_strv(const struct lo2_json *arr, struct lo2_strv *out)
{
	for (size_t i = 0; i < lo2_json_len(arr); i++)
		if (lo2_json_str(lo2_json_at(arr, i)))
			lo2_strv_push(out, lo2_json_str(lo2_json_at(arr, i)));
}

static void read_test(const struct lo2_json *o, struct run_test *t)
{
	const struct lo2_json *events = lo2_json_get(o, "events"), *lc = lo2_json_get(o, "locust");
	const struct lo2_json *attempts = lo2_json_get(o, "incomplete_attempts");

	t->tag = jstr(o, "tag");
	t->load_tag = jstr(o, "load_tag");
	t->status = status_of(lo2_json_str(lo2_json_get(o, "status")));
	t->failure = jstr(o, "failure");
	t->session = (int)jint(o, "session");
	t->planned_s = (int)jint(o, "planned_duration_s");
	t->wait_s = (int)jint(o, "wait_s");
	t->gap_s = jdouble(o, "gap_after_s");
	t->start_ns = jint(o, "start_ns");
	t->end_ns = jint(o, "end_ns");
	t->collect_s = jdouble(o, "collect_s");
	t->locust_exit = lo2_json_get(lc, "exit_code") ? (int)jint(lc, "exit_code") : -1;
	t->have_counts = lo2_json_get(lc, "requests") != NULL;
	t->requests = (uint64_t)jint(lc, "requests");
	t->failures = (uint64_t)jint(lc, "failures");
	t->locust_stopped = jstr(lc, "stopped_past_deadline");
	t->locust_pid = (long)jint(lc, "pid");
	read_files(lo2_json_get(o, "files"), &t->files);
	for (size_t i = 0; i < lo2_json_len(events); i++) {
		const struct lo2_json *ev = lo2_json_at(events, i);

		run_manifest_add_event(t, jint(ev, "time_ns"), lo2_json_str(lo2_json_get(ev, "container")),
		                       lo2_json_str(lo2_json_get(ev, "action")),
		                       lo2_json_str(lo2_json_get(ev, "exit_code")));
	}
	read_strv(lo2_json_get(o, "errors"), &t->errors);
	read_sections(lo2_json_get(o, "collectors"), &t->sections);
	t->n_attempts = lo2_json_len(attempts);
	t->attempts = xcalloc(t->n_attempts + 1, sizeof(*t->attempts));
	for (size_t i = 0; i < t->n_attempts; i++) {
		const struct lo2_json *a = lo2_json_at(attempts, i);

		t->attempts[i].dir = jstr(a, "dir");
		t->attempts[i].session = (int)jint(a, "session");
		t->attempts[i].start_ns = jint(a, "start_ns");
		t->attempts[i].end_ns = jint(a, "end_ns");
		read_files(lo2_json_get(a, "files"), &t->attempts[i].files);
	}
}

static void read_sessions(const struct lo2_json *arr, struct run_manifest *m)
{
	m->n_sessions = lo2_json_len(arr);
	m->sessions = xcalloc(m->n_sessions + 1, sizeof(*m->sessions));
	for (size_t i = 0; i < m->n_sessions; i++) {
		const struct lo2_json *s = lo2_json_at(arr, i);
		struct run_session_rec *r = &m->sessions[i];

		r->number = (int)jint(s, "number");
		r->pid = (long)jint(s, "pid");
		r->started_ns = jint(s, "started_ns");
		r->ended_ns = jint(s, "ended_ns");
		r->how = jstr(s, "how");
		r->recovered_lines = (uint64_t)jint(s, "recovered_lines");
	}
}

int run_manifest_read(const char *path, struct run_manifest *m, struct lo2_err *err)
{
	lo2_autofree char *text = NULL;
	struct lo2_json *doc = NULL;
	const struct lo2_json *tests, *eng, *images;
	const char *seed;

	memset(m, 0, sizeof(*m));
	if (lo2_read_file(path, 256u * 1024 * 1024, &text, NULL, err) < 0 ||
	    lo2_json_parse(text, path, &doc, err) < 0)
		return lo2_err_prefix(err, "read manifest");
	seed = lo2_json_str(lo2_json_get(doc, "seed"));
	tests = lo2_json_get(doc, "tests");
	if (seed == NULL || !lo2_json_is_array(tests)) {
		lo2_json_free(doc);
		return lo2_err_set(err, LO2_E_INVALID,
		                   "read manifest %s: no seed or tests: not a run.json of lo2", path);
	}
	m->seed = strtoull(seed, NULL, 10);
	m->lo2_version = jstr(doc, "lo2_version");
	eng = lo2_json_get(doc, "engine");
	m->engine_host = jstr(eng, "host");
	m->engine_version = jstr(eng, "version");
	m->engine_api = jstr(eng, "api");
	m->host = jstr(doc, "host");
	m->project = jstr(doc, "project");
	m->compose_file = jstr(doc, "compose_file");
	m->compose_sha256 = jstr(doc, "compose_sha256");
	images = lo2_json_get(doc, "images");
	for (size_t i = 0; i < lo2_json_len(images); i++)
		if (lo2_json_str(lo2_json_val_at(images, i)))
			lo2_kvv_set(&m->images, lo2_json_key_at(images, i),
			            lo2_json_str(lo2_json_val_at(images, i)));
	m->started_ns = jint(doc, "started_ns");
	m->ended_ns = jint(doc, "ended_ns");
	m->deploy_s = jdouble(doc, "deploy_s");
	m->ready_s = jdouble(doc, "ready_s");
	m->status = jstr(doc, "status");
	read_sessions(lo2_json_get(doc, "sessions"), m);
	read_strv(lo2_json_get(doc, "warnings"), &m->warnings);
	read_sections(lo2_json_get(doc, "collectors"), &m->sections);
	read_files(lo2_json_get(doc, "files"), &m->files);
	m->n_tests = lo2_json_len(tests);
	m->tests = xcalloc(m->n_tests + 1, sizeof(*m->tests));
	for (size_t i = 0; i < m->n_tests; i++)
		read_test(lo2_json_at(tests, i), &m->tests[i]);
	lo2_json_free(doc);
	return 0;
}
