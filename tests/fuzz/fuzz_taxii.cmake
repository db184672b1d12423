# Fuzz harnesses of src/taxii (owned by the TAXII module).
strait_fuzz(route ${CMAKE_CURRENT_LIST_DIR}/fuzz_route.c strait_taxii)
strait_fuzz(accept ${CMAKE_CURRENT_LIST_DIR}/fuzz_accept.c strait_taxii)
strait_fuzz(token ${CMAKE_CURRENT_LIST_DIR}/fuzz_token.c strait_taxii
  PkgConfig::SODIUM)
