# Fuzz harnesses of src/hotline and src/coop: what a partner relays.
strait_fuzz(hotline ${CMAKE_CURRENT_LIST_DIR}/fuzz_hotline.c strait_hotline
  strait_coop PkgConfig::SODIUM)
