# Unit tests of src/lifecycle: confidence decay, the configuration, the
# allow-list, false-positive marks and the default validity.
strait_unit_test(test_lifecycle ${CMAKE_CURRENT_LIST_DIR}/test_lifecycle.c
  strait_lifecycle)
