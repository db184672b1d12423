# Unit tests of src/hotline.
strait_unit_test(test_hotline_keyfile
  ${CMAKE_CURRENT_LIST_DIR}/test_hotline_keyfile.c strait_hotline
  PkgConfig::SODIUM)
strait_unit_test(test_hotline_wire
  ${CMAKE_CURRENT_LIST_DIR}/test_hotline_wire.c strait_hotline
  PkgConfig::SODIUM)
strait_unit_test(test_hotline_db
  ${CMAKE_CURRENT_LIST_DIR}/test_hotline_db.c strait_hotline)
