// The C library for the Embedded Swift build of the runtime (tools/build_embedded.sh).
//
// Embedded Swift has no Glibc overlay module, so the runtime files that `import Glibc` in the
// normal build import this header instead (`#if hasFeature(Embedded)`): the same functions and
// types, straight from the target's libc headers. Only what the clang importer cannot bring over
// by itself is added here.
#ifndef RANKEDGE_SYSTEM_H
#define RANKEDGE_SYSTEM_H

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

// `errno` is a macro over a thread-local location, which Swift cannot import; the Glibc overlay
// provides a Swift `errno` property, and embedded/SystemShims.swift provides the same over this.
static inline int re_system_errno(void) { return errno; }
static inline void re_system_set_errno(int value) { errno = value; }

// open(2) is variadic, which Swift cannot call; the Glibc overlay wraps it, and so does this.
static inline int re_system_open(const char *path, int flags, mode_t mode) { return open(path, flags, mode); }

// The C API's error message for the calling thread (include/rankedge.h, rankedge_last_error),
// kept in C because Swift has no thread-local storage in Embedded mode.
void re_capi_set_error(const char *message);

#endif
