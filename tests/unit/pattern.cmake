# Unit tests of src/pattern's parser and evaluator (owned by the pattern
# module).
strait_unit_test(test_pattern_parse
  ${CMAKE_CURRENT_LIST_DIR}/test_pattern_parse.c strait_pattern)
strait_unit_test(test_pattern_eval
  ${CMAKE_CURRENT_LIST_DIR}/test_pattern_eval.c strait_pattern)
