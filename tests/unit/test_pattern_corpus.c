/*
 * The STIX patterning conformance corpus (the .json files in
 * tests/data/pattern), written from the specification independently of
 * src/pattern. Each case is parsed, its objects read as observations and
 * the pattern evaluated; the outcome ("match", "nomatch" or "invalid")
 * and, where the case names them, the observed-data of the satisfying
 * binding must be as expected. Every failing case is printed before the
 * test fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/arena.h"
#include "common/json.h"
#include "pattern/pattern.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CORPUS_DIR TEST_DATA_DIR "/pattern"
#define CORPUS_MIN_CASES 300
#define MAX_FILES 64

enum expect { EXPECT_MATCH, EXPECT_NOMATCH, EXPECT_INVALID };

static const char *const expect_names[] = {"match", "nomatch", "invalid"};

/* One corpus file: its text and the parsed tree (owned by doc). */
struct corpus_file {
	char name[256];
	char *text;
	struct json_doc *doc;
	const struct json_val *cases; /* the top-level array */
};

struct corpus {
	struct corpus_file files[MAX_FILES];
	size_t n_files;
	size_t n_cases;
};

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) != NULL) {
		*len = fread(p, 1, (size_t)n, f);
		p[*len] = '\0';
	}
	fclose(f);
	return p;
}

static int cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct corpus_file *)a)->name,
		      ((const struct corpus_file *)b)->name);
}

/* Loads every *.json of the corpus directory, in name order. */
static int setup(void **state)
{
	struct corpus *c = calloc(1, sizeof(*c));
	DIR *dir = opendir(CORPUS_DIR);
	struct dirent *e;
	if (c == NULL || dir == NULL) {
		print_error("cannot open %s\n", CORPUS_DIR);
		free(c);
		if (dir != NULL)
			closedir(dir);
		return -1;
	}
	while ((e = readdir(dir)) != NULL) {
		size_t nl = strlen(e->d_name);
		if (nl < 6 || strcmp(e->d_name + nl - 5, ".json") != 0)
			continue;
		if (c->n_files == MAX_FILES || nl >= sizeof(c->files[0].name))
			break;
		snprintf(c->files[c->n_files++].name, sizeof(c->files[0].name),
			 "%s", e->d_name);
	}
	closedir(dir);
	qsort(c->files, c->n_files, sizeof(c->files[0]), cmp_file);
	*state = c;
	for (size_t i = 0; i < c->n_files; i++) {
		struct corpus_file *f = &c->files[i];
		char path[512];
		size_t len = 0;
		struct diag d = {{0}};
		snprintf(path, sizeof(path), "%s/%s", CORPUS_DIR, f->name);
		f->text = slurp(path, &len);
		f->doc = json_doc_new();
		if (f->text == NULL || f->doc == NULL) {
			print_error("%s: cannot read\n", path);
			return -1;
		}
		if (json_parse(f->doc, f->text, len, 0, NULL, &f->cases, &d) !=
		    ST_OK) {
			print_error("%s: %s\n", path, d.msg);
			return -1;
		}
		if (f->cases->type != JSON_ARRAY) {
			print_error("%s: not a JSON array\n", path);
			return -1;
		}
		c->n_cases += f->cases->len;
	}
	return 0;
}

static int teardown(void **state)
{
	struct corpus *c = *state;
	if (c == NULL)
		return 0;
	for (size_t i = 0; i < c->n_files; i++) {
		json_doc_free(c->files[i].doc);
		free(c->files[i].text);
	}
	free(c);
	return 0;
}

/* The string member key of obj, or NULL. */
static const char *get_str(const struct json_val *obj, const char *key)
{
	const struct json_val *v = json_get(obj, key);
	return v != NULL && v->type == JSON_STRING ? v->u.str : NULL;
}

/* Prints s with control characters escaped, so a case reads on one line. */
static void print_text(const char *label, const char *s, size_t len)
{
	char out[1024];
	size_t o = 0;
	for (size_t i = 0; i < len && o + 8 < sizeof(out); i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\n' || ch == '\r' || ch == '\t')
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\%c",
					      ch == '\n'   ? 'n'
					      : ch == '\r' ? 'r'
							   : 't');
		else if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(out + o, sizeof(out) - o,
					      "\\x%02x", ch);
		else
			out[o++] = (char)ch;
	}
	out[o] = '\0';
	print_error("    %-9s %s\n", label, out);
}

/* Why a case is malformed, or NULL if it has every field it needs. */
static const char *case_shape(const struct json_val *c, enum expect *e)
{
	const struct json_val *objs = json_get(c, "objects");
	const struct json_val *want = json_get(c, "observations");
	const char *exp = get_str(c, "expect");
	if (c->type != JSON_OBJECT)
		return "not an object";
	if (get_str(c, "name") == NULL || get_str(c, "name")[0] == '\0')
		return "no name";
	if (get_str(c, "ref") == NULL)
		return "no ref";
	if (get_str(c, "pattern") == NULL)
		return "no pattern";
	if (objs == NULL || objs->type != JSON_ARRAY)
		return "objects is not an array";
	if (exp == NULL)
		return "no expect";
	for (int i = 0; i <= EXPECT_INVALID; i++)
		if (strcmp(exp, expect_names[i]) == 0)
			*e = (enum expect)i;
	if (strcmp(exp, expect_names[*e]) != 0)
		return "expect is not match, nomatch or invalid";
	if (want != NULL) {
		if (want->type != JSON_ARRAY || *e != EXPECT_MATCH)
			return "observations given, but not an array on a "
			       "match";
		for (uint32_t i = 0; i < want->len; i++)
			if (want->u.items[i].type != JSON_STRING)
				return "observations holds a non-string";
	}
	return NULL;
}

/*
 * Compares the satisfying observations with the ids the case names (as
 * sets). On a mismatch writes what was found into got.
 */
static bool same_observations(const struct json_val *want,
			      const struct pat_observation *obs, size_t n,
			      const struct pat_result *r, char *got, size_t cap)
{
	bool ok = r->n_obs == want->len;
	size_t o = 0;
	got[0] = '\0';
	for (size_t i = 0; i < r->n_obs; i++) {
		uint32_t k = r->obs[i];
		const char *id = k < n ? obs[k].id : NULL;
		bool found = false;
		if (id == NULL || (i > 0 && r->obs[i - 1] >= k))
			ok = false; /* out of range, unsorted or repeated */
		for (uint32_t j = 0; id != NULL && j < want->len; j++)
			if (strcmp(want->u.items[j].u.str, id) == 0)
				found = true;
		ok = ok && found;
		if (o < cap)
			o += (size_t)snprintf(got + o, cap - o, "%s%s",
					      i ? ", " : "",
					      id != NULL ? id : "(bad index)");
	}
	return ok;
}

/*
 * Runs one case. Returns true if the implementation did what the case
 * expects; otherwise prints the case and what happened.
 */
static bool run_case(const struct json_val *c, const char *file,
		     struct arena *a)
{
	enum expect e = EXPECT_MATCH;
	const char *shape = case_shape(c, &e);
	const char *name = get_str(c, "name");
	const struct json_val *pat = json_get(c, "pattern");
	const struct json_val *want = json_get(c, "observations");
	struct pattern *p = NULL;
	struct pat_observation *obs = NULL;
	struct pat_result r = {0};
	struct diag d = {{0}};
	size_t n = 0;
	char got[1024];
	bool ok = false;
	int rc;

	if (shape != NULL) {
		print_error("FAIL %s: case %s: malformed: %s\n", file,
			    name != NULL ? name : "?", shape);
		return false;
	}
	rc = pattern_parse(pat->u.str, pat->len, NULL, &p, &d);
	if (rc != ST_OK) {
		ok = e == EXPECT_INVALID && rc == ST_EINVAL && d.msg[0] != '\0';
		snprintf(got, sizeof(got), "parse error %d (%s): %s", rc,
			 st_strerror(rc),
			 d.msg[0] != '\0' ? d.msg : "(no message)");
		goto out;
	}
	if (e == EXPECT_INVALID) {
		snprintf(got, sizeof(got), "parsed without error");
		goto out;
	}
	arena_reset(a);
	rc = pattern_observations(json_get(c, "objects"), a, &obs, &n, &d);
	if (rc != ST_OK) {
		snprintf(got, sizeof(got), "pattern_observations %d: %s", rc,
			 d.msg);
		goto out;
	}
	rc = pattern_eval(p, obs, n, &r, &d);
	if (rc != ST_OK) {
		snprintf(got, sizeof(got), "pattern_eval %d: %s", rc, d.msg);
		goto out;
	}
	if (r.matched != (e == EXPECT_MATCH)) {
		snprintf(got, sizeof(got), "%s",
			 r.matched ? "match" : "nomatch");
		goto out;
	}
	ok = true;
	if (r.matched && want != NULL) {
		char ids[900];
		ok = same_observations(want, obs, n, &r, ids, sizeof(ids));
		snprintf(got, sizeof(got), "match, observations [%s]", ids);
	}
out:
	if (!ok) {
		print_error("FAIL %s: %s (%s)\n", file, name,
			    get_str(c, "ref"));
		print_text("pattern:", pat->u.str, pat->len);
		if (want != NULL && e == EXPECT_MATCH) {
			char ids[900];
			size_t o = 0;
			ids[0] = '\0';
			for (uint32_t i = 0; i < want->len && o < sizeof(ids);
			     i++)
				o += (size_t)snprintf(ids + o, sizeof(ids) - o,
						      "%s%s", i ? ", " : "",
						      want->u.items[i].u.str);
			print_error("    expected: match, observations [%s]\n",
				    ids);
		} else {
			print_error("    expected: %s\n", expect_names[e]);
		}
		print_error("    got:      %s\n", got);
	}
	pat_result_clear(&r);
	pattern_free(p);
	return ok;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The corpus itself: big enough, every case well formed, names unique. */
static void test_corpus_shape(void **state)
{
	struct corpus *c = *state;
	const char **names = calloc(c->n_cases + 1, sizeof(*names));
	size_t k = 0, problems = 0;
	assert_non_null(names);
	for (size_t i = 0; i < c->n_files; i++) {
		const struct json_val *cases = c->files[i].cases;
		for (uint32_t j = 0; j < cases->len; j++) {
			enum expect e = EXPECT_MATCH;
			const char *why = case_shape(&cases->u.items[j], &e);
			if (why != NULL) {
				print_error("%s: case %u: %s\n",
					    c->files[i].name, j, why);
				problems++;
				continue;
			}
			names[k++] = get_str(&cases->u.items[j], "name");
		}
	}
	qsort(names, k, sizeof(*names), cmp_str);
	for (size_t i = 1; i < k; i++) {
		if (strcmp(names[i - 1], names[i]) == 0) {
			print_error("duplicate case name %s\n", names[i]);
			problems++;
		}
	}
	free(names);
	if (c->n_cases < CORPUS_MIN_CASES)
		print_error("only %zu cases in %zu files (want >= %d)\n",
			    c->n_cases, c->n_files, CORPUS_MIN_CASES);
	assert_true(c->n_cases >= CORPUS_MIN_CASES);
	assert_int_equal(problems, 0);
}

/* Every case, with every failure reported before the test fails. */
static void test_corpus_cases(void **state)
{
	struct corpus *c = *state;
	struct arena *a = arena_new(64 * 1024);
	size_t failures = 0, runs = 0;
	assert_non_null(a);
	for (size_t i = 0; i < c->n_files; i++) {
		const struct json_val *cases = c->files[i].cases;
		for (uint32_t j = 0; j < cases->len; j++) {
			runs++;
			if (!run_case(&cases->u.items[j], c->files[i].name, a))
				failures++;
		}
	}
	arena_free(a);
	if (failures != 0)
		print_error("%zu of %zu corpus cases failed\n", failures, runs);
	assert_int_equal(failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_corpus_shape),
	    cmocka_unit_test(test_corpus_cases),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
