/*
 * strait: TAXII 2.1 endpoints. Each handler checks the account's access to
 * the collection (src/auth), reads through the release decision
 * (src/policy) and writes TAXII JSON with the project's writer; every error
 * goes through http_error(), the one mapping to HTTP.
 */
#include "taxii/taxii.h"
#include "taxii/taxii_int.h"

#include "common/json.h"
#include "common/split.h"
#include "common/time.h"
#include "common/uuid.h"
#include "ingest/ingest.h"
#include "policy/policy.h"
#include "telemetry/match.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define API_ROOT "/taxii2/root/"

static struct taxii *ctx_of(const struct http_request *req)
{
	return req->ctx;
}

static const struct auth_account *account_of(const struct http_request *req)
{
	return req->account;
}

/* ------------------------------------------------------------------ */
/* Authentication                                                       */
/* ------------------------------------------------------------------ */

void taxii_account_release(void *account)
{
	if (account != NULL) {
		sodium_memzero(account, sizeof(struct auth_account));
		free(account);
	}
}

/* The value after "scheme " (any case), or NULL. */
static const char *after_scheme(const char *h, const char *scheme)
{
	size_t n = strlen(scheme);
	if (strncasecmp(h, scheme, n) != 0 || (h[n] != ' ' && h[n] != '\t'))
		return NULL;
	h += n;
	while (*h == ' ' || *h == '\t')
		h++;
	return h;
}

/* Decodes HTTP Basic "user:password" into out; *pass points into out. */
static int decode_basic(const char *b64, char *out, size_t cap, char **pass)
{
	size_t len = 0;
	if (strlen(b64) > (cap - 1) / 3 * 4 + 4)
		return ST_ELIMIT;
	if (sodium_base642bin((unsigned char *)out, cap - 1, b64, strlen(b64),
			      NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return ST_EINVAL;
	out[len] = '\0';
	if (memchr(out, '\0', len) != NULL)
		return ST_EINVAL;
	char *colon = strchr(out, ':');
	if (colon == NULL)
		return ST_EINVAL;
	*colon = '\0';
	*pass = colon + 1;
	return ST_OK;
}

/* A bearer token (user NULL) or HTTP Basic user and password. */
static int check_credentials(struct taxii *t, const char *user,
			     const char *secret, const char *fp,
			     struct auth_account *acct)
{
	if (user == NULL)
		return auth_lookup_token(t->cfg.auth, secret, fp, acct);
	return auth_check_basic(t->cfg.auth, user, secret, fp, acct);
}

static int too_many(struct http_response *resp, unsigned wait)
{
	resp->retry_after_s = wait;
	http_error(resp, 429, "Too many failed attempts",
		   "try again after the time in Retry-After");
	return ST_ELIMIT;
}

int taxii_authenticate(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = ctx_of(req);
	const char *h = http_header(req, "Authorization");
	const char *fp = req->client_cert ? req->client_cert_hex : NULL;
	bool cert_ok = fp != NULL && auth_cert_is_bound(t->cfg.auth, fp);
	if (h == NULL || *h == '\0') {
		http_error(resp, 401, "Authentication required",
			   "send a token (Authorization: Bearer or Token) or "
			   "HTTP Basic credentials");
		return ST_EINVAL;
	}
	struct auth_account *acct = calloc(1, sizeof(*acct));
	if (acct == NULL) {
		http_error(resp, 503, NULL, NULL);
		return ST_ENOMEM;
	}
	char basic[AUTH_NAME_MAX + AUTH_PASSWORD_MAX + 8];
	char *pass = NULL;
	const char *user = ""; /* the throttle's key: "" for a token */
	const char *v;
	int rc = ST_EINVAL;
	bool basic_form = false;
	if ((v = after_scheme(h, "Bearer")) != NULL ||
	    (v = after_scheme(h, "Token")) != NULL) {
		rc = ST_OK;
	} else if ((v = after_scheme(h, "Basic")) != NULL) {
		basic_form = true;
		rc = decode_basic(v, basic, sizeof(basic), &pass);
		if (rc == ST_OK)
			user = basic;
	}
	unsigned wait = auth_throttle_check(t->cfg.throttle, req->client_addr,
					    user, cert_ok);
	if (wait > 0) {
		rc = too_many(resp, wait);
		goto fail;
	}
	if (rc == ST_OK) {
		uint64_t gen = auth_generation(t->cfg.auth);
		rc = check_credentials(t, basic_form ? basic : NULL,
				       basic_form ? pass : v, fp, acct);
		/* An account the CLI made a moment ago: re-read auth.db (cheap
		 * when unchanged) and, only if it changed, look once more. */
		if (rc == ST_ENOTFOUND &&
		    auth_refresh(t->cfg.auth, NULL) == 0 &&
		    auth_generation(t->cfg.auth) != gen)
			rc = check_credentials(t, basic_form ? basic : NULL,
					       basic_form ? pass : v, fp, acct);
	}
	if (rc != ST_OK) {
		wait = auth_throttle_failure(t->cfg.throttle, req->client_addr,
					     user, cert_ok);
		taxii_audit_login_failed(t, req, user, basic_form, wait);
		if (wait > 0)
			rc = too_many(resp, wait);
		else
			http_error(resp, 401, "Authentication failed", NULL);
		goto fail;
	}
	auth_throttle_success(t->cfg.throttle, req->client_addr, user);
	sodium_memzero(basic, sizeof(basic));
	taxii_audit_login(t, req, acct);
	if (acct->role == ROLE_PEER && t->cfg.fed != NULL)
		fed_peer_contact(t->cfg.fed, acct->name);
	http_request_set_account(req, acct, acct->name);
	char key[40];
	snprintf(key, sizeof(key), "acct:%lld", (long long)acct->id);
	return http_account_enter(req, resp, key, t->cfg.account_max_requests);
fail:
	sodium_memzero(basic, sizeof(basic));
	taxii_account_release(acct);
	return rc == ST_OK ? ST_EINVAL : rc;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

/* Finishes a JSON body; a writer error becomes a 500. */
static int send_json(struct http_response *resp, struct jw *w, int status)
{
	int rc = jw_finish(w);
	if (rc != ST_OK)
		return http_error_from(resp, rc, "response too large");
	resp->status = status;
	return ST_OK;
}

/* Absolute URL of a path on this server when the Host header allows it
 * (clients such as taxii2-client follow api_roots as given). */
static void url_of(const struct http_request *req, const char *path, char *out,
		   size_t cap)
{
	const char *host = http_header(req, "Host");
	bool ok = host != NULL && *host != '\0' && strlen(host) < 256;
	for (const char *p = host; ok && *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr(".-:[]", *p)))
			ok = false;
	if (ok)
		snprintf(out, cap, "%s://%s%s", req->tls ? "https" : "http",
			 host, path);
	else
		snprintf(out, cap, "%s", path);
}

/*
 * Looks up the collection of the request and checks the account's access:
 * no access at all is a 404 (the collection's existence is not revealed),
 * some access but not the one needed a 403. Returns ST_OK, or an error
 * with resp filled.
 */
static int collection_for(struct http_request *req, struct http_response *resp,
			  unsigned need, struct store_collection *c,
			  enum auth_access *access)
{
	struct taxii *t = ctx_of(req);
	const char *id = http_param(req, "id");
	uint8_t u[16];
	int rc = ST_ENOTFOUND;
	if (id != NULL && uuid_parse(id, strlen(id), true, u) == ST_OK)
		rc = store_collection_find(t->cfg.store, id, c);
	if (rc == ST_OK && strcmp(c->id, id) != 0)
		rc = ST_ENOTFOUND; /* an alias: TAXII addresses by id */
	enum auth_access acc = AUTH_ACCESS_NONE;
	if (rc == ST_OK)
		acc = auth_access(t->cfg.auth, account_of(req), c->id);
	if (rc == ST_ENOTFOUND || (rc == ST_OK && acc == AUTH_ACCESS_NONE)) {
		http_error(resp, 404, "Collection not found", NULL);
		return ST_ENOTFOUND;
	}
	if (rc != ST_OK) {
		http_error_from(resp, rc, NULL);
		return rc;
	}
	if ((acc & need) != need) {
		http_error(resp, 403, "Forbidden",
			   need & AUTH_ACCESS_WRITE
			       ? "this account may not write to the "
				 "collection"
			       : "this account may not read the "
				 "collection");
		return ST_EINVAL;
	}
	if (access != NULL)
		*access = acc;
	return ST_OK;
}

int taxii_collection_for(struct http_request *req, struct http_response *resp,
			 unsigned need, struct store_collection *c,
			 enum auth_access *access)
{
	return collection_for(req, resp, need, c, access);
}

bool taxii_visible(void *ctx, const struct store_row *row)
{
	const struct audience *aud = ctx;
	struct release_facts f = {.tlp = row->tlp, .flags = row->flags};
	return policy_may_release(aud, &f);
}

bool taxii_viewer_visible(void *ctx, const struct store_row *row)
{
	const struct taxii_viewer *v = ctx;
	if (v->peer != NULL)
		return fed_peer_visible(v->fed, v->peer, row);
	return taxii_visible((void *)&v->aud, row);
}

void taxii_viewer_init(struct http_request *req, struct taxii_viewer *v)
{
	const struct auth_account *a = account_of(req);
	auth_audience(a, ctx_of(req)->node_org, &v->aud);
	v->fed = ctx_of(req)->cfg.fed;
	v->peer = taxii_partner_view(ctx_of(req), a);
}

static void date_headers(struct http_response *resp,
			 const struct store_page_result *res)
{
	if (res->rows == 0)
		return; /* nothing was returned: both headers are omitted */
	char ts[TS_BUFSZ];
	ts_format(res->first, ts);
	http_response_header(resp, "X-TAXII-Date-Added-First", ts);
	ts_format(res->last, ts);
	http_response_header(resp, "X-TAXII-Date-Added-Last", ts);
}

/* ------------------------------------------------------------------ */
/* Filters                                                              */
/* ------------------------------------------------------------------ */

enum {
	F_ID = 1u << 0,
	F_TYPE = 1u << 1,
	F_VERSION = 1u << 2,
	F_SPEC = 1u << 3,
	F_ADDED = 1u << 4,
	F_LIMIT = 1u << 5,
	F_NEXT = 1u << 6,
};

struct filters {
	const char *ids[STORE_MATCH_MAX];
	size_t nids;
	const char *types[STORE_MATCH_MAX];
	size_t ntypes;
	struct store_vmatch vm;
	st_time at[STORE_MATCH_MAX];
	const char *specs[STORE_MATCH_MAX];
	size_t nspec;
	st_time added_after;
	size_t limit;
	const char *next;
	size_t next_len;
	uint8_t hash[32];
	char *scratch; /* split copies of the values */
};

static void filters_free(struct filters *f)
{
	free(f->scratch);
	f->scratch = NULL;
}

static bool type_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 250)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '-'))
			return false;
	return true;
}

static int bad_filter(struct http_response *resp, const char *what)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "%s", what);
	http_error(resp, 400, "Invalid filter", msg);
	return ST_EINVAL;
}

static int add_value(struct filters *f, const char *key, char *v,
		     struct http_response *resp)
{
	if (strcmp(key, "match[id]") == 0) {
		char type[STIX_TYPE_MAX];
		uint8_t u[16];
		if (stix_parse_id(v, strlen(v), type, u) != ST_OK)
			return bad_filter(resp, "match[id]: not a STIX id");
		if (f->nids == STORE_MATCH_MAX)
			return bad_filter(resp, "match[id]: too many values");
		f->ids[f->nids++] = v;
	} else if (strcmp(key, "match[type]") == 0) {
		if (!type_name_ok(v))
			return bad_filter(resp, "match[type]: not a type name");
		if (f->ntypes == STORE_MATCH_MAX)
			return bad_filter(resp, "match[type]: too many values");
		f->types[f->ntypes++] = v;
	} else if (strcmp(key, "match[version]") == 0) {
		if (strcmp(v, "last") == 0)
			f->vm.sel |= STORE_VM_LAST;
		else if (strcmp(v, "first") == 0)
			f->vm.sel |= STORE_VM_FIRST;
		else if (strcmp(v, "all") == 0)
			f->vm.sel |= STORE_VM_ALL;
		else {
			st_time ts;
			if (ts_parse(v, strlen(v), &ts, NULL) != ST_OK)
				return bad_filter(resp,
						  "match[version]: expected "
						  "last, first, all or a "
						  "timestamp");
			if (f->vm.nat == STORE_MATCH_MAX)
				return bad_filter(resp, "match[version]: too "
							"many values");
			f->at[f->vm.nat++] = ts;
		}
	} else { /* match[spec_version] */
		if (*v == '\0' || strlen(v) > 16)
			return bad_filter(resp, "match[spec_version]: not a "
						"version");
		if (f->nspec == STORE_MATCH_MAX)
			return bad_filter(resp, "match[spec_version]: too "
						"many values");
		f->specs[f->nspec++] = v;
	}
	return ST_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_time(const void *a, const void *b)
{
	st_time x = *(const st_time *)a, y = *(const st_time *)b;
	return x < y ? -1 : x > y;
}

/* The filters in a canonical text, hashed into the paging token so a token
 * only continues the query it was made for. */
static void filter_hash(struct filters *f)
{
	struct buf b = BUF_INIT(1u << 20);
	qsort(f->ids, f->nids, sizeof(f->ids[0]), cmp_str);
	qsort(f->types, f->ntypes, sizeof(f->types[0]), cmp_str);
	qsort(f->specs, f->nspec, sizeof(f->specs[0]), cmp_str);
	qsort(f->at, f->vm.nat, sizeof(f->at[0]), cmp_time);
	buf_adds(&b, "id=");
	for (size_t i = 0; i < f->nids; i++)
		buf_printf(&b, "%s,", f->ids[i]);
	buf_adds(&b, "\ntype=");
	for (size_t i = 0; i < f->ntypes; i++)
		buf_printf(&b, "%s,", f->types[i]);
	buf_printf(&b, "\nversion=%u:", f->vm.sel);
	for (size_t i = 0; i < f->vm.nat; i++)
		buf_printf(&b, "%lld,", (long long)f->at[i]);
	buf_adds(&b, "\nspec=");
	for (size_t i = 0; i < f->nspec; i++)
		buf_printf(&b, "%s,", f->specs[i]);
	buf_printf(&b, "\nadded_after=%lld", (long long)f->added_after);
	token_filter_hash(b.data ? b.data : "", b.len, f->hash);
	buf_free(&b);
}

/*
 * Reads the query of a TAXII request into f. allowed is the set of F_*
 * the endpoint supports; any other match[...] (or one the endpoint does
 * not take) is a 400, as is a malformed value. Unknown parameters that
 * are not filters are ignored.
 */
static int parse_filters(struct http_request *req, unsigned allowed,
			 struct filters *f, struct http_response *resp)
{
	struct taxii *t = ctx_of(req);
	memset(f, 0, sizeof(*f));
	f->limit = t->cfg.page_default;
	size_t total = 0;
	for (size_t i = 0; i < req->query.n; i++)
		total += req->query.items[i].value_len + 1;
	f->scratch = malloc(total + 1);
	if (f->scratch == NULL)
		return http_error(resp, 503, NULL, NULL), ST_ENOMEM;
	char *sp = f->scratch;
	for (size_t i = 0; i < req->query.n; i++) {
		const struct http_kv *kv = &req->query.items[i];
		const char *k = kv->key;
		unsigned bit = 0;
		if (strcmp(k, "match[id]") == 0)
			bit = F_ID;
		else if (strcmp(k, "match[type]") == 0)
			bit = F_TYPE;
		else if (strcmp(k, "match[version]") == 0)
			bit = F_VERSION;
		else if (strcmp(k, "match[spec_version]") == 0)
			bit = F_SPEC;
		else if (strcmp(k, "added_after") == 0)
			bit = F_ADDED;
		else if (strcmp(k, "limit") == 0)
			bit = F_LIMIT;
		else if (strcmp(k, "next") == 0)
			bit = F_NEXT;
		else if (strncmp(k, "match[", 6) == 0)
			return bad_filter(resp, "unsupported match[] field");
		else
			continue;
		if (!(allowed & bit))
			return bad_filter(resp, "filter not supported by this "
						"endpoint");
		if (bit == F_ADDED) {
			if (ts_parse(kv->value, kv->value_len, &f->added_after,
				     NULL) != ST_OK)
				return bad_filter(resp, "added_after: not a "
							"timestamp");
			continue;
		}
		if (bit == F_LIMIT) {
			char *end;
			unsigned long long n = strtoull(kv->value, &end, 10);
			if (kv->value_len == 0 || *end != '\0' || n == 0 ||
			    kv->value[0] == '-' || kv->value[0] == '+')
				return bad_filter(resp, "limit: expected a "
							"positive integer");
			f->limit =
			    n > t->cfg.page_max ? t->cfg.page_max : (size_t)n;
			continue;
		}
		if (bit == F_NEXT) {
			f->next = kv->value;
			f->next_len = kv->value_len;
			continue;
		}
		/* A comma-separated list; repeated keys add to it. */
		memcpy(sp, kv->value, kv->value_len + 1);
		char *save = NULL;
		for (char *v = strtok_r(sp, ",", &save); v != NULL;
		     v = strtok_r(NULL, ",", &save)) {
			int rc = add_value(f, k, v, resp);
			if (rc != ST_OK)
				return rc;
		}
		sp += kv->value_len + 1;
	}
	f->vm.at = f->vm.nat ? f->at : NULL;
	filter_hash(f);
	return ST_OK;
}

/* The position a next token holds, after checking what it is bound to. */
static int resume_from(struct http_request *req, struct http_response *resp,
		       const struct filters *f, int64_t cid, st_time *pos)
{
	struct taxii *t = ctx_of(req);
	*pos = 0;
	if (f->next == NULL)
		return ST_OK;
	struct token_expect want;
	memset(&want, 0, sizeof(want));
	want.account_id = account_of(req)->id;
	want.root_index = 0;
	want.collection_id = cid;
	memcpy(want.filter_hash, f->hash, 32);
	want.policy_epoch = t->cfg.policy_epoch;
	memcpy(want.incarnation, t->incarnation, 16);
	struct token_claims c;
	if (token_decode(t->cfg.keys, f->next, f->next_len, &want, &c) !=
	    TOKEN_OK) {
		http_error(resp, 400, "Invalid next",
			   "the paging token is not valid for this request "
			   "(expired, altered or issued for another query)");
		return ST_EINVAL;
	}
	*pos = c.date_added;
	return ST_OK;
}

/* Writes "more" and, when more is true, a "next" token for pos. */
static int write_more(struct http_request *req, struct jw *w, bool more,
		      int64_t cid, const struct filters *f, st_time pos)
{
	struct taxii *t = ctx_of(req);
	jw_key(w, "more");
	jw_bool(w, more);
	if (!more)
		return ST_OK;
	struct token_claims c;
	memset(&c, 0, sizeof(c));
	c.account_id = account_of(req)->id;
	c.root_index = 0;
	c.collection_id = cid;
	memcpy(c.filter_hash, f->hash, 32);
	c.date_added = pos;
	c.policy_epoch = t->cfg.policy_epoch;
	memcpy(c.incarnation, t->incarnation, 16);
	c.expires = (int64_t)time(NULL) + t->cfg.token_ttl_s;
	char tok[TOKEN_BUFSZ];
	int rc = token_encode(t->cfg.keys, &c, tok, sizeof(tok));
	if (rc != ST_OK)
		return rc;
	jw_key(w, "next");
	jw_str(w, tok);
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* Discovery, API root, collections                                     */
/* ------------------------------------------------------------------ */

static int h_discovery(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = ctx_of(req);
	char title[200], url[512];
	snprintf(title, sizeof(title), "strait node %s", t->node_name);
	url_of(req, API_ROOT, url, sizeof(url));
	struct jw w;
	jw_init(&w, &resp->body);
	jw_obj_open(&w);
	jw_key(&w, "title");
	jw_str(&w, title);
	jw_key(&w, "description");
	jw_str(&w, "strait: STIX 2.1 / TAXII 2.1 threat-intelligence "
		   "exchange");
	jw_key(&w, "default");
	jw_str(&w, url);
	jw_key(&w, "api_roots");
	jw_arr_open(&w);
	jw_str(&w, url);
	jw_arr_close(&w);
	jw_obj_close(&w);
	return send_json(resp, &w, 200);
}

static int h_api_root(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = ctx_of(req);
	char title[200];
	snprintf(title, sizeof(title), "%s", t->node_name);
	struct jw w;
	jw_init(&w, &resp->body);
	jw_obj_open(&w);
	jw_key(&w, "title");
	jw_str(&w, title);
	jw_key(&w, "description");
	jw_str(&w, "The intelligence this node shares");
	jw_key(&w, "versions");
	jw_arr_open(&w);
	jw_str(&w, HTTP_TAXII_CTYPE);
	jw_arr_close(&w);
	jw_key(&w, "max_content_length");
	jw_int(&w, (int64_t)t->cfg.max_content_length);
	jw_obj_close(&w);
	return send_json(resp, &w, 200);
}

static void write_collection(struct jw *w, const struct store_collection *c,
			     enum auth_access acc)
{
	jw_obj_open(w);
	jw_key(w, "id");
	jw_str(w, c->id);
	jw_key(w, "title");
	jw_str(w, c->title);
	if (c->description[0]) {
		jw_key(w, "description");
		jw_str(w, c->description);
	}
	if (c->alias[0]) {
		jw_key(w, "alias");
		jw_str(w, c->alias);
	}
	jw_key(w, "can_read");
	jw_bool(w, (acc & AUTH_ACCESS_READ) != 0);
	jw_key(w, "can_write");
	jw_bool(w, (acc & AUTH_ACCESS_WRITE) != 0);
	jw_key(w, "media_types");
	jw_arr_open(w);
	jw_str(w, STORE_MEDIA_TYPE);
	jw_arr_close(w);
	jw_obj_close(w);
}

struct coll_list {
	struct http_request *req;
	struct jw *w;
	size_t n;
};

static int list_one(void *ctx, const struct store_collection *c)
{
	struct coll_list *l = ctx;
	struct taxii *t = ctx_of(l->req);
	enum auth_access acc =
	    auth_access(t->cfg.auth, account_of(l->req), c->id);
	if (acc == AUTH_ACCESS_NONE)
		return 0;
	if (l->n++ == 0) {
		jw_key(l->w, "collections");
		jw_arr_open(l->w);
	}
	write_collection(l->w, c, acc);
	return 0;
}

static int h_collections(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = ctx_of(req);
	struct jw w;
	jw_init(&w, &resp->body);
	jw_obj_open(&w);
	struct coll_list l = {req, &w, 0};
	int rc = store_collection_list(t->cfg.store, list_one, &l);
	if (rc < 0)
		return http_error_from(resp, rc, NULL);
	if (l.n > 0)
		jw_arr_close(&w);
	jw_obj_close(&w);
	return send_json(resp, &w, 200);
}

static int h_collection(struct http_request *req, struct http_response *resp)
{
	struct store_collection c;
	enum auth_access acc;
	if (collection_for(req, resp, 0, &c, &acc) != ST_OK)
		return ST_OK;
	struct jw w;
	jw_init(&w, &resp->body);
	write_collection(&w, &c, acc);
	return send_json(resp, &w, 200);
}

/* ------------------------------------------------------------------ */
/* Objects, manifest, one object, versions                              */
/* ------------------------------------------------------------------ */

struct page_out {
	struct jw *w;
	bool manifest;
	bool versions;
	size_t cap; /* stop before the body reaches this */
	st_time last;
	struct taxii_fed_page *fp; /* rows released to a partner, or NULL */
};

static int emit_row(void *ctx, const struct store_row *row)
{
	struct page_out *o = ctx;
	char ts[TS_BUFSZ];
	if (o->versions) {
		ts_format(row->version, ts);
		jw_str(o->w, ts);
	} else if (o->manifest) {
		jw_obj_open(o->w);
		jw_key(o->w, "id");
		jw_str(o->w, row->id);
		ts_format(row->date_added, ts);
		jw_key(o->w, "date_added");
		jw_str(o->w, ts);
		ts_format(row->version, ts);
		jw_key(o->w, "version");
		jw_str(o->w, ts);
		jw_key(o->w, "media_type");
		jw_str(o->w, STORE_MEDIA_TYPE);
		jw_obj_close(o->w);
	} else {
		jw_raw(o->w, row->body, row->body_len);
	}
	o->last = row->date_added;
	if (o->fp != NULL && taxii_fed_page_add(o->fp, row) != ST_OK)
		return ST_ENOMEM;
	/* A page never outgrows the response cap: it ends early instead and
	 * the client continues from here. */
	return o->w->out->len > o->cap ? 1 : 0;
}

enum page_kind { PAGE_OBJECTS, PAGE_MANIFEST, PAGE_OBJECT, PAGE_VERSIONS };

static int page(struct http_request *req, struct http_response *resp,
		enum page_kind kind)
{
	struct taxii *t = ctx_of(req);
	struct store_collection c;
	if (collection_for(req, resp, AUTH_ACCESS_READ, &c, NULL) != ST_OK)
		return ST_OK;
	unsigned allowed = F_ADDED | F_LIMIT | F_NEXT | F_SPEC;
	if (kind == PAGE_OBJECTS || kind == PAGE_MANIFEST)
		allowed |= F_ID | F_TYPE | F_VERSION;
	if (kind == PAGE_OBJECT)
		allowed |= F_VERSION;
	struct filters f;
	struct taxii_fed_page fp;
	memset(&fp, 0, sizeof(fp));
	int rc = parse_filters(req, allowed, &f, resp);
	if (rc != ST_OK)
		goto out;
	const char *oid = http_param(req, "object_id");
	if (oid != NULL) {
		char type[STIX_TYPE_MAX];
		uint8_t u[16];
		if (stix_parse_id(oid, strlen(oid), type, u) != ST_OK) {
			http_error(resp, 404, "Object not found", NULL);
			goto out;
		}
	}
	st_time pos;
	if ((rc = resume_from(req, resp, &f, c.cid, &pos)) != ST_OK)
		goto out;

	struct taxii_viewer v;
	taxii_viewer_init(req, &v);
	struct jw w;
	jw_init(&w, &resp->body);
	jw_obj_open(&w);
	jw_key(&w, kind == PAGE_VERSIONS ? "versions" : "objects");
	jw_arr_open(&w);
	size_t cap = resp->body.max > (16u << 20) + 4096
			 ? resp->body.max - (16u << 20) - 4096
			 : resp->body.max / 2;
	struct page_out o = {
	    &w, kind == PAGE_MANIFEST, kind == PAGE_VERSIONS, cap, 0, NULL};
	taxii_fed_page_init(&fp, t, account_of(req), "taxii", c.id,
			    kind == PAGE_OBJECTS || kind == PAGE_OBJECT);
	if (v.peer != NULL)
		o.fp = &fp;
	struct store_page_result res;
	struct diag d;
	if (kind == PAGE_VERSIONS) {
		struct store_versions_query q;
		memset(&q, 0, sizeof(q));
		q.cid = c.cid;
		q.id = oid;
		q.spec_versions = f.nspec ? f.specs : NULL;
		q.nspec = f.nspec;
		q.added_after = f.added_after;
		q.after = pos;
		q.limit = f.limit;
		q.visible = taxii_viewer_visible;
		q.visible_ctx = &v;
		rc = store_versions(t->cfg.store, &q, emit_row, &o, &res, &d);
	} else {
		struct store_page_query q;
		memset(&q, 0, sizeof(q));
		q.cid = c.cid;
		q.ids = f.nids ? f.ids : NULL;
		q.nids = f.nids;
		if (kind == PAGE_OBJECT) {
			q.ids = &oid;
			q.nids = 1;
		}
		q.types = f.ntypes ? f.types : NULL;
		q.ntypes = f.ntypes;
		q.version = f.vm;
		q.spec_versions = f.nspec ? f.specs : NULL;
		q.nspec = f.nspec;
		q.added_after = f.added_after;
		q.after = pos;
		q.limit = f.limit;
		q.flags = kind == PAGE_MANIFEST ? STORE_PAGE_NO_BODY : 0;
		q.visible = taxii_viewer_visible;
		q.visible_ctx = &v;
		rc = store_page(t->cfg.store, &q, emit_row, &o, &res, &d);
	}
	bool cut = rc > 0; /* emit_row ended the page early */
	if (rc < 0) {
		http_error_from(resp, rc, d.msg);
		goto out;
	}
	/* What a partner or its liaison reads is audited (or refused), goes
	 * with its attestations (a partner node), and is recorded as
	 * released. */
	if (o.fp != NULL &&
	    (rc = taxii_fed_page_finish(&fp, t, &w, &d)) != ST_OK) {
		http_error_from(resp, rc, d.msg);
		goto out;
	}
	jw_arr_close(&w);
	bool more = cut || res.more;
	st_time next = cut ? o.last : res.next;
	if (res.rows == 0 && f.next == NULL &&
	    (kind == PAGE_OBJECT || kind == PAGE_VERSIONS)) {
		http_error(resp, 404, "Object not found", NULL);
		goto out;
	}
	rc = write_more(req, &w, more && res.rows > 0, c.cid, &f, next);
	if (rc != ST_OK) {
		http_error_from(resp, rc, NULL);
		goto out;
	}
	jw_obj_close(&w);
	if (send_json(resp, &w, 200) == ST_OK)
		date_headers(resp, &res);
out:
	taxii_fed_page_free(&fp);
	filters_free(&f);
	return ST_OK;
}

static int h_objects_get(struct http_request *req, struct http_response *resp)
{
	return page(req, resp, PAGE_OBJECTS);
}

static int h_manifest(struct http_request *req, struct http_response *resp)
{
	return page(req, resp, PAGE_MANIFEST);
}

static int h_object_get(struct http_request *req, struct http_response *resp)
{
	return page(req, resp, PAGE_OBJECT);
}

static int h_versions(struct http_request *req, struct http_response *resp)
{
	return page(req, resp, PAGE_VERSIONS);
}

/* ------------------------------------------------------------------ */
/* Delete                                                               */
/* ------------------------------------------------------------------ */

static int count_row(void *ctx, const struct store_row *row)
{
	(void)row;
	(*(size_t *)ctx)++;
	return 1; /* one visible version is enough */
}

static int h_object_delete(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = ctx_of(req);
	struct store_collection c;
	enum auth_access acc;
	/* TAXII: no read and no write is a 404; only one of them a 403. */
	if (collection_for(req, resp, 0, &c, &acc) != ST_OK)
		return ST_OK;
	if (acc != AUTH_ACCESS_RW || !auth_may_delete(account_of(req)))
		return http_error(resp, 403, "Forbidden",
				  "this account may not delete from the "
				  "collection");
	struct filters f;
	if (parse_filters(req, F_VERSION | F_SPEC, &f, resp) != ST_OK)
		goto out;
	const char *oid = http_param(req, "object_id");
	char type[STIX_TYPE_MAX];
	uint8_t u[16];
	if (oid == NULL || stix_parse_id(oid, strlen(oid), type, u) != ST_OK) {
		http_error(resp, 404, "Object not found", NULL);
		goto out;
	}
	/* Only what the account can see can be deleted (a 404 otherwise,
	 * so deleting does not reveal what exists). */
	struct taxii_viewer v;
	taxii_viewer_init(req, &v);
	struct store_page_query q;
	memset(&q, 0, sizeof(q));
	q.cid = c.cid;
	q.ids = &oid;
	q.nids = 1;
	q.version.sel = STORE_VM_ALL;
	q.limit = 1;
	q.flags = STORE_PAGE_NO_BODY;
	q.visible = taxii_viewer_visible;
	q.visible_ctx = &v;
	size_t seen = 0;
	struct store_page_result res;
	struct diag d;
	int rc = store_page(t->cfg.store, &q, count_row, &seen, &res, &d);
	if (rc < 0) {
		http_error_from(resp, rc, d.msg);
		goto out;
	}
	size_t removed = 0;
	if (seen > 0) {
		struct store_vmatch vm = f.vm;
		if (vm.sel == 0 && vm.nat == 0)
			vm.sel = STORE_VM_ALL; /* DELETE without match[version]
						  removes every version */
		rc = store_remove(t->cfg.store, c.cid, oid, &vm,
				  f.nspec ? f.specs : NULL, f.nspec, &removed,
				  &d);
		if (rc != ST_OK) {
			http_error_from(resp, rc, d.msg);
			goto out;
		}
	}
	if (removed == 0) {
		http_error(resp, 404, "Object not found", NULL);
		goto out;
	}
	resp->status = 200;
	resp->content_type = NULL;
out:
	filters_free(&f);
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* Add objects and status                                               */
/* ------------------------------------------------------------------ */

struct add_ctx {
	struct jw ok;  /* successes array */
	struct jw bad; /* failures array */
	struct buf okb, badb;
	char **warnings; /* by object index, for the success message */
	size_t n;
	uint64_t n_ok, n_bad;
};

static void status_detail(struct jw *w, const char *id, const char *version,
			  const char *msg)
{
	jw_obj_open(w);
	jw_key(w, "id");
	jw_str(w, id);
	jw_key(w, "version");
	jw_str(w, version);
	if (msg != NULL && *msg) {
		jw_key(w, "message");
		jw_str(w, msg);
	}
	jw_obj_close(w);
}

static void on_add(void *ctx, const struct ingest_event *ev)
{
	struct add_ctx *a = ctx;
	char ts[TS_BUFSZ] = "";
	switch (ev->kind) {
	case INGEST_ACCEPTED: {
		ts_format(ev->version, ts);
		char *warn = ev->index < a->n ? a->warnings[ev->index] : NULL;
		char msg[600];
		snprintf(msg, sizeof(msg), "%s%s%s", ev->msg,
			 warn ? "; warnings: " : "", warn ? warn : "");
		status_detail(&a->ok, ev->id, ts, msg);
		a->n_ok++;
		break;
	}
	case INGEST_WARNING:
		if (ev->index < a->n && a->warnings[ev->index] == NULL)
			a->warnings[ev->index] = strdup(ev->msg);
		break;
	case INGEST_REJECTED:
	case INGEST_CONFLICT:
	case INGEST_FAILED:
		status_detail(&a->bad, ev->id, "", ev->msg);
		a->n_bad++;
		break;
	case INGEST_COMMITTED:
		break;
	}
}

/*
 * Checks the envelope's structure, so that a malformed request stores
 * nothing, and records where each object lies so that the body is split
 * only once. *out is malloc'd (the caller frees it), *n its length.
 */
static int envelope_split(const char *body, size_t len, struct split_span **out,
			  size_t *n, struct diag *d)
{
	enum split_kind kind;
	int r = split_all(body, len, len + 1, out, n, &kind, d);
	if (r == ST_OK && kind != SPLIT_ENVELOPE && kind != SPLIT_BUNDLE) {
		free(*out);
		*out = NULL;
		*n = 0;
		r = diag_set(d, ST_EJSON,
			     "expected a TAXII envelope: {\"objects\": [...]}");
	}
	return r;
}

int taxii_status_reply(struct taxii *t, struct http_response *resp,
		       int64_t owner, size_t total, size_t n_ok,
		       const struct buf *ok, size_t n_bad,
		       const struct buf *bad, struct diag *d)
{
	struct store_status st;
	memset(&st, 0, sizeof(st));
	uint8_t u[16];
	uuid_v4(u);
	uuid_format(u, st.id);
	st.owner = owner;
	st.total = total;
	st.success = n_ok;
	st.failure = n_bad;
	struct jw w;
	jw_init(&w, &resp->body);
	jw_obj_open(&w);
	jw_key(&w, "id");
	jw_str(&w, st.id);
	jw_key(&w, "status");
	jw_str(&w, "complete");
	jw_key(&w, "total_count");
	jw_int(&w, (int64_t)total);
	jw_key(&w, "success_count");
	jw_int(&w, (int64_t)n_ok);
	jw_key(&w, "successes");
	jw_raw(&w, ok->data, ok->len);
	jw_key(&w, "failure_count");
	jw_int(&w, (int64_t)n_bad);
	jw_key(&w, "failures");
	jw_raw(&w, bad->data, bad->len);
	jw_key(&w, "pending_count");
	jw_int(&w, 0);
	jw_key(&w, "pendings");
	jw_arr_open(&w);
	jw_arr_close(&w);
	jw_obj_close(&w);
	int rc = jw_finish(&w);
	if (rc != ST_OK)
		return rc;
	/* The status is kept (24 h at least) as the exact body sent now.
	 * The objects are durable already; the status is committed with the
	 * writer's next transaction, readable at once (see
	 * store_status_put_async for the crash window). */
	st.lists = resp->body.data;
	st.lists_len = resp->body.len;
	if ((rc = store_status_put_async(t->cfg.store, &st, d)) != ST_OK)
		return rc;
	resp->status = 202;
	return ST_OK;
}

static int h_objects_post(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = ctx_of(req);
	struct store_collection c;
	if (collection_for(req, resp, AUTH_ACCESS_WRITE, &c, NULL) != ST_OK)
		return ST_OK;
	struct diag d;
	size_t n = 0;
	struct split_span *elems = NULL;
	const char *body = req->body ? req->body : "";
	size_t body_len = req->body ? req->body_len : 0;
	int rc = envelope_split(body, body_len, &elems, &n, &d);
	if (rc != ST_OK)
		return http_error(resp, 400, "Invalid envelope", d.msg);
	if (t->cfg.fed != NULL && account_of(req)->role == ROLE_PEER) {
		/* A partner node: attestations checked, quarantine. */
		struct fed_elem *fe = calloc(n ? n : 1, sizeof(*fe));
		if (fe == NULL) {
			free(elems);
			return http_error_from(resp, ST_ENOMEM, NULL);
		}
		for (size_t i = 0; i < n; i++)
			fe[i] = (struct fed_elem){body + elems[i].off,
						  elems[i].len};
		free(elems);
		rc = taxii_fed_post(req, resp, &c, fe, n);
		free(fe);
		return rc;
	}

	struct add_ctx a;
	memset(&a, 0, sizeof(a));
	buf_init(&a.okb, (size_t)1 << 28);
	buf_init(&a.badb, (size_t)1 << 28);
	jw_init(&a.ok, &a.okb);
	jw_init(&a.bad, &a.badb);
	jw_arr_open(&a.ok);
	jw_arr_open(&a.bad);
	a.n = n;
	a.warnings = calloc(n ? n : 1, sizeof(char *));
	struct ingest_options opt;
	memset(&opt, 0, sizeof(opt));
	opt.cid = c.cid;
	opt.default_tlp = t->cfg.default_tlp;
	opt.batch_size = n < 2048 ? (uint32_t)(n ? n : 1) : 2048;
	opt.in_flight = 2;
	opt.report_accepted = true;
	struct ingest *in =
	    a.warnings ? ingest_new(t->cfg.store, &opt, on_add, &a) : NULL;
	if (in == NULL) {
		rc = ST_ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n && rc == ST_OK; i++) {
		/* The rest of the body is readable padding, except after the
		 * last objects: there the parser makes its own padded copy. */
		const struct split_span *el = &elems[i];
		unsigned flags = el->off + el->len + JSON_PADDING <= body_len
				     ? JSON_PARSE_PADDED
				     : 0;
		rc = ingest_object(in, body + el->off, el->len, flags, el->off);
	}
	if (rc == ST_OK)
		rc = ingest_finish(in); /* durable before the 202 */
	if (rc != ST_OK)
		goto fail;
	jw_arr_close(&a.ok);
	jw_arr_close(&a.bad);
	if ((rc = jw_finish(&a.ok)) != ST_OK ||
	    (rc = jw_finish(&a.bad)) != ST_OK)
		goto fail;

	if ((rc = taxii_status_reply(t, resp, account_of(req)->id, n, a.n_ok,
				     &a.okb, a.n_bad, &a.badb, &d)) != ST_OK)
		goto fail;
	goto out;
fail:
	http_error_from(resp, rc, NULL);
out:
	free(elems);
	ingest_free(in);
	if (a.warnings != NULL)
		for (size_t i = 0; i < n; i++)
			free(a.warnings[i]);
	free(a.warnings);
	buf_free(&a.okb);
	buf_free(&a.badb);
	return ST_OK;
}

static int h_status(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = ctx_of(req);
	const char *id = http_param(req, "status_id");
	uint8_t u[16];
	if (id == NULL || uuid_parse(id, strlen(id), true, u) != ST_OK)
		return http_error(resp, 404, "Status not found", NULL);
	struct store_status st;
	struct diag d;
	int rc = store_status_get(t->cfg.store, id, &st, &d);
	/* Readable only by the account that made it; to anyone else it
	 * does not exist. */
	if (rc == ST_ENOTFOUND ||
	    (rc == ST_OK && st.owner != account_of(req)->id)) {
		if (rc == ST_OK)
			store_status_release(&st);
		return http_error(resp, 404, "Status not found", NULL);
	}
	if (rc != ST_OK)
		return http_error_from(resp, rc, NULL);
	rc = buf_add(&resp->body, st.lists, st.lists_len);
	store_status_release(&st);
	if (rc != ST_OK)
		return http_error_from(resp, rc, NULL);
	resp->status = 200;
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* Operations                                                           */
/* ------------------------------------------------------------------ */

static int h_health(struct http_request *req, struct http_response *resp)
{
	struct taxii *t = ctx_of(req);
	const struct auth_account *acct = account_of(req);
	if (acct->role != ROLE_ADMIN && acct->role != ROLE_METRICS)
		return http_error(resp, 403, "Forbidden",
				  "health is for admin and metrics accounts");
	struct store_stats st;
	int rc = store_stats(t->cfg.store, &st);
	if (rc != ST_OK)
		return http_error_from(resp, rc, NULL);
	resp->content_type = "application/json";
	struct jw w;
	jw_init(&w, &resp->body);
	jw_obj_open(&w);
	jw_key(&w, "status");
	jw_str(&w, "ok");
	jw_key(&w, "node");
	jw_str(&w, t->node_name);
	jw_key(&w, "incarnation");
	jw_str(&w, t->incarnation_str);
	jw_key(&w, "versions");
	jw_int(&w, (int64_t)st.versions);
	jw_key(&w, "objects");
	jw_int(&w, (int64_t)st.objects);
	jw_key(&w, "last_seq");
	jw_int(&w, (int64_t)st.last_seq);
	jw_key(&w, "store_bytes");
	jw_int(&w, (int64_t)st.db_bytes);
	jw_obj_close(&w);
	return send_json(resp, &w, 200);
}

/* ------------------------------------------------------------------ */
/* The route table                                                      */
/* ------------------------------------------------------------------ */

#define TAXII_AUTH (HTTP_ROUTE_AUTH | HTTP_ROUTE_TAXII)
#define COLL API_ROOT "collections/{id}/"

static const struct http_route route_table[] = {
    {HTTP_GET, "/taxii2/", h_discovery, TAXII_AUTH, "discovery"},
    {HTTP_GET, API_ROOT, h_api_root, TAXII_AUTH, "api_root"},
    {HTTP_GET, API_ROOT "status/{status_id}/", h_status, TAXII_AUTH, "status"},
    {HTTP_GET, API_ROOT "collections/", h_collections, TAXII_AUTH,
     "collections"},
    {HTTP_GET, COLL, h_collection, TAXII_AUTH, "collection"},
    {HTTP_GET, COLL "manifest/", h_manifest, TAXII_AUTH, "manifest"},
    {HTTP_GET, COLL "objects/", h_objects_get, TAXII_AUTH, "objects"},
    {HTTP_POST, COLL "objects/", h_objects_post, TAXII_AUTH, "objects_add"},
    {HTTP_GET, COLL "objects/{object_id}/", h_object_get, TAXII_AUTH, "object"},
    {HTTP_DELETE, COLL "objects/{object_id}/", h_object_delete, TAXII_AUTH,
     "object_delete"},
    {HTTP_GET, COLL "objects/{object_id}/versions/", h_versions, TAXII_AUTH,
     "versions"},
    {HTTP_GET, "/api/v1/health/", h_health,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_SLASH_OPTIONAL, "health"},
    {HTTP_GET, "/api/v1/collections/{id}/stream/", taxii_h_stream,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_STREAM | HTTP_ROUTE_SLASH_OPTIONAL, "stream"},
    {HTTP_POST, "/api/v1/telemetry/", taxii_h_telemetry,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_SLASH_OPTIONAL, "telemetry"},
    {HTTP_GET, "/metrics/", taxii_h_metrics,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_SLASH_OPTIONAL, "metrics"},
    {HTTP_GET, "/api/v1/node/", taxii_h_node,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_SLASH_OPTIONAL, "node"},
    {HTTP_GET, "/api/v1/peers/", taxii_h_peers,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_SLASH_OPTIONAL, "peers"},
    {HTTP_GET, "/api/v1/audit/", taxii_h_audit,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_SLASH_OPTIONAL, "audit"},
    {HTTP_POST, "/api/v1/audit/witness/", taxii_h_witness,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_SLASH_OPTIONAL, "witness_put"},
    {HTTP_GET, "/api/v1/audit/witness/", taxii_h_witness,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_SLASH_OPTIONAL, "witness"},
    {HTTP_POST, "/api/v1/hotline/relay/", taxii_h_hotline_relay,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_SLASH_OPTIONAL, "hotline_relay"},
    {HTTP_GET, "/api/v1/contacts/", taxii_h_contacts,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_SLASH_OPTIONAL, "contacts"},
    {HTTP_GET, "/api/v1/hotline/status/", taxii_h_hotline_status,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_SLASH_OPTIONAL, "hotline_status"},
    {HTTP_GET, "/api/v1/hotline/events/", taxii_h_hotline_events,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_STREAM | HTTP_ROUTE_SLASH_OPTIONAL,
     "hotline_events"},
    {HTTP_POST, "/api/v1/hotline/messages/", taxii_h_hotline_submit,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_SLASH_OPTIONAL, "hotline_submit"},
    {HTTP_GET, "/api/v1/hotline/inbox/", taxii_h_hotline_inbox,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_SLASH_OPTIONAL, "hotline_inbox"},
    {HTTP_POST, "/api/v1/hotline/receipts/", taxii_h_hotline_receipt,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_SLASH_OPTIONAL, "hotline_receipt"},
    {HTTP_GET, "/api/v1/lookup/", taxii_h_lookup,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_SLASH_OPTIONAL, "lookup"},
    {HTTP_GET, "/api/v1/search/", taxii_h_search,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_SLASH_OPTIONAL, "search"},
    {HTTP_GET, "/api/v1/feeds/misp/{file}/", taxii_h_misp_feed,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_SLASH_OPTIONAL, "misp_feed"},
    {HTTP_GET, "/api/v1/incidents/", taxii_h_incidents,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_SLASH_OPTIONAL, "incidents"},
    {HTTP_GET, "/api/v1/incidents/{id}/", taxii_h_incidents,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_SLASH_OPTIONAL, "incident"},
    {HTTP_POST, "/api/v1/incidents/{id}/entries/", taxii_h_incident_entry,
     HTTP_ROUTE_AUTH | HTTP_ROUTE_SLASH_OPTIONAL, "incident_entry"},
};

_Static_assert(sizeof(route_table) / sizeof(route_table[0]) <= TAXII_MAX_ROUTES,
	       "TAXII_MAX_ROUTES is too small for route_table");

const struct http_route *taxii_routes(const struct taxii *t, size_t *n)
{
	*n = t->n_routes;
	return t->routes;
}

int taxii_new(const struct taxii_config *cfg, struct taxii **out,
	      struct diag *d)
{
	struct taxii *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	t->cfg = *cfg;
	snprintf(t->node_name, sizeof(t->node_name), "%s",
		 cfg->node_name ? cfg->node_name : "");
	snprintf(t->node_org, sizeof(t->node_org), "%s",
		 cfg->node_org ? cfg->node_org : "");
	t->cfg.node_name = t->node_name;
	t->cfg.node_org = t->node_org;
	if (t->cfg.page_default == 0)
		t->cfg.page_default = 1000;
	if (t->cfg.page_max == 0)
		t->cfg.page_max = 10000;
	if (t->cfg.page_default > t->cfg.page_max)
		t->cfg.page_default = t->cfg.page_max;
	if (t->cfg.token_ttl_s == 0)
		t->cfg.token_ttl_s = 3600;
	if (t->cfg.account_max_requests == 0)
		t->cfg.account_max_requests = 32;
	if (t->cfg.stream_max == 0)
		t->cfg.stream_max = 1000;
	if (t->cfg.stream_account_max == 0)
		t->cfg.stream_account_max = 8;
	if (t->cfg.stream_heartbeat_ms == 0)
		t->cfg.stream_heartbeat_ms = 15000;
	if (t->cfg.stream_window_s == 0 ||
	    t->cfg.stream_window_s > TOKEN_KEY_ROTATE_S)
		t->cfg.stream_window_s = TOKEN_KEY_ROTATE_S;
	if (t->cfg.stream_buffer < 64 * 1024)
		t->cfg.stream_buffer = 1u << 20;
	atomic_init(&t->streams, 0);
	atomic_init(&t->stream_events, 0);
	atomic_init(&t->stream_revoked, 0);
	t->started = metrics_process_start();
	snprintf(t->incarnation_str, sizeof(t->incarnation_str), "%s",
		 store_incarnation(cfg->store));
	if (uuid_parse(t->incarnation_str, strlen(t->incarnation_str), false,
		       t->incarnation) != ST_OK) {
		free(t);
		return diag_set(d, ST_ESTORE, "the store has no incarnation");
	}
	size_t n = sizeof(route_table) / sizeof(route_table[0]);
	memcpy(t->routes, route_table, sizeof(route_table));
	if (cfg->discovery_public)
		t->routes[0].flags = HTTP_ROUTE_PUBLIC | HTTP_ROUTE_TAXII;
	t->n_routes = n;
	t->metrics = metrics_new(t->routes, t->n_routes);
	t->scache = stream_cache_new();
	if (t->metrics == NULL || t->scache == NULL ||
	    taxii_logins_init(t) != ST_OK) {
		metrics_free(t->metrics);
		stream_cache_free(t->scache);
		taxii_logins_free(t);
		free(t);
		return diag_set(d, ST_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&t->match_mu, NULL);
	if (cfg->node_identity != NULL) {
		snprintf(t->node_identity, sizeof(t->node_identity), "%s",
			 cfg->node_identity);
		t->cfg.node_identity = t->node_identity;
	}
	*out = t;
	return ST_OK;
}

void taxii_free(struct taxii *t)
{
	if (t == NULL)
		return;
	metrics_free(t->metrics);
	stream_cache_free(t->scache);
	match_engine_free(t->match);
	pthread_mutex_destroy(&t->match_mu);
	taxii_logins_free(t);
	free(t);
}

unsigned taxii_streams(const struct taxii *t)
{
	return atomic_load(&((struct taxii *)t)->streams);
}
