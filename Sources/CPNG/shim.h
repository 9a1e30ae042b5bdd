// libpng (libpng-dev): PNG inputs for the command-line tool, through the simplified png_image API,
// which reports errors by return value (no setjmp on the Swift side).
#include <png.h>
