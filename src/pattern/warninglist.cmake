# The IP prefix trie (strait_iptrie), which the indicator matcher indexes
# CIDR blocks with, and MISP warninglists (strait_warninglist).
add_library(strait_iptrie STATIC ${CMAKE_CURRENT_LIST_DIR}/iptrie.c)
target_link_libraries(strait_iptrie PUBLIC strait_common strait_warnings)

add_library(strait_warninglist STATIC ${CMAKE_CURRENT_LIST_DIR}/warninglist.c)
target_link_libraries(strait_warninglist
  PUBLIC strait_iptrie strait_common PkgConfig::PCRE2)
