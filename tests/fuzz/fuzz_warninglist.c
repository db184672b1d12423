/*
 * Fuzzes wl_set_load_mem: a list either loads whole (one list, its
 * entries counted) or is refused with a message and leaves the set empty.
 * Whatever loads is then checked against values of every kind, and the
 * input itself is checked, as a value of every kind, against a fixed set
 * holding one list of each type (host and URL parsing see the bytes).
 */
#include "pattern/warninglist.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const probes[] = {
    "10.1.2.3",
    "2001:db8::1",
    "http://a.example.com:80/p?q",
    "example.com",
    "user@mail.example.com",
    "d41d8cd98f00b204e9800998ecf8427e",
    "",
    "a",
};

#define FIXED                                                        \
	"{\"name\": \"%s\", \"version\": 1, \"description\": \"\", " \
	"\"type\": \"%s\", \"list\": [%s]}"

static struct wl_set *fixed_set(void)
{
	static const char *const lists[][2] = {
	    {"cidr", "\"10.0.0.0/8\", \"2001:db8::/32\", \"0.0.0.0/32\""},
	    {"string", "\"example.com\", \"A\""},
	    {"hostname", "\"example.com\", \"*.test\""},
	    {"substring", "\"evil\", \"%\""},
	    {"regex", "\"/^(a|b)+c$/i\", \"x.*y\""},
	};
	struct wl_set *s = wl_set_new();
	char buf[512];

	for (size_t i = 0; s != NULL && i < 5; i++) {
		int n = snprintf(buf, sizeof(buf), FIXED, lists[i][0],
				 lists[i][0], lists[i][1]);
		if (wl_set_load_mem(s, "fixed", buf, (size_t)n, NULL) != ST_OK)
			abort();
	}
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wl_set *known;
	struct wl_set *s = wl_set_new();
	struct diag d = {""};
	struct ip_prefix p;

	if (s == NULL || (known == NULL && (known = fixed_set()) == NULL))
		abort();
	int rc = wl_set_load_mem(s, "in", (const char *)data, size, &d);
	if (rc != ST_OK && (wl_set_lists(s) != 0 || wl_set_entries(s) != 0 ||
			    strncmp(d.msg, "in: ", 4) != 0))
		abort();
	if (rc == ST_OK && wl_set_lists(s) != 1)
		abort();
	for (int k = WL_KIND_IP; k <= WL_KIND_OTHER; k++) {
		for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
			wl_check(s, (enum wl_kind)k, probes[i],
				 strlen(probes[i]));
		wl_check(known, (enum wl_kind)k, (const char *)data, size);
	}
	if (ip_parse((const char *)data, size, &p)) {
		wl_check_prefix(known, &p);
		wl_check_prefix(s, &p);
	}
	wl_set_free(s);
	return 0;
}
