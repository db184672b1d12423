# Unit tests of src/federation.
strait_unit_test(test_nodekey ${CMAKE_CURRENT_LIST_DIR}/test_nodekey.c
  strait_federation PkgConfig::SODIUM)
strait_unit_test(test_attest ${CMAKE_CURRENT_LIST_DIR}/test_attest.c
  strait_federation strait_stix PkgConfig::SODIUM)
strait_unit_test(test_peers ${CMAKE_CURRENT_LIST_DIR}/test_peers.c
  strait_federation)
strait_unit_test(test_fedstate ${CMAKE_CURRENT_LIST_DIR}/test_fedstate.c
  strait_federation strait_testvfs PkgConfig::SODIUM Threads::Threads)
