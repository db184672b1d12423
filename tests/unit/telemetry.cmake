# Unit tests of src/telemetry (owned by the telemetry module).
strait_unit_test(test_telemetry ${CMAKE_CURRENT_LIST_DIR}/test_telemetry.c
  strait_telemetry)
