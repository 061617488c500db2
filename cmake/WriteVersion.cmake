# Script mode: writes OUT from IN, touching it only when the content changes.
execute_process(COMMAND git -C ${SRC} rev-parse --short=12 HEAD
  OUTPUT_VARIABLE COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR COMMIT STREQUAL "")
  set(COMMIT "unknown")
else()
  execute_process(COMMAND git -C ${SRC} status --porcelain --untracked-files=no
    OUTPUT_VARIABLE DIRTY OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT DIRTY STREQUAL "")
    set(COMMIT "${COMMIT}-dirty")
  endif()
endif()
if(SANITIZE)
  set(BUILD_TYPE "${BUILD_TYPE}+asan+ubsan")
endif()
configure_file(${IN} ${OUT}.tmp @ONLY)
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
