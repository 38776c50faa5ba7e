/* manifest.c - run.json written and read back (see manifest.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/file.h"
#include "common/json.h"
#include "common/mem.h"
#include "common/sha256.h"
#include "run/manifest.h"

static const char *const status_names[] = {"pending", "running", "complete", "incomplete"};

const char *run_test_status_name(enum run_test_status s)
{
	return status_names[s];
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
		m->tests[i].planned_s = s->tests[i].duration_s;
		m->tests[i].wait_s = s->tests[i].wait_s;
		m->tests[i].locust_exit = -1;
	}
}

static void test_free(struct run_test *t)
{
	free(t->tag);
	run_test_reset(t);
}

void run_test_reset(struct run_test *t)
{
	for (size_t i = 0; i < t->n_files; i++)
		free(t->files[i].path);
	free(t->files);
	for (size_t i = 0; i < t->n_events; i++) {
		free(t->events[i].container);
		free(t->events[i].action);
		free(t->events[i].exit_code);
	}
	free(t->events);
	lo2_strv_free(&t->errors);
	t->files = NULL;
	t->n_files = 0;
	t->events = NULL;
	t->n_events = 0;
	t->start_ns = t->end_ns = 0;
	t->have_counts = false;
	t->locust_exit = -1;
	t->collect_s = 0;
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
	for (size_t i = 0; i < m->n_tests; i++)
		test_free(&m->tests[i]);
	free(m->tests);
	memset(m, 0, sizeof(*m));
}

int run_manifest_add_file(struct run_test *t, const char *root, const char *rel, struct lo2_err *err)
{
	lo2_autofree char *full = xasprintf("%s/%s", root, rel);
	struct run_file f = {0};

	if (lo2_sha256_file(full, f.sha256, &f.size, err) < 0)
		return -1;
	f.path = xstrdup(rel);
	t->files = xrealloc(t->files, (t->n_files + 1) * sizeof(*t->files));
	t->files[t->n_files++] = f;
	return 0;
}

void run_manifest_add_event(struct run_test *t, int64_t time_ns, const char *container, const char *action,
                            const char *exit_code)
{
	t->events = xrealloc(t->events, (t->n_events + 1) * sizeof(*t->events));
	t->events[t->n_events++] =
	    (struct run_event){time_ns, xstrdup(container), xstrdup(action), xstrdup(exit_code)};
}

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

static void write_test(struct lo2_jw *w, const struct run_test *t)
{
	lo2_jw_obj(w);
	kv_str(w, "tag", t->tag);
	kv_str(w, "status", run_test_status_name(t->status));
	kv_int(w, "planned_duration_s", t->planned_s);
	kv_int(w, "wait_s", t->wait_s);
	kv_int(w, "start_ns", t->start_ns);
	kv_int(w, "end_ns", t->end_ns);
	lo2_jw_key(w, "actual_duration_s");
	lo2_jw_double(w, t->end_ns > t->start_ns ? (double)(t->end_ns - t->start_ns) / 1e9 : 0.0);
	lo2_jw_key(w, "collect_s");
	lo2_jw_double(w, t->collect_s);
	lo2_jw_key(w, "locust");
	lo2_jw_obj(w);
	kv_int(w, "exit_code", t->locust_exit);
	if (t->have_counts) {
		kv_int(w, "requests", (int64_t)t->requests);
		kv_int(w, "failures", (int64_t)t->failures);
	}
	lo2_jw_obj_end(w);
	lo2_jw_key(w, "files");
	lo2_jw_arr(w);
	for (size_t i = 0; i < t->n_files; i++) {
		lo2_jw_obj(w);
		kv_str(w, "path", t->files[i].path);
		kv_int(w, "size", (int64_t)t->files[i].size);
		kv_str(w, "sha256", t->files[i].sha256);
		lo2_jw_obj_end(w);
	}
	lo2_jw_arr_end(w);
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
	lo2_jw_key(w, "errors");
	lo2_jw_arr(w);
	for (size_t i = 0; i < t->errors.n; i++)
		lo2_jw_str(w, t->errors.v[i]);
	lo2_jw_arr_end(w);
	lo2_jw_obj_end(w);
}

int run_manifest_write(const struct run_manifest *m, const char *path, struct lo2_err *err)
{
	struct lo2_jw *w = lo2_jw_new("    ");
	lo2_autofree char *text = NULL;
	char seed[32];
	size_t len = 0;

	snprintf(seed, sizeof(seed), "%" PRIu64, m->seed);
	lo2_jw_obj(w);
	kv_int(w, "format", 1);
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
	kv_int(w, "logs_until_ns", m->logs_until_ns);
	lo2_jw_key(w, "deploy_s");
	lo2_jw_double(w, m->deploy_s);
	kv_str(w, "status", m->status);
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

static char *jstr(const struct lo2_json *o, const char *k)
{
	return xstrdup(lo2_json_str(lo2_json_get(o, k)));
}

static int64_t jint(const struct lo2_json *o, const char *k)
{
	int64_t v = 0;

	lo2_json_int(lo2_json_get(o, k), &v);
	return v;
}

static enum run_test_status status_of(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (s && strcmp(s, status_names[i]) == 0)
			return (enum run_test_status)i;
	return RUN_TEST_PENDING;
}

static void read_test(const struct lo2_json *o, struct run_test *t)
{
	const struct lo2_json *files = lo2_json_get(o, "files"), *events = lo2_json_get(o, "events");
	const struct lo2_json *errs = lo2_json_get(o, "errors"), *lc = lo2_json_get(o, "locust");

	t->tag = jstr(o, "tag");
	t->status = status_of(lo2_json_str(lo2_json_get(o, "status")));
	t->planned_s = (int)jint(o, "planned_duration_s");
	t->wait_s = (int)jint(o, "wait_s");
	t->start_ns = jint(o, "start_ns");
	t->end_ns = jint(o, "end_ns");
	lo2_json_double(lo2_json_get(o, "collect_s"), &t->collect_s);
	t->locust_exit = (int)jint(lc, "exit_code");
	t->have_counts = lo2_json_get(lc, "requests") != NULL;
	t->requests = (uint64_t)jint(lc, "requests");
	t->failures = (uint64_t)jint(lc, "failures");
	for (size_t i = 0; i < lo2_json_len(files); i++) {
		const struct lo2_json *f = lo2_json_at(files, i);
		const char *sum = lo2_json_str(lo2_json_get(f, "sha256"));
		struct run_file rf = {.path = jstr(f, "path"), .size = (uint64_t)jint(f, "size")};

		snprintf(rf.sha256, sizeof(rf.sha256), "%s", sum ? sum : "");
		t->files = xrealloc(t->files, (t->n_files + 1) * sizeof(*t->files));
		t->files[t->n_files++] = rf;
	}
	for (size_t i = 0; i < lo2_json_len(events); i++) {
		const struct lo2_json *ev = lo2_json_at(events, i);

		run_manifest_add_event(t, jint(ev, "time_ns"), lo2_json_str(lo2_json_get(ev, "container")),
		                       lo2_json_str(lo2_json_get(ev, "action")),
		                       lo2_json_str(lo2_json_get(ev, "exit_code")));
	}
	for (size_t i = 0; i < lo2_json_len(errs); i++)
		if (lo2_json_str(lo2_json_at(errs, i)))
			lo2_strv_push(&t->errors, lo2_json_str(lo2_json_at(errs, i)));
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
		lo2_kvv_set(&m->images, lo2_json_key_at(images, i), lo2_json_str(lo2_json_val_at(images, i)));
	m->started_ns = jint(doc, "started_ns");
	m->ended_ns = jint(doc, "ended_ns");
	m->logs_until_ns = jint(doc, "logs_until_ns");
	lo2_json_double(lo2_json_get(doc, "deploy_s"), &m->deploy_s);
	m->status = jstr(doc, "status");
	m->n_tests = lo2_json_len(tests);
	m->tests = xcalloc(m->n_tests + 1, sizeof(*m->tests));
	for (size_t i = 0; i < m->n_tests; i++)
		read_test(lo2_json_at(tests, i), &m->tests[i]);
	lo2_json_free(doc);
	return 0;
}
