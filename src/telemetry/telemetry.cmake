# Zeek and Suricata telemetry readers: records to STIX observations.
add_library(strait_telemetry STATIC
  reader.c
  zeek.c
  zeek_tsv.c
  eve.c
  build.c)
target_link_libraries(strait_telemetry PUBLIC strait_common strait_warnings)
