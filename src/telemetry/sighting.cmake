# Sightings of indicators in our telemetry (strait_sighting).
add_library(strait_sighting STATIC ${CMAKE_CURRENT_LIST_DIR}/sighting.c)
target_link_libraries(strait_sighting PUBLIC strait_stix strait_common
  PRIVATE strait_warnings)
