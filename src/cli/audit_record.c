/*
 * strait: what the CLI records in the audit log (user, key and policy
 * changes made on the node's host).
 */
#include "cli/cli.h"

#include "audit/audit.h"
#include "common/json.h"
#include "common/time.h"
#include "federation/nodekey.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void cli_audit(struct cli *c, const char *kind, ...)
{
	struct diag d;
	struct buf detail = BUF_INIT(AUDIT_DETAIL_MAX);
	struct jw w;
	jw_init(&w, &detail);
	jw_obj_open(&w);
	va_list ap;
	va_start(ap, kind);
	const char *key;
	while ((key = va_arg(ap, const char *)) != NULL) {
		const char *val = va_arg(ap, const char *);
		jw_key(&w, key);
		if (val != NULL)
			jw_str(&w, val);
		else
			jw_null(&w);
	}
	va_end(ap);
	jw_obj_close(&w);
	/* the account on the node's host that ran the command */
	char actor[AUDIT_ACTOR_MAX + 1];
	const struct passwd *pw = getpwuid(geteuid());
	if (pw != NULL)
		snprintf(actor, sizeof(actor), "cli:%s", pw->pw_name);
	else
		snprintf(actor, sizeof(actor), "cli:uid %u",
			 (unsigned)geteuid());
	struct audit *a = NULL;
	struct nodekeys *keys = NULL;
	int rc = jw_finish(&w) == ST_OK ? ST_OK
					: diag_set(&d, ST_EINVAL, "not UTF-8");
	if (rc == ST_OK)
		rc = audit_open(c->home, &a, &d);
	if (rc == ST_OK)
		rc = audit_append(a, time_now(), kind, actor, detail.data, NULL,
				  &d);
	/* A head signed after each change made here: serve signs its own
	 * on its schedule. */
	if (rc == ST_OK && nodekeys_load(c->home, &keys, &d) == ST_OK)
		rc = audit_sign_head(a, keys, time_now(), NULL, &d);
	if (rc != ST_OK)
		fprintf(stderr,
			"strait: warning: the audit log did not record %s: "
			"%s\n",
			kind, d.msg);
	nodekeys_free(keys);
	audit_close(a);
	buf_free(&detail);
}
