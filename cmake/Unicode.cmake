# The tokenizer's Unicode category table (src/llm/unicode.h), generated at
# build time from UnicodeData.txt by a host tool (tools/gen_unicode.c).
# Included from the top-level CMakeLists.txt after ccai_core is defined.
# UnicodeData.txt comes from Debian's unicode-data package
# (scripts/install-deps.sh); point CCAI_UNICODE_DATA elsewhere to use another copy.
set(CCAI_UNICODE_DATA /usr/share/unicode/UnicodeData.txt
  CACHE FILEPATH "UnicodeData.txt the tokenizer's category table is generated from")
if(NOT EXISTS "${CCAI_UNICODE_DATA}")
  message(FATAL_ERROR "UnicodeData.txt not found at ${CCAI_UNICODE_DATA}: install the "
    "unicode-data package (scripts/install-deps.sh) or set -DCCAI_UNICODE_DATA=/path/UnicodeData.txt")
endif()

add_executable(ccai_gen_unicode ${PROJECT_SOURCE_DIR}/tools/gen_unicode.c)
# The generator runs on the build host during the build: keep the project's
# warnings (and sanitizers), but not libFuzzer instrumentation, which would
# need the fuzzer runtime to link.
get_target_property(_ccai_gen_opts ccai_gen_unicode COMPILE_OPTIONS)
if(_ccai_gen_opts)
  list(FILTER _ccai_gen_opts EXCLUDE REGEX "fuzzer")
  set_property(TARGET ccai_gen_unicode PROPERTY COMPILE_OPTIONS ${_ccai_gen_opts})
endif()

set(CCAI_GENERATED_DIR ${CMAKE_BINARY_DIR}/generated)
set(CCAI_UNICODE_TABLES ${CCAI_GENERATED_DIR}/unicode_tables.c)
add_custom_command(
  OUTPUT ${CCAI_UNICODE_TABLES}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CCAI_GENERATED_DIR}
  COMMAND ccai_gen_unicode ${CCAI_UNICODE_DATA} ${CCAI_UNICODE_TABLES}
  DEPENDS ccai_gen_unicode ${CCAI_UNICODE_DATA}
  COMMENT "Generating Unicode category tables from ${CCAI_UNICODE_DATA}"
  VERBATIM)
target_sources(ccai_core PRIVATE ${CCAI_UNICODE_TABLES})
target_include_directories(ccai_core PRIVATE ${CCAI_GENERATED_DIR})
