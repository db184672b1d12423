# Fuzz harness of src/interop: the CSV reader of strait import.
strait_fuzz(csv ${CMAKE_CURRENT_LIST_DIR}/fuzz_csv.c strait_interop
  strait_stix strait_pattern)
# Fuzz harness of src/interop: the MISP event JSON reader of strait import.
strait_fuzz(misp ${CMAKE_CURRENT_LIST_DIR}/fuzz_misp.c strait_interop
  strait_stix strait_pattern)
# Fuzz harness of src/interop: the STIX 2.0 upgrade of strait import.
strait_fuzz(stix20 ${CMAKE_CURRENT_LIST_DIR}/fuzz_stix20.c strait_interop
  strait_stix)
