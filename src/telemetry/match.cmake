# Matching telemetry against the stored indicators (strait_match).
add_library(strait_match STATIC ${CMAKE_CURRENT_LIST_DIR}/match.c)
target_link_libraries(strait_match
  PUBLIC strait_telemetry strait_store strait_stix strait_common
  PRIVATE strait_matcher strait_sighting strait_ingest strait_policy
  strait_warnings)
