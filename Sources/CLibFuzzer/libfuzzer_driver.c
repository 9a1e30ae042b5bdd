// SwiftPM needs a source file in a C target; the target exists for the declaration in
// include/libfuzzer_driver.h.
#include "libfuzzer_driver.h"
