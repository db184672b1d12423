/*
 * strait: STIX 2.0 objects upgraded to STIX 2.1, one object at a time, for
 * strait import (STIX 2.0 parts 1-4 against STIX 2.1 CS03/OS).
 *
 * A STIX 2.0 object is an SDO, SRO, marking definition or custom object
 * without spec_version (2.0 bundles carry it on the bundle). Its upgrade:
 *
 *  - "spec_version": "2.1" is added after "type" (a 2.0 object that says
 *    "2.0" itself has it replaced);
 *  - created and modified with fewer than 3 fractional digits get them
 *    (2.1 asks for millisecond precision; the instant is unchanged);
 *  - the required open-vocabulary "labels" of indicator, malware,
 *    threat-actor, tool and report become indicator_types, malware_types,
 *    threat_actor_types, tool_types and report_types. In 2.1 "labels" is
 *    a generic, optional property with no vocabulary, and the *_types
 *    properties took over the 2.0 vocabularies value for value, so the
 *    values are moved, not copied: keeping them in both would state every
 *    classification twice. The other types keep their labels;
 *  - an indicator gets "pattern_type": "stix" and "pattern_version":
 *    "2.0" (its pattern names the 2.0 observable model: 2.1 renamed
 *    file:created to ctime, process:binary_ref to image_ref, ...); a
 *    malware gets "is_family": true (2.0 malware is named, as 2.1 asks of
 *    a family);
 *  - an observed-data's "objects" (embedded cyber observables keyed "0",
 *    "1", ..., referring to each other by those keys in *_ref and *_refs
 *    properties) becomes 2.1 SCOs: each gets spec_version and its
 *    deterministic id (UUIDv5 over its ID contributing properties,
 *    stix_sco_id), its references rewritten to those ids, the 2.0
 *    properties 2.1 renamed renamed (file and directory created, modified,
 *    accessed to ctime, mtime, atime; process created to created_time and
 *    binary_ref to image_ref; windows-registry-key modified to
 *    modified_time), and the observed-data's object_marking_refs (the
 *    observables were part of it, under its markings). A granular marking
 *    of the observed-data that selects inside "objects" marks the whole
 *    SCO it selects and the SCO's entry in object_refs. The observed-data
 *    then carries "object_refs" in place of "objects" (deprecated in 2.1).
 *
 * Every change is reported through ix_note_fn. Anything else is kept as
 * it was, in the order it was (2.0 properties that 2.1 dropped, such as a
 * file's is_encrypted, stay as custom properties, and are noted).
 */
#ifndef STRAIT_INTEROP_STIX20_H
#define STRAIT_INTEROP_STIX20_H

#include "common/err.h"
#include "common/json.h"
#include "interop/csv_in.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Embedded observables of one 2.0 observed-data. */
#define IX_STIX20_OBJECTS_MAX 10000

/*
 * Upgrades one STIX 2.0 object (JSON text, len bytes) to STIX 2.1. Every
 * change is first handed to on_note (may be NULL), then each resulting
 * object to on_object (JSON, NUL-terminated, valid only during the call),
 * with index as its line: an observed-data's SCOs first, in the order of
 * "objects" (an observable equal to an earlier one is the same SCO, handed
 * on once), then the observed-data itself. An object that is not STIX 2.0
 * (ix_stix20_is_20) is handed on unchanged, without notes. Nothing at all
 * is handed on for an object that cannot be upgraded.
 *
 * Returns ST_OK; the first non-ST_OK of on_object (d says which object);
 * ST_EJSON or ST_ELIMIT for text that json_parse refuses
 * (JSON_LIMITS_DEFAULT), ST_ELIMIT for an observed-data with more than
 * IX_STIX20_OBJECTS_MAX observables; ST_EINVAL, with d naming the object
 * and the property, for what has no upgrade: not a JSON object, no string
 * type, no id (SCOs of 2.1 excepted: they may come without one), an
 * observed-data whose "objects" is not a non-empty dictionary of
 * observables of the specification's types, a reference to a key that is
 * not in it, references among ID contributing properties that go round in
 * a circle, a granular marking selecting an observable that is not there;
 * ST_ENOMEM.
 */
int ix_stix20_upgrade(const char *json, size_t len, uint64_t index,
		      ix_object_fn on_object, ix_note_fn on_note, void *ctx,
		      struct diag *d);

/*
 * True when obj looks like STIX 2.0: a JSON object with a string type that
 * is not an SCO type, "bundle" or a type new in 2.1 (note, opinion,
 * grouping, location, incident, infrastructure, malware-analysis,
 * language-content, extension-definition), with no spec_version or
 * spec_version "2.0", and no extension of extension_type "new-sco".
 */
bool ix_stix20_is_20(const struct json_val *obj);

#endif
