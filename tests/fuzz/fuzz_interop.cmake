# Fuzz harness of src/interop: the CSV reader of strait import.
strait_fuzz(csv ${CMAKE_CURRENT_LIST_DIR}/fuzz_csv.c strait_interop
  strait_stix strait_pattern)
