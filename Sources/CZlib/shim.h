// zlib (zlib1g-dev): inflating the deflate members of NumPy .npz files (trainer only).
#include <zlib.h>
