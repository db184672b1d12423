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
long find_duplicate(struct walk *w, struct json_member *m, uint32_t n)
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

int build(struct walk *w, simdjson::dom::element e, struct json_val *out,
	  uint32_t depth)
{
	using simdjson::dom::element_type;
	switch (e.type()) {
	case element_type::NULL_VALUE:
		out->type = JSON_NULL;
		return ST_OK;
	case element_type::BOOL:
		out->type = bool(e.get_bool()) ? JSON_TRUE : JSON_FALSE;
		return ST_OK;
	case element_type::INT64:
		out->type = JSON_NUMBER;
		out->u.num.i = int64_t(e.get_int64());
		out->u.num.d = double(out->u.num.i);
		out->u.num.is_int = true;
		return ST_OK;
	case element_type::UINT64:
		out->type = JSON_NUMBER;
		out->u.num.d = double(uint64_t(e.get_uint64()));
		out->u.num.i = 0;
		out->u.num.is_int = false;
		return ST_OK;
	case element_type::DOUBLE:
		out->type = JSON_NUMBER;
		out->u.num.d = double(e.get_double());
		out->u.num.i = 0;
		out->u.num.is_int = false;
		return ST_OK;
	case element_type::STRING: {
		std::string_view s = e.get_string();
		if (s.size() > w->lim->max_string)
			return fail(w, ST_ELIMIT,
				    "string of %zu bytes exceeds the limit of %u",
				    s.size(), w->lim->max_string);
		out->type = JSON_STRING;
		out->len = uint32_t(s.size());
		out->u.str = s.data();
		return ST_OK;
	}
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
			int rc = build(w, item, &items[i++], depth + 1);
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
			int rc = build(w, kv.value, &m[i].val, depth + 1);
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
	}
	return fail(w, ST_EJSON, "unknown element");
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
	if (err) {
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
	struct walk w = {doc->arena, lim, ST_OK, {0}};
	int rc = build(&w, e, &doc->root, 0);
	if (rc != ST_OK) {
		if (rc == ST_EJSON) {
			long off = locate_error(text, len);
			return diag_set(d, rc, "at byte %ld: %s", off, w.why);
		}
		return diag_set(d, rc, "%s", w.why);
	}
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
