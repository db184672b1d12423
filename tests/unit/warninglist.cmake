# Unit tests of the IP prefix trie and the warninglists (src/pattern).
strait_unit_test(test_iptrie ${CMAKE_CURRENT_LIST_DIR}/test_iptrie.c
  strait_iptrie)
strait_unit_test(test_warninglist ${CMAKE_CURRENT_LIST_DIR}/test_warninglist.c
  strait_warninglist)
target_compile_definitions(test_warninglist PRIVATE
  WARNINGLIST_DIR="${PROJECT_SOURCE_DIR}/share/warninglists")
