# Unit tests of src/taxii: the HTTP core (pure parsers and a real server on
# loopback, with libcurl and a GnuTLS client) and the paging tokens.
strait_unit_test(test_token ${CMAKE_CURRENT_LIST_DIR}/test_token.c
  strait_taxii)
target_link_libraries(test_token PRIVATE PkgConfig::SODIUM)
set_tests_properties(test_token PROPERTIES LABELS "unit;taxii")
strait_unit_test(test_http ${CMAKE_CURRENT_LIST_DIR}/test_http.c strait_taxii)
target_link_libraries(test_http PRIVATE PkgConfig::CURL PkgConfig::GNUTLS
  Threads::Threads)
set_tests_properties(test_http PROPERTIES LABELS "unit;taxii" TIMEOUT 120)
strait_unit_test(test_stream ${CMAKE_CURRENT_LIST_DIR}/test_stream.c
  strait_taxii)
set_tests_properties(test_stream PROPERTIES LABELS "unit;taxii")
strait_unit_test(test_metrics ${CMAKE_CURRENT_LIST_DIR}/test_metrics.c
  strait_taxii)
target_link_libraries(test_metrics PRIVATE Threads::Threads)
set_tests_properties(test_metrics PROPERTIES LABELS "unit;taxii")
