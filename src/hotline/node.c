/*
 * strait: the hotline in `strait serve`; see node.h.
 */
#include "hotline/node.h"

#include "common/json.h"
#include "common/log.h"
#include "common/uuid.h"
#include "federation/fed.h"
#include "federation/peers.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

#define TICK_MS 20	   /* the supervisor's turn */
#define HEARTBEAT_S 2.0	   /* a link idle this long sends one */
#define PROFILE_EVERY_S 30 /* partners' profiles fetched this often */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define RELAY_PATH "/api/v1/hotline/relay/"
/* Entries a link keeps sent but not yet on the partner's disk, at most. */
#define PEND_MAX 64
/* How often a link with such entries asks the partner how far its disk
 * is, when nothing else goes out. */
#define POLL_S 0.02
#define FLASH_WINDOW_S 60.0
#define RATE_SLOTS 256

struct link {
	struct hl_node *n;
	char peer[HL_PEER_MAX];
	pthread_t th;
	atomic_bool quit, ended;
	bool seen; /* still registered at the last look */
	struct link *next;
};

struct rate {
	char addr[HL_ADDR_MAX + 1];
	double window; /* start of the current window */
	unsigned n;
};

struct hl_node {
	struct hl_node_cfg cfg;
	char home[4096], identity[STIX_ID_MAX], name[128], country[8];
	char hook[1024];
	struct hl_db *db;
	struct hl_db *ck; /* the checkpoints' own connection */
	pthread_t sup;
	bool sup_started;
	/* Ours, new at each start: a partner's link tells from it that what
	 * we had not yet synced may be gone (hl_node_receive). */
	char boot[UUID_STRLEN + 1];
	pthread_t syncer;
	bool syncer_started;
	atomic_bool stop;
	pthread_mutex_t mu; /* wake_gen and the links' wait */
	pthread_cond_t cv;
	uint64_t wake_gen;
	struct link *links; /* the supervisor's */
	pthread_mutex_t rate_mu;
	struct rate rates[RATE_SLOTS];
};

static double boottime(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double hl_node_clock(struct hl_node *n)
{
	return n->cfg.clock(n->cfg.clock_ctx);
}

struct hl_db *hl_node_db(struct hl_node *n)
{
	return n->db;
}

void hl_node_wake(struct hl_node *n)
{
	pthread_mutex_lock(&n->mu);
	n->wake_gen++;
	pthread_cond_broadcast(&n->cv);
	pthread_mutex_unlock(&n->mu);
}

static void audit(struct hl_node *n, const char *kind, const char *actor,
		  const char *detail)
{
	if (n->cfg.audit != NULL)
		n->cfg.audit(n->cfg.audit_ctx, kind, actor, detail, false);
}

/* Whether addr is a principal of this node. */
static bool ours(const struct hl_node *n, const char *addr)
{
	size_t nl;
	return hl_addr_valid(addr, &nl) && strlen(n->identity) == nl &&
	       strncmp(addr, n->identity, nl) == 0;
}

static bool of_node(const char *addr, const char *identity)
{
	size_t nl;
	return identity[0] != '\0' && hl_addr_valid(addr, &nl) &&
	       strlen(identity) == nl && strncmp(addr, identity, nl) == 0;
}

/* ------------------------------------------------------------------ */
/* What partners relay                                                  */
/* ------------------------------------------------------------------ */

static bool flash_allowed(struct hl_node *n, const char *sender)
{
	unsigned max = n->cfg.flash_per_min ? n->cfg.flash_per_min : 30;
	double now = boottime(NULL);
	bool ok = true;
	pthread_mutex_lock(&n->rate_mu);
	struct rate *slot = NULL, *oldest = &n->rates[0];
	for (size_t i = 0; i < RATE_SLOTS; i++) {
		struct rate *r = &n->rates[i];
		if (strcmp(r->addr, sender) == 0) {
			slot = r;
			break;
		}
		if (r->window < oldest->window)
			oldest = r;
	}
	if (slot == NULL) {
		slot = oldest;
		snprintf(slot->addr, sizeof(slot->addr), "%s", sender);
		slot->window = now;
		slot->n = 0;
	}
	if (now - slot->window >= FLASH_WINDOW_S) {
		slot->window = now;
		slot->n = 0;
	}
	if (slot->n >= max)
		ok = false;
	else
		slot->n++;
	pthread_mutex_unlock(&n->rate_mu);
	return ok;
}

static unsigned deadline_of(const struct hl_node *n, enum hl_prec p)
{
	static const unsigned dflt[4] = {
	    HL_DEADLINE_FLASH, HL_DEADLINE_IMMEDIATE, HL_DEADLINE_PRIORITY,
	    HL_DEADLINE_ROUTINE};
	return n->cfg.deadline_s[p] ? n->cfg.deadline_s[p] : dflt[p];
}

static void event_msg(struct hl_node *n, const char *kind,
		      const struct hl_header *h, const char *extra)
{
	char detail[1024];
	snprintf(detail, sizeof(detail),
		 "{\"precedence\":\"%s\",\"status\":\"%s\",\"type\":\"%s\","
		 "\"sender\":\"%s\"%s%s}",
		 hl_prec_name(h->prec), hl_status_name(h->status),
		 hl_type_name(h->type), h->sender, extra ? "," : "",
		 extra ? extra : "");
	hl_event_add(n->db, kind, h->id, detail, NULL);
}

static int recv_message(struct hl_node *n, const char *peer,
			const char *peer_id, const struct json_val *root,
			uint64_t *gen, struct diag *d)
{
	struct hl_msg m;
	memset(&m, 0, sizeof(m));
	int rc = hl_header_parse(json_get(root, "header"), &m.h, d);
	if (rc != ST_OK)
		return diag_set(d, ST_EINVAL, "header: %s", d->msg);
	if (!hl_hex_field(json_get(root, "sig"), m.sig, sizeof(m.sig)))
		return diag_set(d, ST_EINVAL, "sig: 128 hex digits");
	if (!of_node(m.h.sender, peer_id))
		return diag_set(d, ST_EINVAL,
				"message %s: the sender %s is not a principal "
				"of %s",
				m.h.id, m.h.sender, peer);
	const struct json_val *rs = json_get(root, "readers");
	if (rs == NULL || rs->type != JSON_ARRAY || rs->len > HL_MAX_READERS)
		return diag_set(d, ST_EINVAL, "readers: an array of at most %d",
				HL_MAX_READERS);
	struct hl_reader rd[HL_MAX_READERS];
	uint8_t *cts[HL_MAX_READERS];
	size_t nr = 0;
	rc = ST_OK;
	for (uint32_t i = 0; rc == ST_OK && i < rs->len; i++) {
		const struct json_val *a =
		    json_get(&rs->u.items[i], "principal");
		const struct json_val *c = json_get(&rs->u.items[i], "sealed");
		if (a == NULL || a->type != JSON_STRING ||
		    a->len > HL_ADDR_MAX || c == NULL ||
		    c->type != JSON_STRING) {
			rc = diag_set(d, ST_EINVAL,
				      "readers[%u]: principal and sealed",
				      (unsigned)i);
			break;
		}
		char addr[HL_ADDR_MAX + 1];
		memcpy(addr, a->u.str, a->len);
		addr[a->len] = '\0';
		struct hl_principal p;
		/* only bodies for principals enrolled here are kept */
		if (!ours(n, addr) ||
		    hl_principal_get(n->db, addr, &p) != ST_OK ||
		    p.trust != HL_TRUST_OURS)
			continue;
		size_t cap = c->len / 4 * 3 + 3, len = 0;
		cts[nr] = malloc(cap);
		if (cts[nr] == NULL) {
			rc = diag_set(d, ST_ENOMEM, "out of memory");
			break;
		}
		if (sodium_base642bin(cts[nr], cap, c->u.str, c->len, NULL,
				      &len, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    len != m.h.body_size + crypto_box_SEALBYTES) {
			free(cts[nr]);
			rc = diag_set(d, ST_EINVAL,
				      "readers[%u]: sealed is not the sealed "
				      "body the header announces",
				      (unsigned)i);
			break;
		}
		snprintf(rd[nr].addr, sizeof(rd[nr].addr), "%s", addr);
		rd[nr].ct = cts[nr];
		rd[nr].ctlen = len;
		nr++;
	}
	bool to_us = false;
	for (size_t i = 0; i < m.h.nrecipients; i++)
		to_us |= ours(n, m.h.recipients[i]);
	if (rc == ST_OK && (!to_us || nr == 0))
		rc = diag_set(d, ST_EINVAL,
			      "message %s: addressed to no principal of this "
			      "node",
			      m.h.id);
	if (rc == ST_OK && m.h.prec == HL_FLASH &&
	    !flash_allowed(n, m.h.sender))
		rc =
		    diag_set(d, ST_ELIMIT,
			     "FLASH from %s: more than %u a minute", m.h.sender,
			     n->cfg.flash_per_min ? n->cfg.flash_per_min : 30);
	bool dup = false;
	if (rc == ST_OK) {
		m.dir = HL_IN;
		snprintf(m.peer, sizeof(m.peer), "%s", peer);
		m.stored = time_now();
		m.clock_in = hl_node_clock(n);
		m.deadline = m.clock_in + deadline_of(n, m.h.prec);
		m.level = 0;
		m.state = HL_OPEN;
		rc = hl_msg_put(n->db, &m, rd, nr, &dup, d);
	}
	for (size_t i = 0; i < nr; i++)
		free(cts[i]);
	if (rc == ST_OK && !dup) {
		event_msg(n, "message", &m.h, NULL);
		char detail[512];
		snprintf(detail, sizeof(detail),
			 "{\"message\":\"%s\",\"precedence\":\"%s\","
			 "\"status\":\"%s\",\"sender\":\"%s\"}",
			 m.h.id, hl_prec_name(m.h.prec),
			 hl_status_name(m.h.status), m.h.sender);
		char actor[64];
		snprintf(actor, sizeof(actor), "peer:%s", peer);
		audit(n, "hotline.receive", actor, detail);
	}
	/* The recipients see the message as soon as it is committed, and the
	 * partner hears the commit's generation: it drops the message from
	 * its outbox once we report that generation on disk (the syncer
	 * thread's work), so a crash in between loses our copy, never the
	 * partner's, which comes again. A replay gets the generation now: the
	 * first copy was committed before it, or before this start (and
	 * synced when the node started). */
	if (rc == ST_OK)
		*gen = hl_db_gen(n->db);
	return rc;
}

static int recv_receipt(struct hl_node *n, const char *peer,
			const char *peer_id, const struct json_val *root,
			struct diag *d)
{
	struct hl_receipt_rec r;
	int rc = hl_receipt_parse(json_get(root, "receipt"), &r, d);
	if (rc != ST_OK)
		return diag_set(d, ST_EINVAL, "receipt: %s", d->msg);
	if (!of_node(r.principal, peer_id))
		return diag_set(d, ST_EINVAL,
				"receipt of %s: not a principal of %s",
				r.principal, peer);
	struct hl_msg m;
	if (hl_msg_get(n->db, r.msg, &m, d) != ST_OK || m.dir != HL_OUT)
		return diag_set(d, ST_EINVAL,
				"receipt for %s: no such message "
				"sent from here",
				r.msg);
	/* a reader's key, when known, must have signed it */
	struct hl_principal p;
	if (hl_principal_get(n->db, r.principal, &p) == ST_OK &&
	    !hl_receipt_verify(&r, p.key.sign_pk))
		return diag_set(d, ST_EINVAL,
				"receipt of %s for %s: the signature does not "
				"verify",
				r.principal, r.msg);
	bool dup = false;
	rc = hl_receipt_put(n->db, &r, &dup, d);
	if (rc == ST_OK && !dup) {
		char extra[256];
		snprintf(extra, sizeof(extra),
			 "\"receipt\":\"%s\",\"principal\":\"%s\"",
			 hl_receipt_kind_name(r.kind), r.principal);
		event_msg(n, "receipt", &m.h, extra);
		if (r.kind == HL_ACKNOWLEDGED && m.state == HL_OPEN)
			hl_msg_update(n->db, m.h.id, HL_ACKED, m.level,
				      m.deadline, NULL);
	}
	return rc;
}

static int recv_notice(struct hl_node *n, const char *peer, const char *peer_id,
		       const struct json_val *root, struct diag *d)
{
	const struct json_val *id = json_get(root, "message");
	const struct json_val *ev = json_get(root, "event");
	const struct json_val *lv = json_get(root, "level");
	if (id == NULL || id->type != JSON_STRING || id->len != HL_ID_LEN ||
	    ev == NULL ||
	    !(json_str_eq(ev, "escalated") ||
	      json_str_eq(ev, "unacknowledged")) ||
	    lv == NULL || lv->type != JSON_NUMBER || !lv->u.num.is_int ||
	    lv->u.num.i < 0 || lv->u.num.i > 2)
		return diag_set(d, ST_EINVAL,
				"notice: message, event (escalated or "
				"unacknowledged) and level (0 to 2)");
	struct hl_msg m;
	if (hl_msg_get(n->db, id->u.str, &m, d) != ST_OK || m.dir != HL_OUT)
		return diag_set(d, ST_EINVAL,
				"notice for %s: no such message sent from "
				"here",
				id->u.str);
	bool to_peer = false;
	for (size_t i = 0; i < m.h.nrecipients; i++)
		to_peer |= of_node(m.h.recipients[i], peer_id);
	if (!to_peer)
		return diag_set(d, ST_EINVAL,
				"notice for %s: %s is not one of its "
				"recipients' nodes",
				m.h.id, peer);
	char extra[128];
	snprintf(extra, sizeof(extra), "\"level\":%d,\"node\":\"%s\"",
		 (int)lv->u.num.i, peer);
	event_msg(n,
		  json_str_eq(ev, "escalated") ? "escalated" : "unacknowledged",
		  &m.h, extra);
	return ST_OK;
}

int hl_node_receive(struct hl_node *n, const char *peer, const char *body,
		    size_t len, struct hl_ack *ack, struct diag *d)
{
	memset(ack, 0, sizeof(*ack));
	char peer_id[STIX_ID_MAX];
	if (fed_peer_identity(n->cfg.fed, peer, peer_id, sizeof(peer_id)) !=
	    ST_OK)
		return diag_set(d, ST_EINVAL,
				"partner %s: its identity is not known here "
				"yet",
				peer);
	struct json_doc *doc = json_doc_new();
	if (doc == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	const struct json_val *root;
	int rc = json_parse(doc, body, len, 0, NULL, &root, d);
	if (rc != ST_OK) {
		json_doc_free(doc);
		return diag_set(d, ST_EINVAL, "%s", d->msg);
	}
	const struct json_val *k = json_get(root, "kind");
	if (json_str_eq(k, "message"))
		rc = recv_message(n, peer, peer_id, root, &ack->gen, d);
	else if (json_str_eq(k, "receipt"))
		rc = recv_receipt(n, peer, peer_id, root, d);
	else if (json_str_eq(k, "notice"))
		rc = recv_notice(n, peer, peer_id, root, d);
	else if (json_str_eq(k, "heartbeat"))
		rc = ST_OK;
	else if (n->cfg.other != NULL && k != NULL && k->type == JSON_STRING)
		rc = n->cfg.other(n->cfg.other_ctx, peer, peer_id, root, d);
	else
		rc = diag_set(d, ST_EINVAL,
			      "kind: message, receipt, notice or heartbeat");
	json_doc_free(doc);
	if (rc == ST_OK) {
		hl_link_heard(n->db, peer, time_now(), NULL);
		memcpy(ack->boot, n->boot, sizeof(ack->boot));
		ack->durable = hl_db_durable(n->db);
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* Escalation                                                           */
/* ------------------------------------------------------------------ */

static void run_hook(struct hl_node *n, const char *event,
		     const struct hl_msg *m, int level,
		     char (*readers)[HL_ADDR_MAX + 1], size_t nr)
{
	if (n->hook[0] == '\0')
		return;
	char e_msg[128], e_event[64], e_prec[64], e_status[64], e_level[32],
	    e_sender[HL_ADDR_MAX + 32], e_readers[4096];
	snprintf(e_msg, sizeof(e_msg), "STRAIT_HOTLINE_MESSAGE=%s", m->h.id);
	snprintf(e_event, sizeof(e_event), "STRAIT_HOTLINE_EVENT=%s", event);
	snprintf(e_prec, sizeof(e_prec), "STRAIT_HOTLINE_PRECEDENCE=%s",
		 hl_prec_name(m->h.prec));
	snprintf(e_status, sizeof(e_status), "STRAIT_HOTLINE_STATUS=%s",
		 hl_status_name(m->h.status));
	snprintf(e_level, sizeof(e_level), "STRAIT_HOTLINE_LEVEL=%d", level);
	snprintf(e_sender, sizeof(e_sender), "STRAIT_HOTLINE_SENDER=%s",
		 m->h.sender);
	size_t o = (size_t)snprintf(e_readers, sizeof(e_readers),
				    "STRAIT_HOTLINE_READERS=");
	for (size_t i = 0; i < nr && o < sizeof(e_readers); i++)
		o += (size_t)snprintf(e_readers + o, sizeof(e_readers) - o,
				      "%s%s", i ? " " : "", readers[i]);
	char e_path[] = "PATH=/usr/bin:/bin", sh[] = "/bin/sh", dash_c[] = "-c";
	char *env[] = {e_msg,	 e_event,   e_prec, e_status, e_level,
		       e_sender, e_readers, e_path, NULL};
	char *argv[] = {sh, dash_c, n->hook, NULL};
	pid_t pid;
	int rc = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, env);
	if (rc != 0)
		log_error("hotline", "escalation hook: cannot run: %s",
			  strerror(rc));
	/* reaped by the supervisor (waitpid WNOHANG) */
}

static int escalate(void *ctx, const struct hl_msg *m)
{
	struct hl_node *n = ctx;
	char readers[HL_MAX_READERS][HL_ADDR_MAX + 1];
	size_t nr = 0;
	int next = m->level + 1;
	while (next <= 2) {
		hl_msg_readers(n->db, m->h.id, next, readers, HL_MAX_READERS,
			       &nr);
		if (nr > 0)
			break;
		next++;
	}
	double now = hl_node_clock(n);
	const char *event = next <= 2 ? "escalated" : "unacknowledged";
	if (next <= 2)
		hl_msg_update(n->db, m->h.id, HL_OPEN, next,
			      now + deadline_of(n, m->h.prec), NULL);
	else
		hl_msg_update(n->db, m->h.id, HL_EXHAUSTED, m->level,
			      m->deadline, NULL);
	int level = next <= 2 ? next : m->level;
	char extra[HL_MAX_READERS * (HL_ADDR_MAX + 4) + 64];
	size_t o = (size_t)snprintf(extra, sizeof(extra),
				    "\"level\":%d,\"readers\":[", level);
	for (size_t i = 0; i < nr && o < sizeof(extra); i++)
		o += (size_t)snprintf(extra + o, sizeof(extra) - o, "%s\"%s\"",
				      i ? "," : "", readers[i]);
	if (o < sizeof(extra))
		snprintf(extra + o, sizeof(extra) - o, "]");
	event_msg(n, event, &m->h, extra);
	log_warn(
	    "hotline", "message %s (%s %s) not acknowledged: %s%s", m->h.id,
	    hl_prec_name(m->h.prec), hl_status_name(m->h.status), event,
	    next <= 2
		? (next == 1 ? " to the deputies" : " to the duty officers")
		: "");
	run_hook(n, event, m, level, readers, nr);
	/* the sender sees it */
	char notice[256];
	snprintf(notice, sizeof(notice),
		 "{\"kind\":\"notice\",\"message\":\"%s\",\"event\":\"%s\","
		 "\"level\":%d}",
		 m->h.id, event, level);
	if (m->peer[0] != '\0' &&
	    hl_outbox_add(n->db, m->peer, m->h.prec, notice, NULL) == ST_OK)
		hl_node_wake(n);
	char detail[256];
	snprintf(detail, sizeof(detail),
		 "{\"message\":\"%s\",\"event\":\"%s\",\"level\":%d}", m->h.id,
		 event, level);
	audit(n, "hotline.escalate", "node", detail);
	return ST_OK;
}

/* ------------------------------------------------------------------ */
/* Links                                                                */
/* ------------------------------------------------------------------ */

/* Waits up to ms or until woken. */
static void link_wait(struct hl_node *n, uint64_t *gen, unsigned ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&n->mu);
	while (n->wake_gen == *gen && !atomic_load(&n->stop))
		if (pthread_cond_timedwait(&n->cv, &n->mu, &ts) == ETIMEDOUT)
			break;
	*gen = n->wake_gen;
	pthread_mutex_unlock(&n->mu);
}

/* Principals a partner's profile lists, as pending keys until confirmed;
 * a key that changed after it was confirmed is an alert. */
static bool take_profile(struct hl_node *n, const char *peer, const char *json,
			 size_t len)
{
	char peer_id[STIX_ID_MAX];
	if (fed_peer_identity(n->cfg.fed, peer, peer_id, sizeof(peer_id)) !=
	    ST_OK)
		return false; /* its sender has not learnt it yet */
	struct json_doc *doc = json_doc_new();
	const struct json_val *root, *ps;
	struct diag d;
	if (doc == NULL ||
	    json_parse(doc, json, len, 0, NULL, &root, &d) != ST_OK ||
	    (ps = json_get(root, "principals")) == NULL ||
	    ps->type != JSON_ARRAY) {
		log_warn("hotline",
			 "partner %s: its contact profile is not "
			 "readable",
			 peer);
		json_doc_free(doc);
		return true;
	}
	for (uint32_t i = 0; i < ps->len && i < 256; i++) {
		const struct json_val *x = &ps->u.items[i];
		struct hl_principal p;
		memset(&p, 0, sizeof(p));
		const struct json_val *a = json_get(x, "address");
		const struct json_val *t = json_get(x, "title");
		if (a == NULL || a->type != JSON_STRING || a->len > HL_ADDR_MAX)
			continue;
		memcpy(p.addr, a->u.str, a->len);
		if (!of_node(p.addr, peer_id) ||
		    !hl_hex_field(json_get(x, "sign_pk"), p.key.sign_pk, 32) ||
		    !hl_hex_field(json_get(x, "box_pk"), p.key.box_pk, 32)) {
			log_warn("hotline",
				 "partner %s: profile entry %u refused (not "
				 "its principal, or no keys)",
				 peer, (unsigned)i);
			continue;
		}
		if (t != NULL && t->type == JSON_STRING &&
		    t->len < sizeof(p.title))
			memcpy(p.title, t->u.str, t->len);
		for (int l = 0; l < 2; l++) {
			const struct json_val *c =
			    json_get(x, l == 0 ? "deputies" : "duty");
			for (uint32_t k = 0;
			     c != NULL && c->type == JSON_ARRAY && k < c->len &&
			     p.nchain[l] < HL_CHAIN_MAX;
			     k++) {
				const struct json_val *m = &c->u.items[k];
				if (m->type != JSON_STRING ||
				    m->len > HL_ADDR_MAX)
					continue;
				memcpy(p.chain[l][p.nchain[l]], m->u.str,
				       m->len);
				p.chain[l][p.nchain[l]][m->len] = '\0';
				if (of_node(p.chain[l][p.nchain[l]], peer_id))
					p.nchain[l]++;
			}
		}
		bool changed = false;
		if (hl_principal_seen(n->db, peer, &p, &changed, &d) != ST_OK)
			continue;
		if (changed) {
			struct hl_principal now;
			hl_principal_get(n->db, p.addr, &now);
			log_warn("hotline",
				 "ALERT: partner %s's principal %s has a new "
				 "key (fingerprint %s): not used until it is "
				 "confirmed again (strait hotline trust)",
				 peer, p.addr, now.fp);
			char detail[512];
			snprintf(detail, sizeof(detail),
				 "{\"principal\":\"%s\",\"fingerprint\":\"%s\","
				 "\"partner\":\"%s\"}",
				 p.addr, now.fp, peer);
			hl_event_add(n->db, "key.changed", "", detail, NULL);
			audit(n, "hotline.key-changed", "node", detail);
		}
	}
	hl_profile_put(n->db, peer, json, NULL);
	json_doc_free(doc);
	return true;
}

/* Entries sent to the partner that it has committed but not yet
 * reported on its disk (struct hl_ack): they stay in the outbox, and are
 * not sent again, until an answer of the same boot reports them durable.
 * Only the link's: a node that starts again sends them again, and the
 * partner drops the replays. */
struct pend {
	char boot[UUID_STRLEN + 1];
	size_t n;
	int64_t seq[PEND_MAX];
	uint64_t gen[PEND_MAX];
};

/* The partner's answer to a relay POST. One without a boot (a partner
 * that syncs before it answers) counts as on disk. */
static void ack_parse(const struct buf *resp, struct hl_ack *a)
{
	memset(a, 0, sizeof(*a));
	struct json_doc *doc = json_doc_new();
	const struct json_val *root;
	struct diag d;
	if (doc != NULL && resp->data != NULL &&
	    json_parse(doc, resp->data, resp->len, 0, NULL, &root, &d) ==
		ST_OK) {
		const struct json_val *b = json_get(root, "boot");
		const struct json_val *g = json_get(root, "gen");
		const struct json_val *u = json_get(root, "durable");
		if (b != NULL && b->type == JSON_STRING &&
		    b->len < sizeof(a->boot))
			memcpy(a->boot, b->u.str, b->len);
		if (a->boot[0] != '\0' && g != NULL && g->type == JSON_NUMBER &&
		    g->u.num.is_int && g->u.num.i > 0)
			a->gen = (uint64_t)g->u.num.i;
		if (u != NULL && u->type == JSON_NUMBER && u->u.num.is_int &&
		    u->u.num.i > 0)
			a->durable = (uint64_t)u->u.num.i;
	}
	json_doc_free(doc);
}

/* Drops from the outbox what the partner now has on disk. A partner that
 * started again may have lost what it had not synced: those entries are
 * sent again. */
static void pend_settle(struct hl_node *n, struct pend *p,
			const struct hl_ack *a)
{
	if (strcmp(p->boot, a->boot) != 0) {
		p->n = 0;
		memcpy(p->boot, a->boot, sizeof(p->boot));
	}
	size_t k = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (p->gen[i] <= a->durable) {
			hl_outbox_done(n->db, p->seq[i], NULL);
		} else {
			p->seq[k] = p->seq[i];
			p->gen[k++] = p->gen[i];
		}
	}
	p->n = k;
}

static void *link_main(void *arg)
{
	struct link *l = arg;
	struct hl_node *n = l->n;
	char name[16];
	snprintf(name, sizeof(name), "hotline:%s", l->peer);
	prctl(PR_SET_NAME, name, 0, 0, 0);
	struct fed_link *c = NULL;
	struct buf resp = BUF_INIT(1 << 20);
	unsigned backoff = 0;
	double last_sent = 0, next_profile = 0;
	bool down = false;
	uint64_t gen = 0;
	struct diag d;
	struct pend *p = calloc(1, sizeof(*p));
	if (p == NULL) {
		log_error("hotline", "link to %s: out of memory", l->peer);
		atomic_store(&l->ended, true);
		return NULL;
	}
	while (!atomic_load(&l->quit) && !atomic_load(&n->stop)) {
		if (backoff > 0)
			link_wait(n, &gen, backoff);
		if (atomic_load(&l->quit) || atomic_load(&n->stop))
			break;
		if (c == NULL &&
		    fed_link_open(n->home, l->peer, 10000, &c, &d) != ST_OK) {
			backoff = BACKOFF_MAX_MS;
			continue;
		}
		double now = boottime(NULL);
		long st = 0;
		int rc = ST_OK;
		if (now >= next_profile) {
			rc = fed_link_call(c, "GET", "/api/v1/contacts/", NULL,
					   0, &st, &resp, &d);
			bool took =
			    rc == ST_OK && st == 200 &&
			    take_profile(n, l->peer, resp.data, resp.len);
			unsigned every = n->cfg.profile_every_s
					     ? n->cfg.profile_every_s
					     : PROFILE_EVERY_S;
			next_profile = now + (took ? every : 2);
		}
		struct hl_out o;
		bool have =
		    p->n < PEND_MAX && hl_outbox_next(n->db, l->peer, p->seq,
						      p->n, &o, &d) == ST_OK;
		if (!have && p->n > 0 && now - last_sent < POLL_S) {
			/* sent entries wait for the partner's disk: ask again
			 * soon (sooner if a hand-in wakes us) */
			backoff = 0;
			link_wait(n, &gen, (unsigned)(POLL_S * 1000));
			continue;
		}
		if (!have && p->n == 0 && now - last_sent < HEARTBEAT_S) {
			backoff = 0;
			link_wait(n, &gen, 100);
			continue;
		}
		const char *doc = have ? o.json : "{\"kind\":\"heartbeat\"}";
		rc = fed_link_call(c, "POST", RELAY_PATH, doc, strlen(doc), &st,
				   &resp, &d);
		last_sent = boottime(NULL);
		if (rc == ST_OK && (st == 200 || st == 201)) {
			struct hl_ack a;
			ack_parse(&resp, &a);
			pend_settle(n, p, &a);
			if (have && a.gen > a.durable) {
				p->seq[p->n] = o.seq;
				p->gen[p->n++] = a.gen;
			} else if (have) {
				hl_outbox_done(n->db, o.seq, NULL);
			}
			hl_link_heard(n->db, l->peer, time_now(), NULL);
			if (down)
				log_info("hotline", "link to %s is up",
					 l->peer);
			down = false;
			backoff = 0;
		} else if (rc == ST_OK && st == 429) {
			/* the partner's FLASH limit: the link is up, the
			 * entry waits its turn */
			hl_link_heard(n->db, l->peer, time_now(), NULL);
			backoff = 1000;
		} else if (rc == ST_OK && have &&
			   (st == 400 || st == 403 || st == 422)) {
			/* refused for good: kept as an event, not retried */
			log_error("hotline",
				  "partner %s refused an entry (HTTP %ld): "
				  "%.300s",
				  l->peer, st, resp.data ? resp.data : "");
			char detail[512];
			snprintf(detail, sizeof(detail),
				 "{\"partner\":\"%s\",\"http\":%ld}", l->peer,
				 st);
			hl_event_add(n->db, "undeliverable", "", detail, NULL);
			hl_outbox_done(n->db, o.seq, NULL);
		} else {
			if (!down) {
				log_warn("hotline", "link to %s is down: %s",
					 l->peer,
					 rc != ST_OK ? d.msg : "HTTP error");
				hl_link_down(n->db, l->peer, time_now(), NULL);
				char detail[128];
				snprintf(detail, sizeof(detail),
					 "{\"partner\":\"%s\"}", l->peer);
				hl_event_add(n->db, "link.down", "", detail,
					     NULL);
			}
			down = true;
			backoff = backoff ? backoff * 2 : BACKOFF_MIN_MS;
			if (backoff > BACKOFF_MAX_MS)
				backoff = BACKOFF_MAX_MS;
			if (rc != ST_OK) {
				fed_link_close(c);
				c = NULL;
			}
		}
		if (have)
			free(o.json);
	}
	fed_link_close(c);
	buf_free(&resp);
	free(p);
	atomic_store(&l->ended, true);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The supervisor                                                       */
/* ------------------------------------------------------------------ */

static int mark_peer(void *ctx, const struct peer *p)
{
	struct hl_node *n = ctx;
	for (struct link *l = n->links; l != NULL; l = l->next)
		if (strcmp(l->peer, p->name) == 0) {
			l->seen = true;
			return ST_OK;
		}
	struct link *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return ST_OK;
	l->n = n;
	l->seen = true;
	snprintf(l->peer, sizeof(l->peer), "%s", p->name);
	atomic_init(&l->quit, false);
	atomic_init(&l->ended, false);
	if (pthread_create(&l->th, NULL, link_main, l) != 0) {
		free(l);
		return ST_OK;
	}
	l->next = n->links;
	n->links = l;
	return ST_OK;
}

static void links_refresh(struct hl_node *n)
{
	struct peers *p = NULL;
	struct diag d;
	if (peers_open(n->home, &p, &d) != ST_OK)
		return;
	for (struct link *l = n->links; l != NULL; l = l->next)
		l->seen = false;
	peers_list(p, mark_peer, n, &d);
	peers_close(p);
	for (struct link **pl = &n->links; *pl != NULL;) {
		struct link *l = *pl;
		if (l->seen) {
			pl = &l->next;
			continue;
		}
		atomic_store(&l->quit, true);
		hl_node_wake(n);
		pthread_join(l->th, NULL);
		*pl = l->next;
		free(l);
	}
}

/* Makes what partners relay to us durable, soon after it is committed
 * and without keeping the partner's link waiting (hl_node_receive answers
 * at the commit); hand-ins here share its syncs (hl_db_sync). */
static void *syncer_main(void *arg)
{
	struct hl_node *n = arg;
	prctl(PR_SET_NAME, "hotline-sync", 0, 0, 0);
	bool failing = false;
	while (!atomic_load(&n->stop)) {
		uint64_t g = hl_db_gen(n->db);
		if (g <= hl_db_durable(n->db)) {
			hl_db_wait_commit(n->db, g, 200);
			continue;
		}
		struct diag d;
		int rc = hl_db_sync(n->db, &d);
		if (rc != ST_OK && !failing)
			log_error("hotline",
				  "%s (partners keep what they sent until it "
				  "is on disk here; retried every second)",
				  d.msg);
		else if (rc == ST_OK && failing)
			log_info("hotline", "the disk syncs again");
		failing = rc != ST_OK;
		if (failing) {
			struct timespec ts = {1, 0};
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static void *sup_main(void *arg)
{
	struct hl_node *n = arg;
	prctl(PR_SET_NAME, "hotline", 0, 0, 0);
	uint64_t ver = hl_db_version(n->db);
	double next_links = 0, next_due = 0, next_ck = 0;
	struct diag d;
	while (!atomic_load(&n->stop)) {
		double now = boottime(NULL);
		if (now >= next_links) {
			links_refresh(n);
			next_links = now + 1.0;
		}
		if (now >= next_ck) { /* apart from any message's commit */
			hl_db_checkpoint(n->ck);
			next_ck = now + 1.0;
		}
		uint64_t v = hl_db_version(n->db);
		if (v != ver) { /* the CLI wrote: a message, a receipt */
			ver = v;
			hl_node_wake(n);
			hl_db_poke(n->db); /* feeds look at the events */
		}
		if (now >= next_due) {
			if (hl_msg_due(n->db, hl_node_clock(n), escalate, n,
				       &d) != ST_OK)
				log_warn("hotline", "deadlines: %s", d.msg);
			next_due = now + 0.1;
		}
		while (waitpid(-1, NULL, WNOHANG) > 0)
			; /* hooks that ended */
		struct timespec ts = {0, TICK_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	while (n->links != NULL) {
		struct link *l = n->links;
		atomic_store(&l->quit, true);
		hl_node_wake(n);
		pthread_join(l->th, NULL);
		n->links = l->next;
		free(l);
	}
	return NULL;
}

int hl_node_start(const struct hl_node_cfg *cfg, struct hl_node **out,
		  struct diag *d)
{
	*out = NULL;
	struct hl_node *n = calloc(1, sizeof(*n));
	if (n == NULL)
		return diag_set(d, ST_ENOMEM, "out of memory");
	n->cfg = *cfg;
	if (n->cfg.clock == NULL)
		n->cfg.clock = boottime;
	snprintf(n->home, sizeof(n->home), "%s", cfg->home);
	snprintf(n->identity, sizeof(n->identity), "%s", cfg->identity);
	snprintf(n->name, sizeof(n->name), "%s", cfg->name ? cfg->name : "");
	snprintf(n->country, sizeof(n->country), "%s",
		 cfg->country ? cfg->country : "");
	snprintf(n->hook, sizeof(n->hook), "%s", cfg->hook ? cfg->hook : "");
	pthread_mutex_init(&n->mu, NULL);
	pthread_mutex_init(&n->rate_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&n->cv, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&n->stop, false);
	int rc = hl_db_open(n->home, &n->db, d);
	if (rc == ST_OK)
		rc = hl_db_open(n->home, &n->ck, d);
	if (rc == ST_OK)
		hl_db_autocheckpoint(n->db, false);
	/* What an earlier start committed is on disk before this one answers
	 * for it: a replay is answered with this start's counts. */
	if (rc == ST_OK)
		rc = hl_db_sync(n->db, d);
	if (rc == ST_OK) {
		uint8_t u[16];
		uuid_v4(u);
		uuid_format(u, n->boot);
		if (pthread_create(&n->syncer, NULL, syncer_main, n) != 0)
			rc = diag_set(d, ST_EIO, "hotline: no thread");
		else
			n->syncer_started = true;
	}
	if (rc == ST_OK && pthread_create(&n->sup, NULL, sup_main, n) != 0)
		rc = diag_set(d, ST_EIO, "hotline: no thread");
	if (rc != ST_OK) {
		atomic_store(&n->stop, true);
		if (n->syncer_started)
			pthread_join(n->syncer, NULL);
		hl_db_close(n->db);
		hl_db_close(n->ck);
		pthread_cond_destroy(&n->cv);
		pthread_mutex_destroy(&n->mu);
		pthread_mutex_destroy(&n->rate_mu);
		free(n);
		return rc;
	}
	n->sup_started = true;
	*out = n;
	return ST_OK;
}

void hl_node_stop(struct hl_node *n)
{
	if (n == NULL)
		return;
	atomic_store(&n->stop, true);
	hl_node_wake(n);
	if (n->sup_started)
		pthread_join(n->sup, NULL);
	if (n->syncer_started)
		pthread_join(n->syncer, NULL);
	hl_db_close(n->db);
	hl_db_close(n->ck);
	pthread_cond_destroy(&n->cv);
	pthread_mutex_destroy(&n->mu);
	pthread_mutex_destroy(&n->rate_mu);
	free(n);
}

int hl_node_profile_json(struct hl_node *n, struct buf *out, struct diag *d)
{
	return hl_profile_json(n->home, n->db, n->identity, n->name, n->country,
			       out, d);
}
