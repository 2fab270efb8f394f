/* greet.h: the greeting used by hello.c.
 *
 * Comment-only change test: edit this comment (or add lines to it) and
 * rebuild. greet.o and hello.o are recompiled, because greet.h is one of
 * their dependencies, but gcc without -g writes byte-identical objects, so
 * their hashes do not change and the link task is not run (early cutoff).
 */
#ifndef GREET_H
#define GREET_H

/* Print "Hello, NAME!" and a newline on standard output. */
void greet(const char *name);

#endif
