"""A small emulation of the OASIS TAXII 2.1 client, for the integration tests.

The real client (PyPI `taxii2-client`, repository oasis-open/cti-taxii-client,
module `taxii2client.v21` plus `taxii2client.common`) cannot be installed
here (no PyPI), so this file re-implements, in its own code, only the client
behaviours strait has to serve. They were read from the repository's
`taxii2client/v21/__init__.py` and `taxii2client/common.py` as of the 2.3.x
line (the last PyPI release is 2.3.0; the copy read is the one with
`as_pages` logging a warning when it changes the limit, and
`_HTTPConnection.get` returning a `TaxiiResponse`; the stored copies read
were v21/__init__.py at commit 039823df3fdd and common.py at 0a509720819c).

Behaviours reproduced (and nothing else):

- Connection: one `requests.Session` per endpoint tree; HTTP Basic when a
  user and a password are given, else the `auth` object; `verify` passed to
  requests (the v21 classes take no client certificate); a User-Agent of
  the client's own (its text is not checked by strait, so it is a guess).
  GET sends `Accept: application/taxii+json;version=2.1` unless told
  otherwise, raises on any non-2xx, and then checks the response's
  Content-Type: after removing spaces and splitting on `;`, every piece of
  the Accept value must be among the Content-Type's pieces and the first
  piece must be `application/taxii+json` (else TAXIIServiceException).
  POST raises on non-2xx and returns the parsed JSON; it does not check the
  Content-Type.
- `TokenAuth(key)` sets `Authorization: Token <key>`.
- Endpoint URLs get a trailing `/` when they lack one.
- Filter keyword arguments become query parameters: falsy values are
  dropped (so `limit=0` and `next=""` are never sent), a single value is
  treated as a one-element list, `version` and `added_after` accept
  datetimes (formatted as STIX timestamps), `added_after` takes at most one
  value, `limit` is sent as an integer, `next` as given, and any other
  keyword `k` becomes `match[k]` with its values joined by commas.
- Discovery walk: `Server` reads `title` (required), `description`,
  `contact`, `default` and `api_roots`; each API root URL is resolved
  against the discovery URL (so absolute URLs are followed as they are) and
  `default` is the ApiRoot among them with the same URL string. `ApiRoot`
  reads `title`, `versions` and `max_content_length` (all required) and
  lists collections from `{root}collections/`, building each collection URL
  as `{root}collections/{id}/`. `Collection` requires `id`, `title`,
  `can_read`, `can_write`, checks that its id occurs in its URL, and refuses
  locally (AccessError) to read without `can_read` or to write without
  `can_write`.
- `Collection.add_objects(envelope, wait_for_completion=True,
  poll_interval=1, timeout=60)`: the envelope (dict, str or bytes) is
  POSTed with Accept and Content-Type `application/taxii+json;version=2.1`;
  the status URL is the collection URL joined with `../../status/<id>`
  (plus the trailing slash); if the status is not already "complete" and
  waiting was asked for, `Status.wait_until_final` is called.
- `Status`: requires `id`, `status`, `total_count`, `success_count`,
  `failure_count`, `pending_count`; when the `successes` / `failures` /
  `pendings` lists are present and non-empty their lengths must equal the
  counts, and the three counts must add up to `total_count`.
  `wait_until_final(poll_interval, timeout)` sleeps `poll_interval`, GETs
  the status again, and repeats while the status is not "complete" and
  (timeout <= 0 or less than `timeout` seconds have passed).
- `as_pages(func, per_request=0, *args, **kwargs)`: calls
  `func(limit=per_request, ...)` and yields the parsed envelope; if that
  first envelope says `more` and holds a number of `objects` different from
  `per_request`, the limit becomes that number for every later request;
  then, while the last envelope says `more`, it calls
  `func(limit=..., next=<the envelope's "next", or "">, ...)`. A missing or
  empty `next` is therefore dropped from the query and the client starts
  again from the first page, for ever.

Added for testing only: the session ignores the environment (CA bundle and
proxy variables) and every request has a timeout; `Pager` records each
request's `limit` and `next`, counts the restarts described above, and stops
with PagingLoop after `max_pages` pages instead of looping for ever.
"""
import datetime
import json
import time
import urllib.parse

import requests

MEDIA_TYPE_TAXII_V21 = "application/taxii+json;version=2.1"
CLIENT_VERSION = "2.3.0"
USER_AGENT = "taxii2-client/" + CLIENT_VERSION


class TAXIIServiceException(Exception):
    pass


class InvalidArgumentsError(TAXIIServiceException):
    pass


class AccessError(TAXIIServiceException):
    pass


class ValidationError(TAXIIServiceException):
    pass


class PagingLoop(AssertionError):
    """Not in the real client: raised when as_pages would go on for ever."""


class TokenAuth(requests.auth.AuthBase):
    def __init__(self, key):
        self.key = key

    def __call__(self, r):
        r.headers["Authorization"] = "Token " + self.key
        return r


def stix_timestamp(value):
    """A datetime as the client writes it; anything else unchanged."""
    if not isinstance(value, datetime.datetime):
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    value = value.astimezone(datetime.timezone.utc)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += ("." + value.strftime("%f")).rstrip("0")
    return text + "Z"


def query_params(filters):
    params = {}
    for key, values in filters.items():
        if not values:
            continue
        if isinstance(values, (str, bytes)) or not hasattr(values,
                                                           "__iter__"):
            values = [values]
        values = list(values)
        if key == "version":
            params["match[version]"] = ",".join(
                stix_timestamp(v) for v in values)
        elif key == "added_after":
            if len(values) != 1:
                raise InvalidArgumentsError(
                    "added_after takes exactly one value")
            params["added_after"] = stix_timestamp(values[0])
        elif key == "limit":
            params["limit"] = int(values[0])
        elif key == "next":
            params["next"] = values
        else:
            params["match[%s]" % key] = ",".join(values)
    return params


class Connection:
    def __init__(self, user=None, password=None, verify=True, auth=None,
                 timeout=120):
        self.session = requests.Session()
        self.session.verify = verify
        # Test-only: requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE from
        # the environment override a Session's `verify`, and proxy variables
        # apply too; the tests must not depend on the caller's environment.
        self.session.trust_env = False
        if user and password:
            self.session.auth = requests.auth.HTTPBasicAuth(user, password)
        elif auth:
            self.session.auth = auth
        self.session.headers["User-Agent"] = USER_AGENT
        self.timeout = timeout  # the real client sets none
        self.log = []  # (method, url, params) of every request

    @staticmethod
    def content_type_ok(content_type, accept):
        want = accept.replace(" ", "").split(";")
        have = content_type.replace(" ", "").split(";")
        return have[0] == "application/taxii+json" and \
            all(piece in have for piece in want)

    def get(self, url, headers=None, params=None):
        headers = dict(headers or {})
        headers.setdefault("Accept", MEDIA_TYPE_TAXII_V21)
        self.log.append(("GET", url, params))
        resp = self.session.get(url, headers=headers, params=params,
                                timeout=self.timeout)
        resp.raise_for_status()
        ctype = resp.headers.get("Content-Type", "")
        if not self.content_type_ok(ctype, headers["Accept"]):
            raise TAXIIServiceException(
                "unexpected Content-Type %r for Accept %r"
                % (ctype, headers["Accept"]))
        return resp.json()

    def post(self, url, headers=None, data=None):
        self.log.append(("POST", url, None))
        resp = self.session.post(url, headers=headers, data=data,
                                 timeout=self.timeout)
        resp.raise_for_status()
        return resp.json()

    def delete(self, url, headers=None, params=None):
        self.log.append(("DELETE", url, params))
        resp = self.session.delete(url, headers=headers, params=params,
                                   timeout=self.timeout)
        resp.raise_for_status()

    def close(self):
        self.session.close()


class _Endpoint:
    def __init__(self, url, conn=None, user=None, password=None,
                 verify=True, auth=None):
        if conn is not None and (user or password or auth):
            raise InvalidArgumentsError("a connection or credentials, "
                                        "not both")
        if (user or password) and auth:
            raise InvalidArgumentsError("user/password or auth, not both")
        self._conn = conn or Connection(user, password, verify, auth)
        self.url = url if url.endswith("/") else url + "/"

    def close(self):
        self._conn.close()


def _require(doc, what, url, *keys):
    for k in keys:
        if doc.get(k) is None or doc.get(k) == "":
            raise ValidationError("no '%s' in %s for '%s'" % (k, what, url))


class Status(_Endpoint):
    def __init__(self, url, conn=None, status_info=None, **kw):
        super().__init__(url, conn, **kw)
        if status_info:
            self._populate(status_info)
        else:
            self.refresh()

    def __bool__(self):
        return self.status == "complete"

    def refresh(self):
        self._populate(self._conn.get(self.url))

    def wait_until_final(self, poll_interval=1, timeout=60):
        start = time.time()
        elapsed = 0
        while self.status != "complete" and (timeout <= 0 or
                                             elapsed < timeout):
            time.sleep(poll_interval)
            self.refresh()
            elapsed = time.time() - start

    def _populate(self, doc):
        _require(doc, "Status", self.url, "id", "status")
        for k in ("total_count", "success_count", "failure_count",
                  "pending_count"):
            if doc.get(k) is None:
                raise ValidationError("no '%s' in Status" % k)
        self.raw = doc
        self.id = doc["id"]
        self.status = doc["status"]
        self.total_count = doc["total_count"]
        self.success_count = doc["success_count"]
        self.failure_count = doc["failure_count"]
        self.pending_count = doc["pending_count"]
        self.successes = doc.get("successes") or []
        self.failures = doc.get("failures") or []
        self.pendings = doc.get("pendings") or []
        for items, count in ((self.successes, self.success_count),
                             (self.failures, self.failure_count),
                             (self.pendings, self.pending_count)):
            if items and len(items) != count:
                raise ValidationError("list and count differ in status")
        if self.success_count + self.failure_count + self.pending_count \
                != self.total_count:
            raise ValidationError("counts do not add up in status")


class Collection(_Endpoint):
    def __init__(self, url, conn=None, collection_info=None, **kw):
        super().__init__(url, conn, **kw)
        self._info = None
        if collection_info:
            self._populate(collection_info)

    def _populate(self, doc):
        _require(doc, "Collection", self.url, "id", "title")
        for k in ("can_read", "can_write"):
            if doc.get(k) is None:
                raise ValidationError("no '%s' in Collection" % k)
        if doc["id"] not in self.url:
            raise ValidationError("collection id not in its URL")
        self._info = doc

    def refresh(self):
        self._populate(self._conn.get(self.url))

    def _get(self, key):
        if self._info is None:
            self.refresh()
        return self._info.get(key)

    id = property(lambda self: self._get("id"))
    title = property(lambda self: self._get("title"))
    alias = property(lambda self: self._get("alias"))
    can_read = property(lambda self: self._get("can_read"))
    can_write = property(lambda self: self._get("can_write"))
    media_types = property(lambda self: self._get("media_types") or [])

    @property
    def objects_url(self):
        return self.url + "objects/"

    def _readable(self):
        if not self.can_read:
            raise AccessError("collection '%s' does not allow reading"
                              % self.url)

    def get_objects(self, accept=MEDIA_TYPE_TAXII_V21, **filters):
        self._readable()
        return self._conn.get(self.objects_url, {"Accept": accept},
                              query_params(filters))

    def get_object(self, obj_id, accept=MEDIA_TYPE_TAXII_V21, **filters):
        self._readable()
        return self._conn.get(self.objects_url + obj_id + "/",
                              {"Accept": accept}, query_params(filters))

    def object_versions(self, obj_id, accept=MEDIA_TYPE_TAXII_V21,
                        **filters):
        self._readable()
        return self._conn.get(self.objects_url + obj_id + "/versions/",
                              {"Accept": accept}, query_params(filters))

    def get_manifest(self, accept=MEDIA_TYPE_TAXII_V21, **filters):
        self._readable()
        return self._conn.get(self.url + "manifest/", {"Accept": accept},
                              query_params(filters))

    def add_objects(self, envelope, wait_for_completion=True,
                    poll_interval=1, timeout=60):
        if not self.can_write:
            raise AccessError("collection '%s' does not allow writing"
                              % self.url)
        if isinstance(envelope, dict):
            data = json.dumps(envelope, ensure_ascii=False).encode("utf-8")
        elif isinstance(envelope, str):
            data = envelope.encode("utf-8")
        elif isinstance(envelope, bytes):
            data = envelope
        else:
            raise TypeError("cannot send a %s" % type(envelope).__name__)
        doc = self._conn.post(self.objects_url, headers={
            "Accept": MEDIA_TYPE_TAXII_V21,
            "Content-Type": MEDIA_TYPE_TAXII_V21}, data=data)
        url = urllib.parse.urljoin(self.url, "../../status/" + doc["id"])
        status = Status(url, conn=self._conn, status_info=doc)
        if wait_for_completion and status.status != "complete":
            status.wait_until_final(poll_interval, timeout)
        return status


class ApiRoot(_Endpoint):
    def __init__(self, url, conn=None, **kw):
        super().__init__(url, conn, **kw)
        self._info = None
        self._collections = None

    def refresh_information(self):
        doc = self._conn.get(self.url)
        _require(doc, "API Root", self.url, "title")
        if not doc.get("versions"):
            raise ValidationError("no 'versions' in API Root")
        if doc.get("max_content_length") is None:
            raise ValidationError("no 'max_content_length' in API Root")
        self._info = doc

    def _get(self, key):
        if self._info is None:
            self.refresh_information()
        return self._info.get(key)

    title = property(lambda self: self._get("title"))
    versions = property(lambda self: self._get("versions"))
    max_content_length = property(
        lambda self: self._get("max_content_length"))

    def refresh_collections(self):
        base = self.url + "collections/"
        doc = self._conn.get(base)
        self._collections = [
            Collection(base + item["id"] + "/", conn=self._conn,
                       collection_info=item)
            for item in doc.get("collections", [])]

    @property
    def collections(self):
        if self._collections is None:
            self.refresh_collections()
        return self._collections

    def get_status(self, status_id):
        url = self.url + "status/" + status_id + "/"
        return Status(url, conn=self._conn,
                      status_info=self._conn.get(url))


class Server(_Endpoint):
    def __init__(self, url, conn=None, user=None, password=None,
                 verify=True, auth=None):
        super().__init__(url, conn, user, password, verify, auth)
        self._creds = dict(user=user, password=password, verify=verify,
                           auth=auth)
        self._info = None

    def refresh(self):
        doc = self._conn.get(self.url)
        _require(doc, "Server Discovery", self.url, "title")
        urls = doc.get("api_roots") or []
        # Each API root gets its own connection with the same credentials.
        self._roots = [ApiRoot(urllib.parse.urljoin(self.url, u),
                               **self._creds) for u in urls]
        self._default = dict(zip(urls, self._roots)).get(doc.get("default"))
        self._info = doc

    def _get(self, key):
        if self._info is None:
            self.refresh()
        return self._info.get(key)

    title = property(lambda self: self._get("title"))
    description = property(lambda self: self._get("description"))
    contact = property(lambda self: self._get("contact"))

    @property
    def api_roots(self):
        self._get("title")
        return self._roots

    @property
    def default(self):
        self._get("title")
        return self._default


def _count(envelope):
    return len(envelope.get("objects", []))


_FIRST = object()


class Pager:
    """as_pages with a record of what it asked (see the module docstring)."""

    def __init__(self, func, per_request=0, *args, max_pages=1000,
                 **kwargs):
        self.func, self.per_request = func, per_request
        self.args, self.kwargs = args, kwargs
        self.max_pages = max_pages
        self.limits = []  # the limit each request sent (None: none sent)
        self.nexts = []   # the next each request sent (None: none sent)
        self.restarts = 0

    def _call(self, limit, nxt=_FIRST):
        if len(self.limits) >= self.max_pages:
            raise PagingLoop("more than %d pages" % self.max_pages)
        self.limits.append(int(limit) if limit else None)
        if nxt is _FIRST:
            self.nexts.append(None)
            return self.func(*self.args, limit=limit, **self.kwargs)
        if not nxt:
            # What the real client does: the empty next is dropped from the
            # query, so this request asks for the first page again.
            self.restarts += 1
        self.nexts.append(nxt or None)
        return self.func(*self.args, limit=limit, next=nxt, **self.kwargs)

    def __iter__(self):
        limit = self.per_request
        env = self._call(limit)
        yield env
        if env.get("more", False) and _count(env) != limit:
            limit = _count(env)
        while env.get("more", False):
            env = self._call(limit, env.get("next", ""))
            yield env


def as_pages(func, per_request=0, *args, **kwargs):
    return iter(Pager(func, per_request, *args, **kwargs))
