# Unit tests of src/auth.
strait_unit_test(test_auth ${CMAKE_CURRENT_LIST_DIR}/test_auth.c strait_auth)
