# Fuzz harness of src/pattern (owned by the pattern module).
strait_fuzz(pattern ${CMAKE_CURRENT_LIST_DIR}/fuzz_pattern.c strait_pattern)
