# Fuzz harness of src/lookup: the value asked about, and the terms taken
# from stored versions.
strait_fuzz(lookup ${CMAKE_CURRENT_LIST_DIR}/fuzz_lookup.c strait_lookup
  strait_pattern strait_stix)
