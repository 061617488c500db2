# Compiler warnings and hardening (blueprint: "Choices already made").
set(CCAI_WARNINGS -Wall -Wextra -Wformat=2 -Wshadow -Wvla -Wstrict-prototypes
    -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wnull-dereference
    -Wimplicit-fallthrough -Wundef)
if(CCAI_WERROR)
  list(APPEND CCAI_WARNINGS -Werror)
endif()
add_compile_options(${CCAI_WARNINGS})
add_compile_options(-fstack-protector-strong -fPIE)
add_compile_definitions(_GNU_SOURCE)
if(NOT CCAI_SANITIZE)
  # _FORTIFY_SOURCE needs optimisation and fights with ASan's interceptors.
  add_compile_options($<$<NOT:$<CONFIG:Debug>>:-D_FORTIFY_SOURCE=2>)
endif()
add_link_options(-pie -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack)
if(CCAI_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
if(CCAI_FUZZ)
  # Instrument the library too, so libFuzzer sees coverage inside the parsers.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
