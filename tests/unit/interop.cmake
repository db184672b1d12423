# Unit tests of src/interop.
strait_unit_test(test_sensor ${CMAKE_CURRENT_LIST_DIR}/test_sensor.c
  strait_interop)
strait_unit_test(test_stix20 ${CMAKE_CURRENT_LIST_DIR}/test_stix20.c
  strait_interop strait_stix)
