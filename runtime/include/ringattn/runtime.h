/*===- ringattn/runtime.h - the ringattn runtime C API ----------*- C -*-===*\
|*                                                                          *|
|* Loads the kernels ringattn-gen generated (a cubin) into the device's     *|
|* primary CUDA context (shared with PyTorch) and launches them on caller-  *|
|* owned device memory and a caller stream. Every call returns a status;    *|
|* ringattn_last_error() says what was wrong, naming the failed CUDA call.  *|
|*                                                                          *|
|* Layouts: Q, K, V, O are [batch, tokens, heads, head_dim] contiguous (K/V *|
|* with kv_heads heads); LSE and the LSE accumulator are fp32 [batch,       *|
|* heads, tokens], natural log; the O accumulator is fp32 like O.           *|
\*===----------------------------------------------------------------------===*/

#ifndef RINGATTN_RUNTIME_H
#define RINGATTN_RUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define RINGATTN_API __attribute__((visibility("default")))
#else
#define RINGATTN_API
#endif

typedef enum ringattn_status {
  RINGATTN_OK = 0,
  /* A null, misaligned or out-of-range argument. */
  RINGATTN_ERROR_INVALID_ARGUMENT = 1,
  /* No CUDA driver (libcuda.so.1) could be loaded. */
  RINGATTN_ERROR_NO_DRIVER = 2,
  /* The device is not compute capability 9.0 (the kernels are sm_90a). */
  RINGATTN_ERROR_UNSUPPORTED_DEVICE = 3,
  /* A CUDA driver call failed; the message names the call. */
  RINGATTN_ERROR_CUDA = 4,
  /* A kernel name that the module does not hold. */
  RINGATTN_ERROR_NOT_FOUND = 5,
  /* A file that cannot be read. */
  RINGATTN_ERROR_IO = 6
} ringattn_status;

typedef enum ringattn_dtype {
  RINGATTN_BF16 = 0,
  RINGATTN_FP16 = 1
} ringattn_dtype;

/* What went wrong in the calling thread's last failed call ("" if none). */
RINGATTN_API const char *ringattn_last_error(void);

/* A cubin loaded on one device. */
typedef struct ringattn_module ringattn_module;

/* Loads `cubin_path` on `device` (its primary context). */
RINGATTN_API ringattn_status ringattn_module_load(const char *cubin_path,
                                                  int device,
                                                  ringattn_module **module);
RINGATTN_API ringattn_status ringattn_module_unload(ringattn_module *module);

/* One generated forward kernel, as manifest.json describes it. */
typedef struct ringattn_forward_kernel {
  const char *name;
  int64_t grid_x;       /* CTAs per (head, batch) */
  int64_t block;        /* threads per CTA */
  int64_t shared_bytes; /* dynamic shared memory */
  int64_t q_len;        /* query tokens per rank */
  int64_t kv_len;       /* key/value tokens per rank */
  int64_t heads;
  int64_t kv_heads;
  int64_t head_dim;
  ringattn_dtype dtype;
  int64_t block_m; /* query rows per CTA (TMA box of Q) */
  int64_t block_n; /* key rows per tile (TMA box of K and V) */
  int reads_accumulators; /* epilogue merge or merge_final */
  int writes_final;       /* epilogue init_final or merge_final */
} ringattn_forward_kernel;

/* The tensors of one forward step: q, k, v (16-byte aligned) and out in the
 * kernel's dtype; o_acc, lse_acc and lse in fp32. The accumulators are read
 * if the kernel reads_accumulators; the kernel writes out and lse if it
 * writes_final, else the accumulators. Pointers a kernel does not use may be
 * null. */
typedef struct ringattn_forward_args {
  const void *q;
  const void *k;
  const void *v;
  float *o_acc;
  float *lse_acc;
  void *out;
  float *lse;
  int64_t batch;
} ringattn_forward_args;

/* Launches one forward step kernel on `stream` (a CUstream; 0 = the legacy
 * default stream). */
RINGATTN_API ringattn_status
ringattn_launch_forward(ringattn_module *module,
                        const ringattn_forward_kernel *kernel,
                        const ringattn_forward_args *args, void *stream);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* RINGATTN_RUNTIME_H */
