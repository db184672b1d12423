/* strait: project-wide error codes and human-readable diagnostics. */
#ifndef STRAIT_COMMON_ERR_H
#define STRAIT_COMMON_ERR_H

#include <stddef.h>

/*
 * Every fallible function in strait returns ST_OK (0) or one of these
 * negative codes. The code says what kind of failure it was; the optional
 * struct diag the caller passes in says exactly what and where.
 */
enum st_err {
	ST_OK = 0,
	ST_ENOMEM = -1,	   /* out of memory */
	ST_EINVAL = -2,	   /* invalid argument or usage */
	ST_EJSON = -3,	   /* malformed JSON */
	ST_ELIMIT = -4,	   /* a size, depth or count limit was exceeded */
	ST_EIO = -5,	   /* read, write or file-system failure */
	ST_ENOTFOUND = -6, /* no such object, collection or file */
	ST_EEXIST = -7,	   /* already exists */
	ST_ECONFLICT = -8, /* same key, different content */
	ST_ESTORE = -9,	   /* the database reported an error */
	ST_ESTIX = -10,	   /* the object breaks a STIX 2.1 MUST rule */
	ST_ECONFIG = -11,  /* configuration is missing or invalid */
	ST_ERANGE = -12,   /* value out of range (e.g. not an I-JSON integer) */
	ST_ECLOSED = -13,  /* the component was shut down */
	ST_EAUTH = -14,	   /* a signature or MAC does not verify */
};

/* Short, stable description of an error code ("malformed JSON"). */
const char *st_strerror(int err);

/*
 * A caller-provided buffer for the human message that goes with an error,
 * e.g. "indicator--...: pattern: expected ']' at 14". Functions write into
 * it only when they fail; a NULL diag is allowed everywhere.
 */
#define DIAG_MAX 512
struct diag {
	char msg[DIAG_MAX];
};

/* Formats the message into d (if d is not NULL) and returns err. */
int diag_set(struct diag *d, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to the message already in d. */
void diag_prefix(struct diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
