# The STIX patterning conformance corpus (tests/data/pattern/*.json), written
# from the specification independently of src/pattern, run against it.
strait_unit_test(test_pattern_corpus
  ${CMAKE_CURRENT_LIST_DIR}/test_pattern_corpus.c
  strait_pattern strait_common)
