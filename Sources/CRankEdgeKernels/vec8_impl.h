/*
 * What every per-ISA kernel body starts with: the naming macros and the 8-lane load, store and
 * splat of re_v8. Included at the top of each body (conv_kernels_impl.h, unary_kernels_impl.h),
 * once per instance, with RE_SUFFIX and RE_ATTR set by isa_instances.h. Not a public header.
 */

#define RE_CAT2(a, b) a##_##b
#define RE_CAT(a, b) RE_CAT2(a, b)
#define RE_FN(name) RE_CAT(name, RE_SUFFIX)
/* A kernel's public name: re_<name>_<isa> (declared in rankedge_conv_kernels.h). */
#define RE_ENTRY(name) RE_CAT(re_##name, RE_SUFFIX)
#define RE_INLINE static inline __attribute__((always_inline)) RE_ATTR

RE_INLINE re_v8 RE_FN(load)(const float *p) { re_v8 v; memcpy(&v, p, sizeof v); return v; }
RE_INLINE void RE_FN(store)(float *p, re_v8 v) { memcpy(p, &v, sizeof v); }
RE_INLINE re_v8 RE_FN(splat)(float x) { re_v8 v = {x, x, x, x, x, x, x, x}; return v; }
