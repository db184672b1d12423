# Unit tests of src/policy.
strait_unit_test(test_policy ${CMAKE_CURRENT_LIST_DIR}/test_policy.c
  strait_policy)
strait_unit_test(test_peer_policy ${CMAKE_CURRENT_LIST_DIR}/test_peer_policy.c
  strait_policy)
strait_unit_test(test_release ${CMAKE_CURRENT_LIST_DIR}/test_release.c
  strait_policy)
strait_unit_test(test_release_property
  ${CMAKE_CURRENT_LIST_DIR}/test_release_property.c strait_policy)
