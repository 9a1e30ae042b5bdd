// OpenBLAS's own cblas header declares openblas_set_num_threads, which the baseline benchmarks need.
#include <cblas-openblas.h>
