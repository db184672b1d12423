# Fuzz harness of src/pattern/warninglist.c (owned by the warninglist module).
strait_fuzz(warninglist ${CMAKE_CURRENT_LIST_DIR}/fuzz_warninglist.c
  strait_warninglist)
