// libjpeg-turbo's TurboJPEG API (libturbojpeg0-dev): JPEG inputs for the command-line tool; errors
// come back as return values, not through libjpeg's longjmp.
#include <turbojpeg.h>
