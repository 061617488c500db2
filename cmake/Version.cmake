# Generates version.c with the project version, the git commit and the build type.
# The commit is read at configure time and again by a build step, so `ccai version`
# stays true after new commits without a re-configure.
set(CCAI_VERSION_IN ${PROJECT_SOURCE_DIR}/cmake/version.c.in)
add_custom_target(ccai_version_stamp
  COMMAND ${CMAKE_COMMAND} -DSRC=${PROJECT_SOURCE_DIR} -DIN=${CCAI_VERSION_IN}
          -DOUT=${CMAKE_CURRENT_BINARY_DIR}/version.c -DVERSION=${PROJECT_VERSION}
          -DBUILD_TYPE=${CMAKE_BUILD_TYPE} -DSANITIZE=${CCAI_SANITIZE}
          -P ${PROJECT_SOURCE_DIR}/cmake/WriteVersion.cmake
  BYPRODUCTS ${CMAKE_CURRENT_BINARY_DIR}/version.c
  COMMENT "" VERBATIM)
