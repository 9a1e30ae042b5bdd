/* Which cores a thread may run on: Linux's scheduler affinity, for the thread pool's --cores on
 * boards with big and little cores. Elsewhere every call reports ENOSYS and nothing is pinned. */
#if defined(__linux__)
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#endif
#include <errno.h>
#include <string.h>
#include "CRankEdgeKernels.h"

#if defined(__linux__)
static int set_affinity(pthread_t thread, const re_core_set *cores) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int core = 0; core < RE_MAX_CORES && core < CPU_SETSIZE; core++)
        if (cores->bits[core / 64] >> (core % 64) & 1ull) CPU_SET(core, &set);
    return pthread_setaffinity_np(thread, sizeof set, &set);
}
#endif

int re_online_cores(void) {
#if defined(__linux__)
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
#else
    return 1;
#endif
}

int re_pin_thread(const void *pthread_handle, int core) {
#if defined(__linux__)
    if (core < 0 || core >= RE_MAX_CORES) return EINVAL;
    re_core_set one;
    memset(&one, 0, sizeof one);
    one.bits[core / 64] = 1ull << (core % 64);
    return set_affinity(*(const pthread_t *)pthread_handle, &one);
#else
    (void)pthread_handle; (void)core;
    return ENOSYS;
#endif
}

int re_pin_current_thread(int core) {
#if defined(__linux__)
    pthread_t self = pthread_self();
    return re_pin_thread(&self, core);
#else
    (void)core;
    return ENOSYS;
#endif
}

int re_core_set_has(const re_core_set *set, int core) {
    return core >= 0 && core < RE_MAX_CORES && (set->bits[core / 64] >> (core % 64) & 1ull) != 0;
}

int re_current_core(void) {
#if defined(__linux__)
    return sched_getcpu();
#else
    return -1;
#endif
}

int re_current_thread_cores(re_core_set *out) {
    memset(out, 0, sizeof *out);
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    int status = pthread_getaffinity_np(pthread_self(), sizeof set, &set);
    if (status != 0) return status;
    for (int core = 0; core < RE_MAX_CORES && core < CPU_SETSIZE; core++)
        if (CPU_ISSET(core, &set)) out->bits[core / 64] |= 1ull << (core % 64);
    return 0;
#else
    return ENOSYS;
#endif
}

int re_set_current_thread_cores(const re_core_set *cores) {
#if defined(__linux__)
    return set_affinity(pthread_self(), cores);
#else
    (void)cores;
    return ENOSYS;
#endif
}
