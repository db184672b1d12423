# Warnings are set once, on an interface target that every target links.
add_library(strait_warnings INTERFACE)
target_compile_options(strait_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wformat=2 -Wundef -Wpointer-arith
  -Wcast-align -Wwrite-strings -Wvla
  # Messages are cut to their fixed-size buffers (struct diag) on purpose.
  $<$<C_COMPILER_ID:GNU>:-Wno-format-truncation>
  $<$<COMPILE_LANGUAGE:C>:-Wstrict-prototypes -Wmissing-prototypes
                          -Wold-style-definition>)
if(STRAIT_WERROR)
  target_compile_options(strait_warnings INTERFACE -Werror)
endif()
