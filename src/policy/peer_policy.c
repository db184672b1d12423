/* strait: a partner's sharing policy (YAML); see peer_policy.h. */
#include "policy/peer_policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

struct ctx {
	yaml_parser_t p;
	yaml_event_t ev;
	bool have; /* ev holds an event to delete */
	struct diag *d;
};

/* The next event into c->ev. ST_OK or ST_ECONFIG. */
static int next(struct ctx *c)
{
	if (c->have)
		yaml_event_delete(&c->ev);
	c->have = false;
	if (!yaml_parser_parse(&c->p, &c->ev))
		return diag_set(c->d, ST_ECONFIG, "line %zu: %s",
				c->p.problem_mark.line + 1,
				c->p.problem ? c->p.problem : "YAML error");
	c->have = true;
	return ST_OK;
}

static size_t line(const struct ctx *c)
{
	return c->ev.start_mark.line + 1;
}

static const char *scalar(const struct ctx *c)
{
	return (const char *)c->ev.data.scalar.value;
}

static bool name_ok(const char *s, size_t n, const char *extra)
{
	if (n == 0 || n >= PEER_POLICY_ITEM_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      strchr(extra, ch) != NULL) ||
		    ch == '\0')
			return false;
	}
	return true;
}

enum kind { K_COLLECTION, K_TYPE, K_LABEL };

static bool item_ok(enum kind k, const char *s, size_t n)
{
	switch (k) {
	case K_COLLECTION: /* an id (UUID) or an alias */
		return name_ok(s, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_.");
	case K_TYPE:
		return n >= 3 && name_ok(s, n, "-");
	default: /* a label: any text, one line */
		return n > 0 && n < PEER_POLICY_ITEM_MAX &&
		       !memchr(s, '\n', n) && strlen(s) == n;
	}
}

/* A sequence of names into l, the key's name in messages. */
static int read_list(struct ctx *c, const char *key, enum kind k,
		     struct peer_list *l)
{
	int rc = next(c);
	if (rc != ST_OK)
		return rc;
	if (c->ev.type != YAML_SEQUENCE_START_EVENT)
		return diag_set(c->d, ST_ECONFIG,
				"line %zu: '%s' must be a list, e.g. [\"*\"]",
				line(c), key);
	free(l->items);
	l->items = NULL;
	l->n = 0;
	l->all = false;
	for (;;) {
		if ((rc = next(c)) != ST_OK)
			return rc;
		if (c->ev.type == YAML_SEQUENCE_END_EVENT)
			return ST_OK;
		if (c->ev.type != YAML_SCALAR_EVENT)
			return diag_set(c->d, ST_ECONFIG,
					"line %zu: '%s' must hold names only",
					line(c), key);
		const char *v = scalar(c);
		size_t n = c->ev.data.scalar.length;
		if (n == 1 && v[0] == '*') {
			l->all = true;
			continue;
		}
		if (!item_ok(k, v, n))
			return diag_set(c->d, ST_ECONFIG,
					"line %zu: '%s': '%.*s' is not a valid "
					"%s",
					line(c), key, (int)(n > 80 ? 80 : n), v,
					k == K_COLLECTION ? "collection id or "
							    "alias"
					: k == K_TYPE	  ? "STIX type"
							  : "label");
		if (l->n == PEER_POLICY_MAX_ITEMS)
			return diag_set(c->d, ST_ELIMIT,
					"line %zu: '%s' holds more than %d "
					"names",
					line(c), key, PEER_POLICY_MAX_ITEMS);
		if (l->items == NULL) {
			l->items =
			    calloc(PEER_POLICY_MAX_ITEMS, sizeof(*l->items));
			if (l->items == NULL)
				return diag_set(c->d, ST_ENOMEM,
						"out of memory");
		}
		memcpy(l->items[l->n++], v, n + 1);
	}
}

static int read_tlp_list(struct ctx *c, struct peer_policy *out)
{
	int rc = next(c);
	if (rc != ST_OK)
		return rc;
	if (c->ev.type != YAML_SEQUENCE_START_EVENT)
		return diag_set(c->d, ST_ECONFIG,
				"line %zu: 'tlp' must be a list, e.g. "
				"[clear, green]",
				line(c));
	memset(out->tlp, 0, sizeof(out->tlp));
	for (;;) {
		if ((rc = next(c)) != ST_OK)
			return rc;
		if (c->ev.type == YAML_SEQUENCE_END_EVENT)
			return ST_OK;
		enum tlp t;
		if (c->ev.type != YAML_SCALAR_EVENT ||
		    tlp_parse(scalar(c), &t) != ST_OK || t > TLP_RED)
			return diag_set(c->d, ST_ECONFIG,
					"line %zu: 'tlp': '%.80s' is not a TLP "
					"level (clear, green, amber, "
					"amber+strict, red)",
					line(c),
					c->ev.type == YAML_SCALAR_EVENT
					    ? scalar(c)
					    : "(not a name)");
		out->tlp[t] = true;
	}
}

static int read_scalar(struct ctx *c, const char *key)
{
	int rc = next(c);
	if (rc == ST_OK && c->ev.type != YAML_SCALAR_EVENT)
		rc = diag_set(c->d, ST_ECONFIG,
			      "line %zu: '%s' must be a single value", line(c),
			      key);
	return rc;
}

/* The keys of "deny". */
static int read_deny(struct ctx *c, struct peer_policy *out)
{
	int rc = next(c);
	if (rc != ST_OK)
		return rc;
	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return diag_set(c->d, ST_ECONFIG,
				"line %zu: 'deny' must hold collections, "
				"types and labels",
				line(c));
	unsigned seen = 0;
	for (;;) {
		if ((rc = next(c)) != ST_OK)
			return rc;
		if (c->ev.type == YAML_MAPPING_END_EVENT)
			return ST_OK;
		if (c->ev.type != YAML_SCALAR_EVENT)
			return diag_set(c->d, ST_ECONFIG,
					"line %zu: expected a key in 'deny'",
					line(c));
		const char *k = scalar(c);
		unsigned bit;
		struct peer_list *l;
		enum kind kind;
		if (strcmp(k, "collections") == 0) {
			bit = 1, l = &out->deny_collections,
			kind = K_COLLECTION;
		} else if (strcmp(k, "types") == 0) {
			bit = 2, l = &out->deny_types, kind = K_TYPE;
		} else if (strcmp(k, "labels") == 0) {
			bit = 4, l = &out->deny_labels, kind = K_LABEL;
		} else {
			return diag_set(c->d, ST_ECONFIG,
					"line %zu: unknown key 'deny.%.60s' "
					"(collections, types, labels)",
					line(c), k);
		}
		if (seen & bit)
			return diag_set(c->d, ST_ECONFIG,
					"line %zu: 'deny.%s' given twice",
					line(c), k);
		seen |= bit;
		char name[32];
		snprintf(name, sizeof(name), "deny.%s", k);
		if ((rc = read_list(c, name, kind, l)) != ST_OK)
			return rc;
	}
}

static const char *const keys[] = {"tlp",	 "collections", "types",
				   "labels",	 "deny",	"relay_green",
				   "default_tlp"};

static int read_top(struct ctx *c, struct peer_policy *out)
{
	int rc;
	unsigned seen = 0;
	do {
		rc = next(c);
	} while (rc == ST_OK && (c->ev.type == YAML_STREAM_START_EVENT ||
				 c->ev.type == YAML_DOCUMENT_START_EVENT));
	if (rc != ST_OK)
		return rc;
	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return diag_set(c->d, ST_ECONFIG,
				"line %zu: a policy is a mapping of tlp, "
				"collections, types, labels, deny, "
				"relay_green, default_tlp",
				line(c));
	for (;;) {
		if ((rc = next(c)) != ST_OK)
			return rc;
		if (c->ev.type == YAML_MAPPING_END_EVENT)
			break;
		if (c->ev.type != YAML_SCALAR_EVENT)
			return diag_set(c->d, ST_ECONFIG,
					"line %zu: expected a key", line(c));
		const char *k = scalar(c);
		size_t i = 0;
		while (i < sizeof(keys) / sizeof(keys[0]) &&
		       strcmp(keys[i], k) != 0)
			i++;
		if (i == sizeof(keys) / sizeof(keys[0]))
			return diag_set(c->d, ST_ECONFIG,
					"line %zu: unknown key '%.60s'",
					line(c), k);
		if (seen & (1u << i))
			return diag_set(c->d, ST_ECONFIG,
					"line %zu: '%s' given twice", line(c),
					keys[i]);
		seen |= 1u << i;
		switch (i) {
		case 0:
			rc = read_tlp_list(c, out);
			break;
		case 1:
			rc = read_list(c, "collections", K_COLLECTION,
				       &out->collections);
			break;
		case 2:
			rc = read_list(c, "types", K_TYPE, &out->types);
			break;
		case 3:
			rc = read_list(c, "labels", K_LABEL, &out->labels);
			break;
		case 4:
			rc = read_deny(c, out);
			break;
		case 5:
			if ((rc = read_scalar(c, "relay_green")) != ST_OK)
				break;
			if (strcasecmp(scalar(c), "true") == 0)
				out->relay_green = true;
			else if (strcasecmp(scalar(c), "false") == 0)
				out->relay_green = false;
			else
				rc = diag_set(c->d, ST_ECONFIG,
					      "line %zu: 'relay_green' must "
					      "be true or false",
					      line(c));
			break;
		default: {
			enum tlp t;
			if ((rc = read_scalar(c, "default_tlp")) != ST_OK)
				break;
			if (tlp_parse(scalar(c), &t) != ST_OK || t > TLP_RED)
				rc = diag_set(c->d, ST_ECONFIG,
					      "line %zu: 'default_tlp': "
					      "'%.80s' is not a TLP level",
					      line(c), scalar(c));
			out->default_tlp = t;
			out->has_default_tlp = true;
			break;
		}
		}
		if (rc != ST_OK)
			return rc;
	}
	/* One document only. */
	if ((rc = next(c)) != ST_OK)
		return rc;
	if ((rc = next(c)) != ST_OK)
		return rc;
	if (c->ev.type != YAML_STREAM_END_EVENT)
		return diag_set(c->d, ST_ECONFIG,
				"line %zu: one policy per file", line(c));
	return ST_OK;
}

int peer_policy_parse(const char *text, size_t len, struct peer_policy *out,
		      struct diag *d)
{
	struct ctx c;
	memset(out, 0, sizeof(*out));
	if (len > PEER_POLICY_MAX_BYTES)
		return diag_set(d, ST_ELIMIT, "a policy is at most %d bytes",
				PEER_POLICY_MAX_BYTES);
	if (memchr(text, '\0', len) != NULL)
		return diag_set(d, ST_ECONFIG, "a NUL byte in the policy");
	memset(&c, 0, sizeof(c));
	c.d = d;
	if (!yaml_parser_initialize(&c.p))
		return diag_set(d, ST_ENOMEM, "out of memory");
	yaml_parser_set_input_string(&c.p, (const unsigned char *)text, len);
	int rc = read_top(&c, out);
	if (c.have)
		yaml_event_delete(&c.ev);
	yaml_parser_delete(&c.p);
	if (rc != ST_OK)
		peer_policy_free(out);
	return rc;
}

int peer_policy_load(const char *path, struct peer_policy *out, struct diag *d)
{
	memset(out, 0, sizeof(*out));
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return diag_set(d, errno == ENOENT ? ST_ENOTFOUND : ST_EIO,
				"%s: %s", path, strerror(errno));
	char *buf = malloc(PEER_POLICY_MAX_BYTES + 1);
	size_t n = buf ? fread(buf, 1, PEER_POLICY_MAX_BYTES + 1, f) : 0;
	int err = ferror(f);
	fclose(f);
	int rc;
	if (buf == NULL)
		rc = diag_set(d, ST_ENOMEM, "out of memory");
	else if (err)
		rc = diag_set(d, ST_EIO, "%s: cannot read", path);
	else
		rc = peer_policy_parse(buf, n, out, d);
	if (rc != ST_OK && buf != NULL && d != NULL) {
		char msg[DIAG_MAX];
		snprintf(msg, sizeof(msg), "%s", d->msg);
		diag_set(d, rc, "%s: %s", path, msg);
	}
	free(buf);
	return rc;
}

static void list_free(struct peer_list *l)
{
	free(l->items);
	memset(l, 0, sizeof(*l));
}

void peer_policy_free(struct peer_policy *p)
{
	if (p == NULL)
		return;
	list_free(&p->collections);
	list_free(&p->types);
	list_free(&p->labels);
	list_free(&p->deny_collections);
	list_free(&p->deny_types);
	list_free(&p->deny_labels);
	memset(p, 0, sizeof(*p));
}

bool peer_list_has(const struct peer_list *l, const char *name)
{
	if (l->all)
		return true;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i], name) == 0)
			return true;
	return false;
}
