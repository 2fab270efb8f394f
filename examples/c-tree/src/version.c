#include <stdio.h>

#include "../include/greet.h"
#include "../include/version.h"

int
main (void)
{
    printf ("%s (version %s)\n", greeting (), VERSION);
    return 0;
}
