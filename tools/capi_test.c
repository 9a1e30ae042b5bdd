/* capi_test: checks the parts of the C API (include/rankedge.h) that examples/c/classify.c does not
 * reach. tools/check_arm64.sh builds it against librankedge.a and runs it under qemu-aarch64 (and
 * natively against an x86-64 build of the library with RANKEDGE_ARM64_FULL=1).
 *
 *   capi_test buffer MODEL INPUT.f32 OUTPUT.f32 [--fixed-forms]
 *       MODEL loaded from its path and from a malloc'd copy of its bytes (scribbled over and freed
 *       right after loading): same inputs, outputs and shapes, outputs equal bit for bit, also
 *       after failed runs; corrupt buffers, wrong input and output sizes, NULL arguments and bad
 *       indices give an error status (or NULL, or -1) and a message. Writes the outputs to OUTPUT.
 *   capi_test multi MODEL A.f32 B.f32 OUTPUT.f32
 *       A two-input, two-output MODEL loaded from a buffer and run with rankedge_model_run_multi
 *       (batch from A's size), twice, bit for bit; every output, in graph order, to OUTPUT (the
 *       layout of `rankedge run -o`). Errors: the single-input call, a wrong input size, inputs at
 *       different batches, a NULL input, a wrong output size, NULL arrays.
 *
 * Prints "  ok    WHAT" or "  FAIL  WHAT" per check and "N passed, N failed"; exits 1 on a failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rankedge.h"

static int passed, failed;

static void check(int condition, const char *what, const char *detail) {
  if (condition) passed++; else failed++;
  printf("  %s  %s%s%.110s\n", condition ? "ok  " : "FAIL", what, detail && *detail ? ": " : "", detail ? detail : "");
}

/* An error was reported: the call failed and left a message. */
static void check_error(int call_failed, const char *what) {
  const char *message = rankedge_last_error();
  check(call_failed && message && *message, what, message);
}

static unsigned char *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char *data = NULL;
  if (fseek(f, 0, SEEK_END) == 0) {
    long n = ftell(f);
    if (n > 0 && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)n))) {
      if (fread(data, 1, (size_t)n, f) != (size_t)n) { free(data); data = NULL; }
      else *size = (size_t)n;
    }
  }
  fclose(f);
  return data;
}

static int write_file(const char *path, const float *const *parts, const size_t *counts, int n) {
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  int ok = 1;
  for (int i = 0; i < n; i++) ok = ok && fwrite(parts[i], sizeof(float), counts[i], f) == counts[i];
  return fclose(f) == 0 && ok;
}

/* Values in one sample of input (output) `index`: the dimensions after the batch. */
static size_t sample_size(const RankEdgeModel *m, int output, int32_t index) {
  size_t n = 1;
  int32_t rank = output ? rankedge_model_output_rank(m, index) : rankedge_model_input_rank(m, index);
  for (int32_t d = 1; d < rank; d++)
    n *= (size_t)(output ? rankedge_model_output_dim(m, index, d) : rankedge_model_input_dim(m, index, d));
  return n;
}

static int same_signature(const RankEdgeModel *a, const RankEdgeModel *b) {
  if (rankedge_model_input_count(a) != rankedge_model_input_count(b) || rankedge_model_output_count(a) != rankedge_model_output_count(b))
    return 0;
  for (int output = 0; output < 2; output++) {
    int32_t count = output ? rankedge_model_output_count(a) : rankedge_model_input_count(a);
    for (int32_t i = 0; i < count; i++) {
      const char *na = output ? rankedge_model_output_name(a, i) : rankedge_model_input_name(a, i);
      const char *nb = output ? rankedge_model_output_name(b, i) : rankedge_model_input_name(b, i);
      int32_t ra = output ? rankedge_model_output_rank(a, i) : rankedge_model_input_rank(a, i);
      int32_t rb = output ? rankedge_model_output_rank(b, i) : rankedge_model_input_rank(b, i);
      if (!na || !nb || strcmp(na, nb) || ra != rb) return 0;
      for (int32_t d = 0; d < ra; d++) {
        int64_t da = output ? rankedge_model_output_dim(a, i, d) : rankedge_model_input_dim(a, i, d);
        int64_t db = output ? rankedge_model_output_dim(b, i, d) : rankedge_model_input_dim(b, i, d);
        if (da != db) return 0;
      }
    }
  }
  return 1;
}

/* A corrupt copy of the model's bytes must not load. `bytes` is a scratch copy the caller owns. */
static void check_corrupt(const char *what, const unsigned char *bytes, size_t size, const RankEdgeOptions *options) {
  RankEdgeModel *m = rankedge_model_create_from_buffer(bytes, size, options);
  check_error(m == NULL, what);
  rankedge_model_delete(m);
}

/* Replaces the first `from` in the buffer with `to` (same length); 0 if absent. */
static int replace(unsigned char *bytes, size_t size, const char *from, const char *to) {
  size_t n = strlen(from);
  for (size_t i = 0; i + n <= size; i++)
    if (!memcmp(bytes + i, from, n)) { memcpy(bytes + i, to, n); return 1; }
  return 0;
}

/* Overwrites the first letter or digit of the JSON value after the first `key` (the graph JSON is
 * a string in the header, so its quotes are escaped) with `with`; 0 if absent. */
static int corrupt_value(unsigned char *bytes, size_t size, const char *key, unsigned char with) {
  size_t n = strlen(key);
  for (size_t i = 0; i + n <= size; i++) {
    if (memcmp(bytes + i, key, n)) continue;
    for (size_t j = i + n; j < size && j < i + n + 8; j++) {
      unsigned char c = bytes[j];
      if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) { bytes[j] = with; return 1; }
    }
    return 0;
  }
  return 0;
}

static int run_buffer(int argc, char **argv) {
  if (argc < 5) { fprintf(stderr, "usage: capi_test buffer MODEL INPUT.f32 OUTPUT.f32 [--fixed-forms]\n"); return 2; }
  const char *path = argv[2];
  RankEdgeOptions options = {.threads = 1, .profiling = 0, .fixed_forms = argc > 5 && !strcmp(argv[5], "--fixed-forms")};
  size_t size = 0, in_bytes = 0;
  unsigned char *file = read_file(path, &size);
  float *input = (float *)read_file(argv[3], &in_bytes);
  if (!file || !input) { fprintf(stderr, "capi_test: cannot read %s or %s\n", path, argv[3]); return 2; }

  RankEdgeModel *from_path = rankedge_model_create_from_file(path, &options);
  check(from_path != NULL, "loaded from its path", from_path ? path : rankedge_last_error());
  unsigned char *copy = malloc(size);
  memcpy(copy, file, size);
  RankEdgeModel *from_buffer = rankedge_model_create_from_buffer(copy, size, &options);
  memset(copy, 0xA5, size); /* the API copied the bytes: the caller may reuse them at once */
  free(copy);
  char detail[160];
  snprintf(detail, sizeof detail, "%zu bytes from malloc'd memory, scribbled over and freed after loading", size);
  check(from_buffer != NULL, "loaded from a buffer", from_buffer ? detail : rankedge_last_error());
  if (!from_path || !from_buffer) { printf("%d passed, %d failed\n", passed, failed); return 1; }
  check(same_signature(from_path, from_buffer), "same inputs, outputs, names and shapes from the path and the buffer", NULL);

  size_t in_count = in_bytes / sizeof(float), in_sample = sample_size(from_buffer, 0, 0), out_sample = sample_size(from_buffer, 1, 0);
  size_t batch = in_sample ? in_count / in_sample : 0, out_count = batch * out_sample;
  float *a = calloc(out_count + 1, sizeof(float)), *b = calloc(out_count + 1, sizeof(float)), *c = calloc(out_count + 1, sizeof(float));
  int sa = rankedge_model_run(from_path, input, in_count, a, out_count);
  int sb = rankedge_model_run(from_buffer, input, in_count, b, out_count);
  snprintf(detail, sizeof detail, "batch %zu, %zu output values", batch, out_count);
  check(sa == RANKEDGE_OK && sb == RANKEDGE_OK, "both run", sa == RANKEDGE_OK && sb == RANKEDGE_OK ? detail : rankedge_last_error());
  check(sa == RANKEDGE_OK && sb == RANKEDGE_OK && !memcmp(a, b, out_count * sizeof(float)),
        "the buffer-loaded model's outputs equal the path-loaded model's bit for bit", detail);
  const float *parts[1] = {b};
  size_t counts[1] = {out_count};
  if (!write_file(argv[4], parts, counts, 1)) { fprintf(stderr, "capi_test: cannot write %s\n", argv[4]); return 2; }

  /* Corrupt buffers: each gives NULL and a message. */
  unsigned char *bad = malloc(size + 16);
  check_error(rankedge_model_create_from_buffer(NULL, size, &options) == NULL, "NULL buffer");
  check_error(rankedge_model_create_from_buffer(file, 0, &options) == NULL, "empty buffer");
  check_corrupt("7 bytes (shorter than the header length)", file, 7, &options);
  check_corrupt("truncated to half", file, size / 2, &options);
  check_corrupt("last byte missing", file, size - 1, &options);
  memcpy(bad, file, size);
  memset(bad + size, 0, 16);
  check_corrupt("16 trailing bytes", bad, size + 16, &options);
  memcpy(bad, file, size);
  bad[7] = 0x7f; /* header length ~ 2^63 */
  check_corrupt("header length past the end", bad, size, &options);
  memcpy(bad, file, size);
  bad[8] = 'x'; /* the header's opening brace */
  check_corrupt("header not JSON", bad, size, &options);
  memcpy(bad, file, size);
  if (replace(bad, size, "\"F32\"", "\"I64\"")) check_corrupt("a weight's dtype changed", bad, size, &options);
  else check(0, "a weight's dtype changed", "no F32 in the header");
  memcpy(bad, file, size);
  if (corrupt_value(bad, size, "op\\\"", 'Q')) check_corrupt("an op renamed (first letter Q)", bad, size, &options);
  else check(0, "an op renamed", "no op in the header");
  memcpy(bad, file, size);
  if (corrupt_value(bad, size, "format_version\\\"", '9')) check_corrupt("graph format version 9", bad, size, &options);
  else check(0, "graph format version 9", "no format_version in the header");
  uint32_t seed = 12345;
  for (size_t i = 0; i < size; i++) { seed = seed * 1664525u + 1013904223u; bad[i] = (unsigned char)(seed >> 24); }
  check_corrupt("random bytes", bad, size, &options);
  memcpy(bad, file, size);
  for (size_t i = 8; i < size; i += 97) bad[i] ^= 0x5A; /* every 97th byte of header and weights */
  check_corrupt("bytes flipped throughout", bad, size, &options);
  free(bad);
  RankEdgeOptions too_many = options;
  too_many.threads = 100000;
  check_error(rankedge_model_create_from_buffer(file, size, &too_many) == NULL, "100000 threads refused");

  /* Wrong sizes and NULL arguments at run time. */
  check_error(rankedge_model_run(from_buffer, input, in_count - 1, c, out_count) == RANKEDGE_ERROR_RUN, "input one value short");
  check_error(rankedge_model_run(from_buffer, input, in_sample / 2, c, out_count) == RANKEDGE_ERROR_RUN, "input half a sample");
  check_error(rankedge_model_run(from_buffer, input, in_count, c, out_count + 1) == RANKEDGE_ERROR_ARGUMENT, "output buffer one value too large");
  check_error(rankedge_model_run(from_buffer, input, in_count, c, out_count - 1) == RANKEDGE_ERROR_ARGUMENT, "output buffer one value short");
  check_error(rankedge_model_run(from_buffer, NULL, in_count, c, out_count) == RANKEDGE_ERROR_ARGUMENT, "NULL input");
  check_error(rankedge_model_run(NULL, input, in_count, c, out_count) == RANKEDGE_ERROR_ARGUMENT, "NULL model");
  check_error(rankedge_model_input_name(from_buffer, 1) == NULL, "input index 1 of 1");
  check_error(rankedge_model_output_dim(from_buffer, 0, 9) == -1, "output dimension 9");
  check_error(rankedge_model_input_rank(from_buffer, -1) == -1, "input index -1");
  const char *name = NULL;
  check_error(rankedge_model_profile_step(from_buffer, 0, &name, NULL, NULL, NULL) != RANKEDGE_OK, "profile without profiling");
  const float *one_input[1] = {input};
  size_t one_count[1] = {in_count - 3};
  float *one_output[1] = {c};
  size_t one_out_count[1] = {out_count};
  check_error(rankedge_model_run_multi(from_buffer, one_input, one_count, one_output, one_out_count) == RANKEDGE_ERROR_RUN,
              "run_multi: input three values short");

  /* After all that the model still runs, and gives the same values. */
  memset(c, 0, out_count * sizeof(float));
  int sc = rankedge_model_run(from_buffer, input, in_count, c, out_count);
  check(sc == RANKEDGE_OK && !memcmp(b, c, out_count * sizeof(float)), "after the failed calls the outputs are still the same bit for bit",
        sc == RANKEDGE_OK ? NULL : rankedge_last_error());

  rankedge_model_delete(from_path);
  rankedge_model_delete(from_buffer);
  free(file);
  free(input);
  free(a);
  free(b);
  free(c);
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}

static int run_multi(int argc, char **argv) {
  if (argc < 6) { fprintf(stderr, "usage: capi_test multi MODEL A.f32 B.f32 OUTPUT.f32\n"); return 2; }
  size_t size = 0, bytes_a = 0, bytes_b = 0;
  unsigned char *file = read_file(argv[2], &size);
  float *x0 = (float *)read_file(argv[3], &bytes_a), *x1 = (float *)read_file(argv[4], &bytes_b);
  if (!file || !x0 || !x1) { fprintf(stderr, "capi_test: cannot read %s, %s or %s\n", argv[2], argv[3], argv[4]); return 2; }
  RankEdgeOptions options = {.threads = 2, .profiling = 1, .fixed_forms = 1};
  RankEdgeModel *m = rankedge_model_create_from_buffer(file, size, &options);
  free(file);
  check(m != NULL, "two-input model loaded from a buffer", m ? NULL : rankedge_last_error());
  if (!m) { printf("%d passed, %d failed\n", passed, failed); return 1; }
  char detail[200];
  snprintf(detail, sizeof detail, "%d inputs (%s, %s), %d outputs (%s, %s)", rankedge_model_input_count(m), rankedge_model_input_name(m, 0),
           rankedge_model_input_name(m, 1), rankedge_model_output_count(m), rankedge_model_output_name(m, 0), rankedge_model_output_name(m, 1));
  check(rankedge_model_input_count(m) == 2 && rankedge_model_output_count(m) == 2, "inputs and outputs", detail);

  size_t in_sample[2] = {sample_size(m, 0, 0), sample_size(m, 0, 1)}, out_sample[2] = {sample_size(m, 1, 0), sample_size(m, 1, 1)};
  size_t batch = bytes_a / sizeof(float) / in_sample[0];
  check(batch > 0 && bytes_b / sizeof(float) == batch * in_sample[1], "both input files hold the same batch", NULL);
  const float *inputs[2] = {x0, x1};
  size_t in_counts[2] = {batch * in_sample[0], batch * in_sample[1]};
  float *first[2] = {malloc(batch * out_sample[0] * sizeof(float)), malloc(batch * out_sample[1] * sizeof(float))};
  float *second[2] = {calloc(batch * out_sample[0], sizeof(float)), calloc(batch * out_sample[1], sizeof(float))};
  size_t out_counts[2] = {batch * out_sample[0], batch * out_sample[1]};
  int s1 = rankedge_model_run_multi(m, inputs, in_counts, first, out_counts);
  snprintf(detail, sizeof detail, "batch %zu, %zu + %zu output values", batch, out_counts[0], out_counts[1]);
  check(s1 == RANKEDGE_OK, "rankedge_model_run_multi", s1 == RANKEDGE_OK ? detail : rankedge_last_error());
  int s2 = rankedge_model_run_multi(m, inputs, in_counts, second, out_counts);
  check(s1 == RANKEDGE_OK && s2 == RANKEDGE_OK && !memcmp(first[0], second[0], out_counts[0] * sizeof(float)) &&
            !memcmp(first[1], second[1], out_counts[1] * sizeof(float)),
        "a second run gives the same outputs bit for bit", NULL);
  const char *step = NULL, *kernel = NULL;
  double ms = -1;
  int64_t macs = -1;
  int sp = rankedge_model_profile_step(m, 0, &step, &kernel, &ms, &macs);
  snprintf(detail, sizeof detail, "%d steps; step 0 '%s' (%s) %.3f ms", rankedge_model_profile_count(m), step ? step : "", kernel ? kernel : "", ms);
  check(sp == RANKEDGE_OK && rankedge_model_profile_count(m) > 0 && step && kernel && ms >= 0 && macs > 0, "profile", detail);
  if (!write_file(argv[5], (const float *const *)first, out_counts, 2)) { fprintf(stderr, "capi_test: cannot write %s\n", argv[5]); return 2; }

  /* Errors. */
  float *scratch = malloc((out_counts[0] + out_counts[1] + 1) * sizeof(float));
  check_error(rankedge_model_run(m, x0, in_counts[0], scratch, out_counts[0]) == RANKEDGE_ERROR_ARGUMENT, "rankedge_model_run on a two-input model");
  size_t short_b[2] = {in_counts[0], in_counts[1] - 1};
  check_error(rankedge_model_run_multi(m, inputs, short_b, second, out_counts) == RANKEDGE_ERROR_RUN, "second input one value short");
  if (batch > 1) {
    size_t mixed[2] = {in_counts[0], in_sample[1]};
    check_error(rankedge_model_run_multi(m, inputs, mixed, second, out_counts) != RANKEDGE_OK, "inputs at different batches");
  }
  const float *null_input[2] = {x0, NULL};
  check_error(rankedge_model_run_multi(m, null_input, in_counts, second, out_counts) == RANKEDGE_ERROR_ARGUMENT, "second input NULL");
  size_t wrong_out[2] = {out_counts[0], out_counts[1] + 1};
  check_error(rankedge_model_run_multi(m, inputs, in_counts, second, wrong_out) == RANKEDGE_ERROR_ARGUMENT, "second output buffer one value too large");
  float *null_output[2] = {second[0], NULL};
  check_error(rankedge_model_run_multi(m, inputs, in_counts, null_output, out_counts) == RANKEDGE_ERROR_ARGUMENT, "second output NULL");
  check_error(rankedge_model_run_multi(m, NULL, in_counts, second, out_counts) == RANKEDGE_ERROR_ARGUMENT, "NULL input array");
  check_error(rankedge_model_run_multi(m, inputs, in_counts, second, NULL) == RANKEDGE_ERROR_ARGUMENT, "NULL output size array");
  check_error(rankedge_model_input_dim(m, 2, 0) == -1, "input index 2 of 2");

  memset(second[0], 0, out_counts[0] * sizeof(float));
  memset(second[1], 0, out_counts[1] * sizeof(float));
  int s3 = rankedge_model_run_multi(m, inputs, in_counts, second, out_counts);
  check(s3 == RANKEDGE_OK && !memcmp(first[0], second[0], out_counts[0] * sizeof(float)) &&
            !memcmp(first[1], second[1], out_counts[1] * sizeof(float)),
        "after the failed calls the outputs are still the same bit for bit", s3 == RANKEDGE_OK ? NULL : rankedge_last_error());

  rankedge_model_delete(m);
  free(x0);
  free(x1);
  free(scratch);
  for (int i = 0; i < 2; i++) { free(first[i]); free(second[i]); }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "buffer")) return run_buffer(argc, argv);
  if (argc >= 2 && !strcmp(argv[1], "multi")) return run_multi(argc, argv);
  fprintf(stderr, "usage: capi_test buffer MODEL INPUT.f32 OUTPUT.f32 [--fixed-forms]\n"
                  "       capi_test multi MODEL A.f32 B.f32 OUTPUT.f32\n");
  return 2;
}
