/* hello.c: the program's entry point. Its output is always the same. */
#include "greet.h"

int main(void)
{
    greet("world");
    return 0;
}
