/*
 * A valid, realistic example of every type of the specification (in
 * tests/data/stix/valid/<type>.json, modelled on the specification's
 * examples) must validate with no error and no warning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stix/stix_int.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void test_every_type_valid(void **state)
{
	(void)state;
	const char *dir = TEST_DATA_DIR "/stix/valid";
	DIR *d = opendir(dir);
	struct dirent *e;
	struct json_doc *doc = json_doc_new();
	struct stix_report rep;
	struct stix_info info;
	bool seen[T__SPEC] = {false};
	unsigned failures = 0, files = 0;

	assert_non_null(d);
	stix_report_init(&rep);
	while ((e = readdir(d)) != NULL) {
		char path[512];
		size_t len = 0, nl = strlen(e->d_name);
		const struct json_val *v = NULL;
		if (nl < 6 || strcmp(e->d_name + nl - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		char *text = slurp(path, &len);
		assert_non_null(text);
		assert_int_equal(json_parse(doc, text, len, 0, NULL, &v, NULL),
				 ST_OK);
		stix_report_reset(&rep);
		int rc = stix_validate(v, &info, &rep);
		int tid = stix_type_find(info.type, strlen(info.type));
		files++;
		if (rc != ST_OK || rep.n != 0 || tid < 0 ||
		    strncmp(e->d_name, info.type, nl - 5) != 0 ||
		    !json_str_eq(json_get(v, "id"), info.id) ||
		    info.kind != stix_types[tid].kind) {
			failures++;
			print_error("%s: rc %d, type %s\n", e->d_name, rc,
				    info.type);
			for (uint32_t i = 0; i < rep.n; i++)
				print_error("    %s %s: %s\n",
					    rep.items[i].error ? "E" : "W",
					    rep.items[i].path,
					    rep.items[i].msg);
		} else {
			seen[tid] = true;
		}
		free(text);
	}
	closedir(d);
	for (int t = 0; t < T__SPEC; t++) {
		if (!seen[t]) {
			print_error("no valid example of %s\n",
				    stix_types[t].name);
			failures++;
		}
	}
	assert_true(files >= T__SPEC);
	assert_int_equal(failures, 0);
	stix_report_free(&rep);
	json_doc_free(doc);
}

/* The tables themselves: sorted types, rows that fit a frame. */
static void test_tables(void **state)
{
	(void)state;
	for (int t = 0; t < T__SPEC; t++) {
		assert_int_equal(stix_type_find(stix_types[t].name,
						strlen(stix_types[t].name)),
				 t);
		if (t > 0)
			assert_true(strcmp(stix_types[t - 1].name,
					   stix_types[t].name) < 0);
	}
	for (int t = 0; t < T__COUNT; t++) {
		const struct pindex *ix = stix_type_index(t);
		assert_int_equal(ix->n,
				 stix_types[t].n + stix_types[t].ncommon);
		for (unsigned i = 1; i < ix->n; i++)
			assert_true(strcmp(ix->p[i - 1]->name, ix->p[i]->name) <
				    0);
		for (unsigned i = 0; i < ix->n; i++)
			assert_int_equal(ix->p[i]->len, strlen(ix->p[i]->name));
	}
	assert_int_equal(stix_type_find("bundle", 6), -1);
	assert_int_equal(stix_type_find("", 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_type_valid),
	    cmocka_unit_test(test_tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
