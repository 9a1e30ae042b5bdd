/* classify: runs a RankEdge model (.rkg) through the C API (include/rankedge.h).
 *
 *   classify MODEL [--threads N] [--input RAW] [--output RAW] [--profile] [--fixed-forms]
 *
 * RAW files are little-endian float32, NHWC, one or more whole samples; without --input the
 * model gets one sample of a fixed ramp. Prints the shapes, the top 5 scores of the first sample
 * and, with --profile, the per-step times; --output writes every output value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rankedge.h"

static float *read_floats(const char *path, size_t *count) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long bytes = ftell(f);
  fseek(f, 0, SEEK_SET);
  float *data = bytes > 0 ? malloc((size_t)bytes) : NULL;
  if (data && fread(data, 1, (size_t)bytes, f) != (size_t)bytes) { free(data); data = NULL; }
  fclose(f);
  *count = data ? (size_t)bytes / sizeof(float) : 0;
  return data;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: classify MODEL [--threads N] [--input RAW] [--output RAW] [--profile] [--fixed-forms]\n");
    return 2;
  }
  RankEdgeOptions options = {.threads = 1, .profiling = 0, .fixed_forms = 0};
  const char *input_path = NULL, *output_path = NULL;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--threads") && i + 1 < argc) options.threads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--input") && i + 1 < argc) input_path = argv[++i];
    else if (!strcmp(argv[i], "--output") && i + 1 < argc) output_path = argv[++i];
    else if (!strcmp(argv[i], "--profile")) options.profiling = 1;
    else if (!strcmp(argv[i], "--fixed-forms")) options.fixed_forms = 1;
    else { fprintf(stderr, "classify: unknown argument '%s'\n", argv[i]); return 2; }
  }

  RankEdgeModel *model = rankedge_model_create_from_file(argv[1], &options);
  if (!model) { fprintf(stderr, "classify: %s\n", rankedge_last_error()); return 1; }
  if (rankedge_model_input_count(model) != 1 || rankedge_model_output_count(model) != 1) {
    fprintf(stderr, "classify: the model has %d inputs and %d outputs; this example takes one of each\n",
            rankedge_model_input_count(model), rankedge_model_output_count(model));
    rankedge_model_delete(model);
    return 1;
  }

  /* One sample's size, from the shapes (dimension 0 is the batch). */
  size_t in_sample = 1, out_sample = 1;
  printf("input  %s [N", rankedge_model_input_name(model, 0));
  for (int d = 1; d < rankedge_model_input_rank(model, 0); d++) {
    in_sample *= (size_t)rankedge_model_input_dim(model, 0, d);
    printf(", %lld", (long long)rankedge_model_input_dim(model, 0, d));
  }
  printf("]\noutput %s [N", rankedge_model_output_name(model, 0));
  for (int d = 1; d < rankedge_model_output_rank(model, 0); d++) {
    out_sample *= (size_t)rankedge_model_output_dim(model, 0, d);
    printf(", %lld", (long long)rankedge_model_output_dim(model, 0, d));
  }
  printf("]\n");

  size_t in_count = in_sample;
  float *input = NULL;
  if (input_path) {
    input = read_floats(input_path, &in_count);
    if (!input) { fprintf(stderr, "classify: cannot read %s\n", input_path); rankedge_model_delete(model); return 1; }
  } else {
    input = malloc(in_count * sizeof(float));
    for (size_t i = 0; i < in_count; i++) input[i] = (float)(i % 17) / 16.0f - 0.5f;
  }
  size_t batch = in_count / in_sample, out_count = batch * out_sample;
  float *output = malloc((out_count ? out_count : 1) * sizeof(float));

  int status = rankedge_model_run(model, input, in_count, output, out_count);
  if (status != RANKEDGE_OK) {
    fprintf(stderr, "classify: run failed (%d): %s\n", status, rankedge_last_error());
  } else {
    /* Top 5 of the first sample. */
    printf("batch %zu; top scores of sample 0:\n", batch);
    char *taken = calloc(out_sample, 1);
    for (int k = 0; k < 5 && k < (int)out_sample; k++) {
      size_t best = 0;
      while (taken[best]) best++;
      for (size_t i = best + 1; i < out_sample; i++)
        if (!taken[i] && output[i] > output[best]) best = i;
      taken[best] = 1;
      printf("  %zu: %.6f\n", best, output[best]);
    }
    free(taken);
    if (options.profiling) {
      for (int i = 0; i < rankedge_model_profile_count(model); i++) {
        const char *name, *kernel;
        double ms;
        int64_t macs;
        if (rankedge_model_profile_step(model, i, &name, &kernel, &ms, &macs) == RANKEDGE_OK)
          printf("  %-24s %-16s %9.3f ms %12lld MACs\n", name, kernel, ms, (long long)macs);
      }
    }
    if (output_path) {
      FILE *f = fopen(output_path, "wb");
      if (!f || fwrite(output, sizeof(float), out_count, f) != out_count) {
        fprintf(stderr, "classify: cannot write %s\n", output_path);
        status = RANKEDGE_ERROR_FILE;
      }
      if (f) fclose(f);
    }
  }
  free(input);
  free(output);
  rankedge_model_delete(model);
  return status == RANKEDGE_OK ? 0 : 1;
}
