/*
 * strait: sending a joint incident's entries to the other participants,
 * and taking theirs; see share.h.
 */
#include "coop/share.h"

#include "common/json.h"
#include "federation/fed.h"
#include "hotline/hotline.h"
#include "policy/policy.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int inc_share(const struct inc_share_cfg *c, struct inc_db *db,
	      const struct inc_entry *e, size_t *sent, char *missing,
	      size_t cap, struct diag *d)
{
	*sent = 0;
	if (missing != NULL && cap > 0)
		missing[0] = '\0';
	struct inc_state s;
	int rc = inc_state_get(db, e->incident, &s, d);
	if (rc != ST_OK)
		return rc;
	struct buf doc = BUF_INIT(64 << 10);
	for (size_t i = 0; rc == ST_OK && i < s.nnodes; i++) {
		if (strcmp(s.nodes[i], c->identity) == 0)
			continue;
		char peer[64];
		if (fed_peer_by_identity(c->home, s.nodes[i], peer,
					 sizeof(peer)) != ST_OK) {
			if (missing != NULL) {
				size_t n = strlen(missing);
				snprintf(missing + n, cap - n, "%s%s",
					 n ? ", " : "", s.nodes[i]);
			}
			continue;
		}
		struct inc_entry x = *e;
		if (x.kind == INC_LINK && x.stix[0] &&
		    !fed_released_to(c->store, c->home, peer, x.stix)) {
			x.stix[0] = '\0';
			snprintf(x.text, sizeof(x.text),
				 "an object not released to this partner");
		}
		buf_reset(&doc);
		struct jw w;
		jw_init(&w, &doc);
		jw_obj_open(&w);
		jw_key(&w, "kind");
		jw_str(&w, "incident");
		jw_key(&w, "entry");
		inc_entry_json(&w, &x);
		jw_obj_close(&w);
		rc = jw_finish(&w);
		if (rc == ST_OK)
			rc = hl_outbox_add(c->hl, peer, HL_PRIORITY, doc.data,
					   d);
		if (rc == ST_OK)
			(*sent)++;
	}
	buf_free(&doc);
	return rc;
}

int inc_receive(struct inc_db *db, const char *identity, const char *peer_id,
		const struct json_val *root, struct inc_entry *out, bool *dup,
		struct diag *d)
{
	int rc = inc_entry_parse(json_get(root, "entry"), out, d);
	if (rc != ST_OK)
		return rc;
	size_t nl = strlen(peer_id);
	if (strncmp(out->author, peer_id, nl) != 0 || out->author[nl] != '/')
		return diag_set(d, ST_EINVAL,
				"entry %s: its author is not of the node that "
				"sent it",
				out->id);
	struct inc_state s;
	if (out->kind == INC_OPEN) {
		memset(&s, 0, sizeof(s));
		s.nnodes = out->nnodes;
		memcpy(s.nodes, out->nodes, sizeof(s.nodes));
	} else if (inc_state_get(db, out->incident, &s, d) != ST_OK) {
		return diag_set(d, ST_EINVAL,
				"entry %s: incident %s is not held here (its "
				"opening comes first)",
				out->id, out->incident);
	}
	if (!inc_has_node(&s, identity) || !inc_has_node(&s, peer_id))
		return diag_set(d, ST_EINVAL,
				"entry %s: this node and the sender are not "
				"both participants of incident %s",
				out->id, out->incident);
	return inc_entry_put(db, out, dup, d);
}
