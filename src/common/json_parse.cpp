/*
 * strait: the JSON parser, simdjson behind the C interface of json.h.
 *
 * This is the project's only C++ file. The fast path uses simdjson's DOM
 * parser (validating, with run-time dispatch to the best SIMD kernel) and
 * copies the tape into a C tree allocated from the document's arena; strings
 * point into simdjson's string buffer, which lives as long as the parser.
 * simdjson does not report where an error is, so on failure a second,
 * slower pass finds the byte offset for the message.
 */
#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <cstdarg>
#include <new>
#include <string>
#include <vector>

extern "C" {
#include "common/arena.h"
#include "common/json.h"
#include "common/utf8.h"
}

extern "C" const struct json_limits JSON_LIMITS_DEFAULT = {
	16u << 20, /* max_bytes */
	64,        /* max_depth */
	1u << 20,  /* max_string */
	100000,    /* max_members */
};

struct json_doc {
	simdjson::dom::parser parser;
	struct arena *arena;
	struct json_val root;
};

namespace {

struct walk {
	struct arena *arena;
	const struct json_limits *lim;
	int err;
	char why[160];
};

int fail(struct walk *w, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int fail(struct walk *w, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w->why, sizeof(w->why), fmt, ap);
	va_end(ap);
	w->err = err;
	return err;
}

bool key_less(const struct json_member *a, const struct json_member *b)
{
	if (a->klen != b->klen)
		return a->klen < b->klen;
	return memcmp(a->key, b->key, a->klen) < 0;
}

/* Index of a member whose key repeats an earlier one, or -1. */
__attribute__((noinline)) long find_duplicate(struct walk *w,
					      struct json_member *m,
					      uint32_t n)
{
	if (n < 2)
		return -1;
	if (n <= 12) {
		for (uint32_t i = 1; i < n; i++)
			for (uint32_t j = 0; j < i; j++)
				if (m[i].klen == m[j].klen &&
				    memcmp(m[i].key, m[j].key, m[i].klen) == 0)
					return i;
		return -1;
	}
	if (n <= 128) {
		/* Objects of a few dozen members (log records) are common:
		 * a small hash table, at most half full, beats sorting. */
		uint8_t slot[256]; /* member index + 1 */
		uint32_t mask = n <= 32 ? 63 : 255;
		memset(slot, 0, mask + 1);
		for (uint32_t i = 0; i < n; i++) {
			/* Length and three bytes: cheap, and keys that
			 * collide are compared in full anyway. */
			const unsigned char *k =
				reinterpret_cast<const unsigned char *>(
					m[i].key);
			uint32_t l = m[i].klen;
			uint32_t h = l * 0x9e3779b1u;
			if (l > 0)
				h ^= k[0] * 0x85ebca6bu ^
				     k[l - 1] * 0xc2b2ae35u ^
				     k[l / 2] * 0x27d4eb2fu;
			h ^= h >> 15;
			for (h &= mask; slot[h] != 0; h = (h + 1) & mask) {
				const struct json_member *o = &m[slot[h] - 1];
				if (o->klen == m[i].klen &&
				    memcmp(o->key, m[i].key, m[i].klen) == 0)
					return i;
			}
			slot[h] = uint8_t(i + 1);
		}
		return -1;
	}
	struct json_member **idx = static_cast<struct json_member **>(
		arena_alloc(w->arena, sizeof(struct json_member *) * n));
	if (idx == nullptr)
		return -2;
	for (uint32_t i = 0; i < n; i++)
		idx[i] = &m[i];
	std::sort(idx, idx + n, key_less);
	for (uint32_t i = 1; i < n; i++)
		if (idx[i]->klen == idx[i - 1]->klen &&
		    memcmp(idx[i]->key, idx[i - 1]->key, idx[i]->klen) == 0)
			return idx[i] > idx[i - 1] ? idx[i] - m : idx[i - 1] - m;
	return -1;
}

/* A value that is not an array or an object (t says which). Inline: most
 * values of a document are scalars, and a call each would cost more than
 * the copy. */
inline int build_scalar(struct walk *w, simdjson::dom::element e,
			simdjson::dom::element_type t, struct json_val *out)
{
	using simdjson::dom::element_type;
	switch (t) {
	case element_type::NULL_VALUE:
		out->type = JSON_NULL;
		return ST_OK;
	case element_type::BOOL:
		out->type = e.get_bool().value_unsafe() ? JSON_TRUE
							: JSON_FALSE;
		return ST_OK;
	case element_type::INT64:
		out->type = JSON_NUMBER;
		out->u.num.i = e.get_int64().value_unsafe();
		out->u.num.d = double(out->u.num.i);
		out->u.num.is_int = true;
		return ST_OK;
	case element_type::UINT64:
		out->type = JSON_NUMBER;
		out->u.num.d = double(e.get_uint64().value_unsafe());
		out->u.num.i = 0;
		out->u.num.is_int = false;
		return ST_OK;
	case element_type::DOUBLE:
		out->type = JSON_NUMBER;
		out->u.num.d = e.get_double().value_unsafe();
		out->u.num.i = 0;
		out->u.num.is_int = false;
		return ST_OK;
	case element_type::STRING: {
		std::string_view s = e.get_string().value_unsafe();
		if (s.size() > w->lim->max_string)
			return fail(w, ST_ELIMIT,
				    "string of %zu bytes exceeds the limit of %u",
				    s.size(), w->lim->max_string);
		out->type = JSON_STRING;
		out->len = uint32_t(s.size());
		out->u.str = s.data();
		return ST_OK;
	}
	default:
		return fail(w, ST_EJSON, "unknown element");
	}
}

int build(struct walk *w, simdjson::dom::element e, struct json_val *out,
	  uint32_t depth);

/* An element of an array or a member's value. */
inline int build_item(struct walk *w, simdjson::dom::element e,
		      struct json_val *out, uint32_t depth)
{
	using simdjson::dom::element_type;
	element_type t = e.type();
	if (t != element_type::ARRAY && t != element_type::OBJECT)
		return build_scalar(w, e, t, out);
	return build(w, e, out, depth);
}

int build(struct walk *w, simdjson::dom::element e, struct json_val *out,
	  uint32_t depth)
{
	using simdjson::dom::element_type;
	element_type t = e.type();
	switch (t) {
	case element_type::ARRAY: {
		if (depth >= w->lim->max_depth)
			return fail(w, ST_ELIMIT, "nesting deeper than %u",
				    w->lim->max_depth);
		simdjson::dom::array a = e.get_array();
		size_t n = a.size();
		if (n > w->lim->max_members)
			return fail(w, ST_ELIMIT,
				    "array of %zu items exceeds the limit of %u",
				    n, w->lim->max_members);
		out->type = JSON_ARRAY;
		out->len = uint32_t(n);
		out->u.items = nullptr;
		if (n == 0)
			return ST_OK;
		struct json_val *items = static_cast<struct json_val *>(
			arena_alloc(w->arena, sizeof(struct json_val) * n));
		if (items == nullptr)
			return fail(w, ST_ENOMEM, "out of memory");
		size_t i = 0;
		for (simdjson::dom::element item : a) {
			int rc = build_item(w, item, &items[i++], depth + 1);
			if (rc != ST_OK)
				return rc;
		}
		out->len = uint32_t(i);
		out->u.items = items;
		return ST_OK;
	}
	case element_type::OBJECT: {
		if (depth >= w->lim->max_depth)
			return fail(w, ST_ELIMIT, "nesting deeper than %u",
				    w->lim->max_depth);
		simdjson::dom::object o = e.get_object();
		size_t n = o.size();
		if (n > w->lim->max_members)
			return fail(w, ST_ELIMIT,
				    "object of %zu members exceeds the limit of %u",
				    n, w->lim->max_members);
		out->type = JSON_OBJECT;
		out->len = 0;
		out->u.members = nullptr;
		if (n == 0)
			return ST_OK;
		struct json_member *m = static_cast<struct json_member *>(
			arena_alloc(w->arena, sizeof(struct json_member) * n));
		if (m == nullptr)
			return fail(w, ST_ENOMEM, "out of memory");
		uint32_t i = 0;
		for (simdjson::dom::key_value_pair kv : o) {
			if (kv.key.size() > w->lim->max_string)
				return fail(w, ST_ELIMIT,
					    "key of %zu bytes exceeds the limit "
					    "of %u",
					    kv.key.size(), w->lim->max_string);
			m[i].key = kv.key.data();
			m[i].klen = uint32_t(kv.key.size());
			int rc = build_item(w, kv.value, &m[i].val, depth + 1);
			if (rc != ST_OK)
				return rc;
			i++;
		}
		out->len = i;
		out->u.members = m;
		long dup = find_duplicate(w, m, i);
		if (dup == -2)
			return fail(w, ST_ENOMEM, "out of memory");
		if (dup >= 0)
			return fail(w, ST_EJSON, "duplicate key \"%.*s\"",
				    int(m[dup].klen > 60 ? 60 : m[dup].klen),
				    m[dup].key);
		return ST_OK;
	}
	default:
		return build_scalar(w, e, t, out);
	}
}

/*
 * The slow pass that finds where a document is broken: simdjson's on-demand
 * API, walked in full, reports the position of the value it choked on. It
 * also finds the position of a duplicate key.
 */
struct locator {
	const char *base;
	const char *pos;
};

simdjson::error_code locate_value(struct locator *L,
				  simdjson::ondemand::value v, int depth);

simdjson::error_code note(struct locator *L,
			  simdjson::ondemand::value &v)
{
	const char *p = nullptr;
	if (v.current_location().get(p) == simdjson::SUCCESS && p != nullptr)
		L->pos = p;
	return simdjson::SUCCESS;
}

simdjson::error_code locate_value(struct locator *L,
				  simdjson::ondemand::value v, int depth)
{
	using namespace simdjson;
	note(L, v);
	/* Only reached for a document the parser refused: deeper than this
	 * it was refused for its depth anyway (the limits allow far less),
	 * and a recursion as deep as the input would let a request body of
	 * nested brackets overflow a thread's stack. */
	if (depth > 128)
		return DEPTH_ERROR;
	ondemand::json_type t;
	error_code err = v.type().get(t);
	if (err)
		return err;
	switch (t) {
	case ondemand::json_type::array: {
		ondemand::array a;
		if ((err = v.get_array().get(a)))
			return err;
		for (auto item : a) {
			ondemand::value iv;
			if ((err = item.get(iv)))
				return err;
			if ((err = locate_value(L, iv, depth + 1)))
				return err;
		}
		return SUCCESS;
	}
	case ondemand::json_type::object: {
		ondemand::object o;
		if ((err = v.get_object().get(o)))
			return err;
		std::vector<std::string> seen;
		for (auto field : o) {
			ondemand::field f;
			if ((err = std::move(field).get(f)))
				return err;
			std::string_view k;
			L->pos = f.key().raw() - 1;
			if ((err = f.unescaped_key().get(k)))
				return err;
			for (const auto &s : seen)
				if (s == k)
					return TAPE_ERROR; /* duplicate key */
			seen.emplace_back(k);
			if ((err = locate_value(L, f.value(), depth + 1)))
				return err;
		}
		return SUCCESS;
	}
	case ondemand::json_type::number: {
		ondemand::number n;
		return v.get_number().get(n);
	}
	case ondemand::json_type::string: {
		std::string_view s;
		return v.get_string().get(s);
	}
	case ondemand::json_type::boolean: {
		bool b;
		return v.get_bool().get(b);
	}
	case ondemand::json_type::null: {
		bool isnull;
		err = v.is_null().get(isnull);
		if (!err && !isnull)
			return INCORRECT_TYPE;
		return err;
	}
	}
	return TAPE_ERROR;
}

long locate_error(const char *text, size_t len)
{
	long bad = utf8_invalid_offset(text, len);
	if (bad >= 0)
		return bad;
	simdjson::padded_string ps(text, len);
	simdjson::ondemand::parser p;
	simdjson::ondemand::document doc;
	struct locator L = {ps.data(), ps.data()};
	if (p.iterate(ps).get(doc))
		return 0;
	simdjson::ondemand::value v;
	simdjson::error_code err = doc.get_value().get(v);
	if (!err)
		err = locate_value(&L, v, 0);
	if (!err) {
		/* The value is fine: the problem is what follows it. */
		const char *p2 = nullptr;
		if (doc.current_location().get(p2) == simdjson::SUCCESS &&
		    p2 != nullptr)
			return long(p2 - ps.data());
		return long(len);
	}
	return long(L.pos - ps.data());
}

/* The message for a document simdjson refused. */
int parse_failed(simdjson::error_code err, const char *text, size_t len,
		 struct diag *d)
{
	if (err == simdjson::MEMALLOC)
		return diag_set(d, ST_ENOMEM, "out of memory");
	long off = locate_error(text, len);
	const char *why = simdjson::error_message(err);
	if (err == simdjson::UTF8_ERROR)
		why = "invalid UTF-8";
	else if (err == simdjson::STRING_ERROR)
		why = "invalid string (bad escape or lone surrogate)";
	else if (err == simdjson::NUMBER_ERROR)
		why = "invalid or out-of-range number";
	else if (err == simdjson::EMPTY)
		why = "empty document";
	else if (err == simdjson::DEPTH_ERROR)
		return diag_set(d, ST_ELIMIT, "at byte %ld: nesting too deep",
				off);
	return diag_set(d, ST_EJSON, "at byte %ld: %s", off, why);
}

/* Copies a parsed element into a C tree allocated from arena. */
int build_tree(struct arena *arena, const struct json_limits *lim,
	       simdjson::dom::element e, struct json_val *out,
	       const char *text, size_t len, struct diag *d)
{
	struct walk w = {arena, lim, ST_OK, {0}};
	int rc = build(&w, e, out, 0);
	if (rc == ST_OK)
		return ST_OK;
	if (rc == ST_EJSON) {
		long off = locate_error(text, len);
		return diag_set(d, rc, "at byte %ld: %s", off, w.why);
	}
	return diag_set(d, rc, "%s", w.why);
}

} /* namespace */

extern "C" struct json_doc *json_doc_new(void)
{
	struct json_doc *doc = new (std::nothrow) json_doc();
	if (doc == nullptr)
		return nullptr;
	doc->arena = arena_new(64 * 1024);
	if (doc->arena == nullptr) {
		delete doc;
		return nullptr;
	}
	return doc;
}

extern "C" void json_doc_free(struct json_doc *doc)
{
	if (doc == nullptr)
		return;
	arena_free(doc->arena);
	delete doc;
}

extern "C" int json_parse(struct json_doc *doc, const char *text, size_t len,
			  unsigned flags, const struct json_limits *lim,
			  const struct json_val **root, struct diag *d)
{
	if (lim == nullptr)
		lim = &JSON_LIMITS_DEFAULT;
	*root = nullptr;
	arena_reset(doc->arena);
	if (len > lim->max_bytes)
		return diag_set(d, ST_ELIMIT,
				"document of %zu bytes exceeds the limit of %zu",
				len, lim->max_bytes);
	simdjson::dom::element e;
	bool padded = (flags & JSON_PARSE_PADDED) != 0;
	simdjson::error_code err =
		doc->parser.parse(text, len, !padded).get(e);
	if (err)
		return parse_failed(err, text, len, d);
	int rc = build_tree(doc->arena, lim, e, &doc->root, text, len, d);
	if (rc != ST_OK)
		return rc;
	*root = &doc->root;
	return ST_OK;
}

extern "C" const struct json_val *json_get(const struct json_val *obj,
					   const char *key)
{
	if (obj == nullptr || obj->type != JSON_OBJECT)
		return nullptr;
	size_t klen = strlen(key);
	for (uint32_t i = 0; i < obj->len; i++) {
		const struct json_member *m = &obj->u.members[i];
		if (m->klen == klen && memcmp(m->key, key, klen) == 0)
			return &m->val;
	}
	return nullptr;
}

extern "C" const char *json_get_str(const struct json_val *obj,
				    const char *key)
{
	const struct json_val *v = json_get(obj, key);
	return v != nullptr && v->type == JSON_STRING ? v->u.str : nullptr;
}

extern "C" bool json_str_eq(const struct json_val *v, const char *s)
{
	if (v == nullptr || v->type != JSON_STRING)
		return false;
	size_t n = strlen(s);
	return v->len == n && memcmp(v->u.str, s, n) == 0;
}

extern "C" const char *json_type_name(enum json_type t)
{
	switch (t) {
	case JSON_NULL:
		return "null";
	case JSON_FALSE:
	case JSON_TRUE:
		return "boolean";
	case JSON_NUMBER:
		return "number";
	case JSON_STRING:
		return "string";
	case JSON_ARRAY:
		return "array";
	case JSON_OBJECT:
		return "object";
	}
	return "?";
}

/* ------------------------------------------------------------------ */
/* JSON lines                                                           */
/* ------------------------------------------------------------------ */

namespace {

/* Lines are handed to simdjson's document stream in windows of at most
 * this many bytes (one batch each); a longer line is parsed on its own. */
constexpr size_t LINES_WINDOW = 256 * 1024;
constexpr uint32_t LINES_PER_WINDOW = 4096;

bool json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!json_space(p[i]))
			return false;
	return true;
}

} /* namespace */

struct json_lines {
	simdjson::dom::parser parser;
	simdjson::dom::document_stream stream;
	simdjson::dom::document_stream::iterator it;
	struct arena *arena;
	struct json_val root;
	struct json_limits lim;
	const char *text;
	size_t len;
	size_t pos;	   /* first byte not yet in a window */
	uint64_t pos_line; /* number of the line starting at pos */
	/* The current window: lines [0, n), line i being text[beg[i], end[i])
	 * (end excludes the '\n') and numbered first + i. Lines before cur
	 * have been reported. */
	size_t beg[LINES_PER_WINDOW];
	size_t end[LINES_PER_WINDOW];
	uint64_t first;
	uint32_t n, cur;
	enum { W_NONE, W_STREAM, W_LINES } mode;
	bool advance; /* the stream must move past the last document */
};

extern "C" struct json_lines *json_lines_new(void)
{
	struct json_lines *jl = new (std::nothrow) json_lines();
	if (jl == nullptr)
		return nullptr;
	jl->parser.threaded = false;
	jl->arena = arena_new(64 * 1024);
	if (jl->arena == nullptr) {
		delete jl;
		return nullptr;
	}
	jl->mode = json_lines::W_NONE;
	return jl;
}

extern "C" void json_lines_free(struct json_lines *jl)
{
	if (jl == nullptr)
		return;
	arena_free(jl->arena);
	delete jl;
}

extern "C" void json_lines_start(struct json_lines *jl, const char *text,
				 size_t len, uint64_t first_line,
				 const struct json_limits *lim)
{
	jl->lim = lim != nullptr ? *lim : JSON_LIMITS_DEFAULT;
	jl->text = text;
	jl->len = len;
	jl->pos = 0;
	jl->pos_line = first_line;
	jl->n = jl->cur = 0;
	jl->mode = json_lines::W_NONE;
	jl->advance = false;
}

namespace {

/* Takes the next window of lines from jl->pos. */
void next_window(struct json_lines *jl)
{
	size_t start = jl->pos;
	jl->first = jl->pos_line;
	jl->n = jl->cur = 0;
	while (jl->pos < jl->len && jl->n < LINES_PER_WINDOW) {
		const char *p = jl->text + jl->pos;
		const char *nl = static_cast<const char *>(
			memchr(p, '\n', jl->len - jl->pos));
		size_t e = nl != nullptr ? size_t(nl - jl->text) : jl->len;
		if (jl->n > 0 && e - start > LINES_WINDOW)
			break;
		jl->beg[jl->n] = jl->pos;
		jl->end[jl->n] = e;
		jl->n++;
		jl->pos = nl != nullptr ? e + 1 : jl->len;
		jl->pos_line++;
	}
	size_t wlen = jl->end[jl->n - 1] - start;
	jl->advance = false;
	if (wlen > LINES_WINDOW) {
		jl->mode = json_lines::W_LINES;
		return;
	}
	jl->mode = json_lines::W_STREAM;
	if (jl->parser.parse_many(jl->text + start, wlen, LINES_WINDOW)
		.get(jl->stream) != simdjson::SUCCESS) {
		jl->mode = json_lines::W_LINES;
		return;
	}
	jl->it = jl->stream.begin();
}

void fill(struct json_lines *jl, uint32_t i, struct json_line *out)
{
	out->root = nullptr;
	out->line = jl->first + i;
	out->offset = jl->beg[i];
	out->len = jl->end[i] - jl->beg[i];
}

/* Parses line jl->cur on its own and moves past it: 1, 0 (blank) or an
 * error. */
int one_line(struct json_lines *jl, struct json_line *out, struct diag *d)
{
	uint32_t i = jl->cur++;
	const char *p = jl->text + jl->beg[i];
	size_t n = jl->end[i] - jl->beg[i];
	if (blank(p, n))
		return 0;
	fill(jl, i, out);
	if (n > jl->lim.max_bytes)
		return diag_set(d, ST_ELIMIT,
				"line of %zu bytes exceeds the limit of %zu", n,
				jl->lim.max_bytes);
	arena_reset(jl->arena);
	simdjson::dom::element e;
	/* The text after the line (at worst the caller's padding) is
	 * readable, so simdjson need not copy it. */
	simdjson::error_code err = jl->parser.parse(p, n, false).get(e);
	if (err)
		return parse_failed(err, p, n, d);
	int rc = build_tree(jl->arena, &jl->lim, e, &jl->root, p, n, d);
	if (rc != ST_OK)
		return rc;
	out->root = &jl->root;
	return 1;
}

/*
 * The next document of the stream, if it is the only thing on the line it
 * starts in and every line skipped to reach it is blank: 1 with the tree
 * built, an error for that line, or -100 when the stream cannot be trusted
 * from jl->cur on (its lines are then parsed one at a time) or is done.
 */
constexpr int STREAM_GIVE_UP = -100;

int from_stream(struct json_lines *jl, struct json_line *out, struct diag *d)
{
	if (jl->advance) {
		jl->advance = false;
		++jl->it;
	}
	if (!(jl->it != jl->stream.end()))
		return STREAM_GIVE_UP;
	simdjson::dom::element e;
	if ((*jl->it).get(e) != simdjson::SUCCESS)
		return STREAM_GIVE_UP;
	size_t win = jl->beg[0];
	size_t at = win + jl->it.current_index();
	while (jl->cur < jl->n && jl->end[jl->cur] < at) {
		if (!blank(jl->text + jl->beg[jl->cur],
			   jl->end[jl->cur] - jl->beg[jl->cur]))
			return STREAM_GIVE_UP;
		jl->cur++;
	}
	if (jl->cur >= jl->n || at < jl->beg[jl->cur])
		return STREAM_GIVE_UP;
	uint32_t i = jl->cur;
	const char *p = jl->text + jl->beg[i];
	size_t n = jl->end[i] - jl->beg[i];
	char c0 = jl->text[at];
	if ((c0 != '{' && c0 != '[') || n > jl->lim.max_bytes)
		return STREAM_GIVE_UP;
	std::string_view src = jl->it.source();
	size_t stop = size_t(src.data() - jl->text) + src.size();
	if (stop > jl->end[i] || !blank(p, at - jl->beg[i]) ||
		!blank(jl->text + stop, jl->end[i] - stop))
		return STREAM_GIVE_UP;
	jl->cur++;
	jl->advance = true;
	fill(jl, i, out);
	arena_reset(jl->arena);
	int rc = build_tree(jl->arena, &jl->lim, e, &jl->root, p, n, d);
	if (rc != ST_OK)
		return rc;
	out->root = &jl->root;
	return 1;
}

} /* namespace */

extern "C" int json_lines_next(struct json_lines *jl, struct json_line *out,
			       struct diag *d)
{
	for (;;) {
		if (jl->mode == json_lines::W_NONE) {
			if (jl->pos >= jl->len) {
				out->root = nullptr;
				out->line = jl->pos_line;
				out->offset = jl->len;
				out->len = 0;
				return 0;
			}
			next_window(jl);
		}
		if (jl->mode == json_lines::W_STREAM) {
			int rc = from_stream(jl, out, d);
			if (rc != STREAM_GIVE_UP)
				return rc;
			jl->mode = json_lines::W_LINES;
		}
		while (jl->cur < jl->n) {
			int rc = one_line(jl, out, d);
			if (rc != 0)
				return rc;
		}
		jl->mode = json_lines::W_NONE;
	}
}
