/* Build identity, generated at build time (cmake/version.c.in). */
#ifndef CCAI_CLI_VERSION_H
#define CCAI_CLI_VERSION_H

extern const char ccai_version[];
extern const char ccai_git_commit[];
extern const char ccai_build_type[];

#endif
