#include <stdio.h>
#include "cli/version.h"
int main(void) { printf("ccai %s\n", ccai_version); return 0; }
