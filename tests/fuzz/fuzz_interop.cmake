# Fuzz harness of src/interop: the CSV reader of strait import.
strait_fuzz(csv ${CMAKE_CURRENT_LIST_DIR}/fuzz_csv.c strait_interop
  strait_stix strait_pattern)
# Fuzz harness of src/interop: the MISP event JSON reader of strait import.
strait_fuzz(misp ${CMAKE_CURRENT_LIST_DIR}/fuzz_misp.c strait_interop
  strait_stix strait_pattern)
