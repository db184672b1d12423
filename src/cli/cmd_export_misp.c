/*
 * strait: `strait export --format misp-feed -o DIR [--for PEER]`: a MISP
 * feed written to a folder (docs/MISP.md): one event JSON per report or
 * grouping, manifest.json and hashes.csv. With --for, only what the
 * release decision gives that partner, recorded as released to it.
 */
#include "cli/export_misp.h"

#include "common/uuid.h"
#include "federation/fed.h"
#include "federation/fedstate.h"
#include "interop/misp_out.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct mx {
	const char *dir;
	struct fed_decider *dec;
	struct fed_sent_item *sent;
	size_t nsent, capsent;
	char (*written)[UUID_STRLEN + 1];
	size_t nwritten, capwritten;
	int err; /* errno of a failed write, or ENOMEM */
};

static bool for_peer_visible(void *ctx, const struct store_row *row)
{
	struct mx *m = ctx;
	if (fed_decider_decide(m->dec, row, NULL) != RELEASE_OK)
		return false;
	if (m->nsent == m->capsent) {
		size_t nc = m->capsent ? m->capsent * 2 : 1024;
		struct fed_sent_item *g = realloc(m->sent, nc * sizeof(*g));
		if (g == NULL) {
			m->err = ENOMEM;
			return false;
		}
		m->sent = g;
		m->capsent = nc;
	}
	char *id = strdup(row->id);
	if (id == NULL) {
		m->err = ENOMEM;
		return false;
	}
	m->sent[m->nsent++] =
	    (struct fed_sent_item){row->seq, id, row->version};
	return true;
}

/* Writes name in dir through a temporary file, synced, then renamed. */
static int write_file(const char *dir, const char *name, const char *data,
		      size_t len)
{
	char path[4200], tmp[4300];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return errno;
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = errno ? errno : EIO;
			close(fd);
			unlink(tmp);
			return e;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return e;
	}
	return 0;
}

static int on_event(void *ctx, const char *uuid, const char *json, size_t len)
{
	struct mx *m = ctx;
	char name[UUID_STRLEN + 8];
	snprintf(name, sizeof(name), "%s.json", uuid);
	if ((m->err = write_file(m->dir, name, json, len)) != 0)
		return 1;
	if (m->nwritten == m->capwritten) {
		size_t nc = m->capwritten ? m->capwritten * 2 : 256;
		void *g = realloc(m->written, nc * sizeof(*m->written));
		if (g == NULL) {
			m->err = ENOMEM;
			return 1;
		}
		m->written = g;
		m->capwritten = nc;
	}
	snprintf(m->written[m->nwritten++], UUID_STRLEN + 1, "%s", uuid);
	return 0;
}

/* Removes the event files of an earlier export that this one no longer
 * holds (withheld, revoked or removed since), so that a folder served as
 * it is never gives out what the decision now withholds. */
static size_t remove_stale(struct mx *m)
{
	DIR *d = opendir(m->dir);
	size_t removed = 0;
	if (d == NULL)
		return 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		uint8_t u[16];
		if (n != UUID_STRLEN + 5 ||
		    strcmp(de->d_name + UUID_STRLEN, ".json") != 0 ||
		    uuid_parse(de->d_name, UUID_STRLEN, false, u) != ST_OK)
			continue;
		bool keep = false;
		for (size_t i = 0; i < m->nwritten && !keep; i++)
			keep = strncmp(m->written[i], de->d_name,
				       UUID_STRLEN) == 0;
		if (keep)
			continue;
		char path[4400];
		snprintf(path, sizeof(path), "%s/%s", m->dir, de->d_name);
		if (unlink(path) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

int cli_export_misp(struct cli *c, int64_t cid, const char *dir,
		    const char *for_peer)
{
	if (dir == NULL)
		return cli_fail(CLI_USAGE,
				"export: --format misp-feed writes a folder: "
				"give it with -o DIR");
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return cli_fail(CLI_USAGE, "export: %s: %s", dir,
				strerror(errno));
	struct mx m = {.dir = dir};
	struct diag d;
	struct ix_misp_feed_opts o = {.cids = &cid, .ncids = 1};
	o.org_name = c->cfg.node_name;
	char ou[UUID_STRLEN + 1] = "";
	const char *dash = strstr(c->cfg.node_identity, "--");
	if (dash != NULL)
		snprintf(ou, sizeof(ou), "%s", dash + 2);
	o.org_uuid = ou;
	if (for_peer != NULL) {
		int frc =
		    fed_decider_new(c->store, c->home, for_peer, &m.dec, &d);
		if (frc == ST_ENOTFOUND)
			return cli_fail(CLI_USAGE,
					"export: --for: no peer named '%s' "
					"(strait peer list)",
					for_peer);
		if (frc != ST_OK)
			return cli_fail(CLI_USAGE, "export: --for %s: %s",
					for_peer, d.msg);
		o.visible = for_peer_visible;
		o.vctx = &m;
	}
	struct buf manifest = BUF_INIT((size_t)256 << 20);
	struct buf hashes = BUF_INIT((size_t)1 << 30);
	struct ix_misp_out_stats st;
	int status = CLI_OK;
	int rc = ix_misp_feed(c->store, &o, on_event, &m, &manifest, &hashes,
			      &st, &d);
	if (rc == ST_OK && m.err == 0)
		m.err = write_file(dir, "hashes.csv",
				   hashes.data ? hashes.data : "", hashes.len);
	/* the manifest last: a puller sees the events it names */
	if (rc == ST_OK && m.err == 0)
		m.err = write_file(dir, "manifest.json", manifest.data,
				   manifest.len);
	if (m.err != 0)
		status =
		    cli_fail(CLI_USAGE, "export: %s: %s", dir, strerror(m.err));
	else if (rc != ST_OK)
		status = cli_fail(CLI_USAGE, "export: %s", d.msg);
	size_t stale = status == CLI_OK ? remove_stale(&m) : 0;
	if (status == CLI_OK) {
		fprintf(stderr,
			"exported %llu events (%llu attributes, %llu MISP "
			"objects, %llu galaxy clusters) to %s\n",
			(unsigned long long)st.events,
			(unsigned long long)st.attributes,
			(unsigned long long)st.objects,
			(unsigned long long)st.clusters, dir);
		if (st.left_out)
			fprintf(stderr,
				"left out: %llu objects with no MISP "
				"equivalent (identities, relationships, "
				"sightings, patterns that are not "
				"comparisons of single values)\n",
				(unsigned long long)st.left_out);
		if (stale)
			fprintf(stderr,
				"removed %zu event files of an earlier export "
				"that this one no longer holds\n",
				stale);
	}
	if (m.dec != NULL) {
		if (status == CLI_OK)
			status =
			    cli_export_record(c, for_peer, m.sent, m.nsent);
		fprintf(stderr,
			"for %s: %llu referred objects withheld by the release "
			"decision\n",
			for_peer, (unsigned long long)st.withheld);
		for (size_t i = 0; i < m.nsent; i++)
			free((char *)m.sent[i].id);
		fed_decider_free(m.dec);
	}
	free(m.sent);
	free(m.written);
	buf_free(&manifest);
	buf_free(&hashes);
	return status;
}
