# Unit tests of the sightings made from matches (src/telemetry/sighting.c).
strait_unit_test(test_sighting ${CMAKE_CURRENT_LIST_DIR}/test_sighting.c
  strait_sighting)
