// C the Embedded Swift standard library expects its host to provide, compiled only into the
// Embedded build of the runtime (tools/build_embedded.sh). In the normal build libswiftCore has it.
#include <stdlib.h>
#include <string.h>

// Float(String) in Embedded Swift calls this (libswiftCore's Stubs.cpp in the normal build): the
// parsed value in *out, and where parsing stopped, which Swift checks is the end of the text. The
// runtime never calls setlocale, so strtof reads in the C locale as libswiftCore's strtof_l does.
const char *_swift_stdlib_strtof_clocale(const char *text, float *out) {
    char *end = NULL;
    *out = strtof(text, &end);
    return end;
}

// rankedge_last_error(): one message per thread, so a failing call on one thread never changes
// what another thread reads; truncated, never overflowing.
static _Thread_local char re_capi_error[1024];

void re_capi_set_error(const char *message) {
    strncpy(re_capi_error, message ? message : "", sizeof re_capi_error - 1);
    re_capi_error[sizeof re_capi_error - 1] = 0;
}

const char *rankedge_last_error(void) { return re_capi_error; }
