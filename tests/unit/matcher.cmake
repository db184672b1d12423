# Unit tests of the indexed matcher (src/pattern/matcher*.c). They run with
# every prefilter the build and the CPU offer.
strait_unit_test(test_matcher ${CMAKE_CURRENT_LIST_DIR}/test_matcher.c
  strait_matcher)
