# Unit tests of src/federation.
strait_unit_test(test_nodekey ${CMAKE_CURRENT_LIST_DIR}/test_nodekey.c
  strait_federation PkgConfig::SODIUM)
