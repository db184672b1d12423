/*
 * Fuzzes stix_validate(): any JSON that parses is validated, and the
 * report must agree with the return code.
 */
#include "stix/stix.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct json_doc *doc;
	static struct stix_report rep;
	const struct json_val *v = NULL;
	struct stix_info info;

	if (doc == NULL && (doc = json_doc_new()) == NULL)
		abort();
	if (json_parse(doc, (const char *)data, size, 0, NULL, &v, NULL) !=
	    ST_OK)
		return 0;
	stix_report_reset(&rep);
	int rc = stix_validate(v, &info, &rep);
	if (rc == ST_OK && rep.n_errors != 0)
		abort();
	if (rc == ST_ESTIX && rep.n_errors == 0)
		abort();
	if (rc != ST_OK && rc != ST_ESTIX && rc != ST_ENOMEM)
		abort();
	if (memchr(info.id, '\0', sizeof(info.id)) == NULL ||
	    memchr(info.type, '\0', sizeof(info.type)) == NULL)
		abort();
	if (rc == ST_OK &&
	    (info.id[0] == '\0' ||
	     strncmp(info.id, info.type, strlen(info.type)) != 0 ||
	     strncmp(info.id + strlen(info.type), "--", 2) != 0))
		abort();
	if (rep.n > rep.n_errors + rep.n_warnings + 1)
		abort();
	for (uint32_t i = 0; i < rep.n; i++) {
		if (memchr(rep.items[i].path, '\0',
			   sizeof(rep.items[i].path)) == NULL ||
		    memchr(rep.items[i].msg, '\0', sizeof(rep.items[i].msg)) ==
			NULL)
			abort();
	}
	return 0;
}
