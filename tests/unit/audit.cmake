# Unit tests of src/audit.
strait_unit_test(test_audit ${CMAKE_CURRENT_LIST_DIR}/test_audit.c
  strait_audit strait_federation PkgConfig::SQLITE3)
strait_unit_test(test_audit_writer ${CMAKE_CURRENT_LIST_DIR}/test_audit_writer.c
  strait_audit strait_federation strait_testvfs Threads::Threads)
