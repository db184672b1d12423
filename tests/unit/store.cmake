# Unit tests of src/store: one contract test set, run against every backend.
strait_unit_test(test_store_contract
  ${CMAKE_CURRENT_LIST_DIR}/test_store_contract.c strait_store)
# The SQLite backend's tests reach its database directly (fault injection).
target_link_libraries(test_store_contract PRIVATE PkgConfig::SQLITE3)
set_tests_properties(test_store_contract PROPERTIES LABELS "unit;store")
# A broken writer can leave a test waiting on a batch: fail, do not hang.
set_tests_properties(test_store_contract PROPERTIES TIMEOUT 300)
