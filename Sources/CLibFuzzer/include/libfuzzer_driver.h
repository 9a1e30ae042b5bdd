#ifndef RANKEDGE_LIBFUZZER_DRIVER_H
#define RANKEDGE_LIBFUZZER_DRIVER_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's entry point for programs that keep their own main (LLVM 11+, in the toolchain's
/// libclang_rt.fuzzer). Only referenced when rankedge-fuzz is built with -DRANKEDGE_LIBFUZZER and
/// -sanitize=fuzzer, which link the library; a normal build never calls it and needs no libFuzzer.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
