# Unit tests of src/interop.
strait_unit_test(test_sensor ${CMAKE_CURRENT_LIST_DIR}/test_sensor.c
  strait_interop)
