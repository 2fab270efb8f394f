#include <stdio.h>

#include "../include/greet.h"

int main(void) {
    puts(greeting());
    return 0;
}
