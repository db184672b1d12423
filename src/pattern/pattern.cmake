# The STIX pattern parser and evaluator (owned by the pattern module).
add_library(strait_pattern STATIC
  ${CMAKE_CURRENT_LIST_DIR}/lex.c
  ${CMAKE_CURRENT_LIST_DIR}/parse.c
  ${CMAKE_CURRENT_LIST_DIR}/eval.c
  ${CMAKE_CURRENT_LIST_DIR}/observe.c)
target_link_libraries(strait_pattern
  PUBLIC strait_common strait_warnings
  PRIVATE PkgConfig::PCRE2 m)
# LIKE and MATCHES compare NFC forms (STIX 2.1 section 9.6.1): ICU's
# normaliser does it (libicu-dev, installed by scripts/setup.sh).
pkg_check_modules(ICU_UC REQUIRED IMPORTED_TARGET icu-uc)
target_link_libraries(strait_pattern PRIVATE PkgConfig::ICU_UC)
