# Unit tests of src/common (owned by the common module).
strait_unit_test(test_json_parse ${CMAKE_CURRENT_LIST_DIR}/test_json_parse.c
  strait_common)
strait_unit_test(test_jcs ${CMAKE_CURRENT_LIST_DIR}/test_jcs.c strait_common)
strait_unit_test(test_jw ${CMAKE_CURRENT_LIST_DIR}/test_jw.c strait_common)
strait_unit_test(test_split ${CMAKE_CURRENT_LIST_DIR}/test_split.c
  strait_common)
strait_unit_test(test_common ${CMAKE_CURRENT_LIST_DIR}/test_common.c
  strait_common)

# Rewrites tests/data/golden/*.canonical.json from the current code; review
# the diff before committing it.
add_custom_target(regen_golden_jcs
  COMMAND ${CMAKE_COMMAND} -E env STRAIT_REGEN_GOLDEN=1 $<TARGET_FILE:test_jcs>
  DEPENDS test_jcs
  COMMENT "Regenerating the JCS golden files")
strait_unit_test(test_ip ${CMAKE_CURRENT_LIST_DIR}/test_ip.c strait_common)
