# Unit tests of src/stix (owned by the STIX module).
strait_unit_test(test_stix_validate
  ${CMAKE_CURRENT_LIST_DIR}/test_stix_validate.c strait_stix)
strait_unit_test(test_stix_objects
  ${CMAKE_CURRENT_LIST_DIR}/test_stix_objects.c strait_stix)
strait_unit_test(test_stix_markings
  ${CMAKE_CURRENT_LIST_DIR}/test_stix_markings.c strait_stix)
strait_unit_test(test_stix_sco_id
  ${CMAKE_CURRENT_LIST_DIR}/test_stix_sco_id.c strait_stix)
