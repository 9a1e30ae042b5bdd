/* RankEdge's C API: load a graph or compiled model (.rkg), inspect its inputs and outputs, run it
 * into buffers you own, read the per-layer profile. In the spirit of TensorFlow Lite's C API.
 *
 * Link the static library tools/build_embedded.sh builds (librankedge.a: the runtime as Embedded
 * Swift and its C kernels; no Swift runtime to install) with -lm -lpthread. docs/C-API.md.
 *
 * Every function is safe to call with bad arguments: it returns an error status (or NULL, or -1)
 * and rankedge_last_error() says why. Nothing aborts and no exception crosses this boundary.
 * Tensors are float32, NHWC, row-major. One model may be run from one thread at a time; separate
 * models may run on separate threads (each model's threads come from one shared pool).
 */
#ifndef RANKEDGE_H
#define RANKEDGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum RankEdgeStatus {
  RANKEDGE_OK = 0,
  RANKEDGE_ERROR_ARGUMENT = 1, /* a NULL pointer, an index out of range, a buffer of the wrong size */
  RANKEDGE_ERROR_FILE = 2,     /* the file cannot be read or is not a valid .rkg */
  RANKEDGE_ERROR_MODEL = 3,    /* the graph is invalid, or cannot be compiled or run on this CPU */
  RANKEDGE_ERROR_RUN = 4       /* the inputs do not fit the graph, or a kernel refused them */
} RankEdgeStatus;

/* A loaded model and its session (memory plan, arena, profile). */
typedef struct RankEdgeModel RankEdgeModel;

typedef struct RankEdgeOptions {
  int32_t threads;   /* threads a run uses (>= 1; 0 means 1) */
  int32_t profiling; /* nonzero: time every step (rankedge_model_profile_step) */
  int32_t fixed_forms; /* graphs only. 0: each rank conv's form and each 3x3/5x5 conv's Winograd
                          tile are chosen by timing them on this CPU while loading (the fastest
                          steps); nonzero: separable rank convs and no Winograd, by rule (a fast
                          load, the same steps on every CPU) */
} RankEdgeOptions;

/* Why the last call on this thread failed (empty if none did). Valid until the next failing call
 * on this thread. */
const char *rankedge_last_error(void);

/* The runtime's version, e.g. "0.9.0". */
const char *rankedge_version(void);

/* Loads a graph (compiled for this CPU on the spot) or a compiled model from a .rkg file, or from
 * `size` bytes at `data` (copied; the caller may free them on return). `options` may be NULL
 * (1 thread, no profiling). NULL on failure, with rankedge_last_error(). */
RankEdgeModel *rankedge_model_create_from_file(const char *path, const RankEdgeOptions *options);
RankEdgeModel *rankedge_model_create_from_buffer(const void *data, size_t size, const RankEdgeOptions *options);
void rankedge_model_delete(RankEdgeModel *model);

/* Inputs and outputs: counts, names (valid while the model lives), shapes at the graph's own
 * batch. Return -1 (or NULL) for a bad model or index. */
int32_t rankedge_model_input_count(const RankEdgeModel *model);
int32_t rankedge_model_output_count(const RankEdgeModel *model);
const char *rankedge_model_input_name(const RankEdgeModel *model, int32_t index);
const char *rankedge_model_output_name(const RankEdgeModel *model, int32_t index);
int32_t rankedge_model_input_rank(const RankEdgeModel *model, int32_t index);
int32_t rankedge_model_output_rank(const RankEdgeModel *model, int32_t index);
/* Dimension `dim` of input (output) `index`; dimension 0 is the batch. */
int64_t rankedge_model_input_dim(const RankEdgeModel *model, int32_t index, int32_t dim);
int64_t rankedge_model_output_dim(const RankEdgeModel *model, int32_t index, int32_t dim);

/* Runs a single-input, single-output model on N whole samples: `input` holds input_count floats
 * (N times one sample), `output` receives output_count floats (N times one output sample).
 * Allocation-free after the first run at a batch size. */
RankEdgeStatus rankedge_model_run(RankEdgeModel *model, const float *input, size_t input_count,
                                  float *output, size_t output_count);

/* Runs a model with any number of inputs and outputs, each given in the order of
 * rankedge_model_input_name / _output_name, all at the same batch N. */
RankEdgeStatus rankedge_model_run_multi(RankEdgeModel *model, const float *const *inputs, const size_t *input_counts,
                                        float *const *outputs, const size_t *output_counts);

/* The per-step profile, averaged over the runs since the model was created or the profile reset
 * (needs options.profiling). Step names and kernel names are valid while the model lives. */
int32_t rankedge_model_profile_count(const RankEdgeModel *model);
RankEdgeStatus rankedge_model_profile_step(const RankEdgeModel *model, int32_t index, const char **name,
                                           const char **kernel, double *milliseconds, int64_t *macs);
void rankedge_model_profile_reset(RankEdgeModel *model);

#ifdef __cplusplus
}
#endif
#endif
