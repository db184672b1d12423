# Fuzz harnesses of src/stix (owned by the STIX module).
strait_fuzz(validate ${CMAKE_CURRENT_LIST_DIR}/fuzz_validate.c strait_stix)
