# Fuzz harnesses of src/federation.
strait_fuzz(attest ${CMAKE_CURRENT_LIST_DIR}/fuzz_attest.c strait_federation
  PkgConfig::SODIUM)
strait_fuzz(witness ${CMAKE_CURRENT_LIST_DIR}/fuzz_witness.c strait_federation)
