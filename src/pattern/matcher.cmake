# The indexed indicator matcher (strait_matcher): hash, prefix-trie and
# literal indexes over every active indicator, confirmed by the evaluator.
# Hyperscan, when found, is the literal prefilter; without it the built-in
# trigram index does the same job (configure with -DSTRAIT_HYPERSCAN=OFF).
add_library(strait_matcher STATIC
  ${CMAKE_CURRENT_LIST_DIR}/matcher.c
  ${CMAKE_CURRENT_LIST_DIR}/matcher_anchor.c
  ${CMAKE_CURRENT_LIST_DIR}/matcher_feed.c
  ${CMAKE_CURRENT_LIST_DIR}/matcher_index.c
  ${CMAKE_CURRENT_LIST_DIR}/matcher_lit.c)
target_link_libraries(strait_matcher
  PUBLIC strait_pattern strait_iptrie strait_warninglist strait_common
         strait_warnings
  PRIVATE PkgConfig::PCRE2 m)
if(HS_FOUND)
  target_link_libraries(strait_matcher PRIVATE PkgConfig::HS)
  target_compile_definitions(strait_matcher PRIVATE STRAIT_HAVE_HYPERSCAN=1)
endif()
