# Unit tests of src/store: one contract test set, run against every backend.
strait_unit_test(test_store_contract
  ${CMAKE_CURRENT_LIST_DIR}/test_store_contract.c strait_store)
# The SQLite backend's tests reach its database directly (fault injection).
target_link_libraries(test_store_contract PRIVATE PkgConfig::SQLITE3)
set_tests_properties(test_store_contract PROPERTIES LABELS "unit;store")
# A broken writer can leave a test waiting on a batch: fail, do not hang.
set_tests_properties(test_store_contract PROPERTIES TIMEOUT 300)
# The same tests with the key index merging its recent keys every 3 rows.
add_test(NAME test_store_contract_merging COMMAND test_store_contract)
set_tests_properties(test_store_contract_merging PROPERTIES
  LABELS "unit;store" TIMEOUT 300
  ENVIRONMENT "STRAIT_TEST_KEYS_RECENT_MAX=3")
