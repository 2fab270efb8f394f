/* greet.c: prints the greeting declared in greet.h. */
#include <stdio.h>

#include "greet.h"

void greet(const char *name)
{
    printf("Hello, %s!\n", name);
}
