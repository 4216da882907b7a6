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

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define RINGATTN_API __attribute__((visibility("default")))
#else
#define RINGATTN_API
#endif

/* The enums are ints at the ABI. In C++ they get that as a fixed underlying
   type, so any int a C or Python caller passes is a value of the enum (the
   runtime's checks refuse the ones it does not know) rather than undefined
   behaviour. */
#ifdef __cplusplus
#define RINGATTN_ENUM(name) enum name : int
#else
#define RINGATTN_ENUM(name) enum name
#endif

typedef RINGATTN_ENUM(ringattn_status) {
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
  RINGATTN_ERROR_IO = 6,
  /* NCCL could not be loaded, or a NCCL call failed. */
  RINGATTN_ERROR_NCCL = 7,
  /* The ranks of a ring were built for different configurations. */
  RINGATTN_ERROR_CONFIG_MISMATCH = 8,
  /* The ring did not progress within the context's time bound (a peer that
   * exited or never called); the communicator was aborted. Over the copy
   * engines also, at once, a peer that exited or whose context failed. */
  RINGATTN_ERROR_TIMEOUT = 9,
  /* The context failed earlier (its error is sticky); destroy it. */
  RINGATTN_ERROR_CONTEXT_FAILED = 10
} ringattn_status;

typedef RINGATTN_ENUM(ringattn_dtype) {
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
/* Loads a cubin image already in memory (`size` bytes). */
RINGATTN_API ringattn_status ringattn_module_load_image(const void *image,
                                                        size_t size, int device,
                                                        ringattn_module **module);
RINGATTN_API ringattn_status ringattn_module_unload(ringattn_module *module);

/* What a generated kernel does (manifest.json "role"). */
typedef RINGATTN_ENUM(ringattn_kernel_role) {
  RINGATTN_KERNEL_FORWARD = 0,
  RINGATTN_KERNEL_BACKWARD = 1,    /* dK, dV (and dQ with atomics) */
  RINGATTN_KERNEL_BACKWARD_DQ = 2, /* dQ of the deterministic backward */
  RINGATTN_KERNEL_PREPROCESS = 3,  /* Delta = rowsum(dO * O), dQ acc = 0 */
  RINGATTN_KERNEL_ACCUMULATE = 4,  /* dK/dV accumulator += partial */
  RINGATTN_KERNEL_FINALIZE = 5     /* dQ, dK, dV in the input dtype */
} ringattn_kernel_role;

/* One generated kernel, as manifest.json describes it. */
typedef struct ringattn_kernel {
  const char *name;
  ringattn_kernel_role role;
  int64_t grid_x;       /* CTAs per (head, batch): a tiled kernel's work
                           items, launched along the grid's y (heads on x;
                           a backward kernel that reads_accumulators runs
                           heads / kv_heads CTAs per item and K/V head) */
  int64_t block;        /* threads per CTA */
  int64_t shared_bytes; /* dynamic shared memory */
  int64_t q_len;        /* query tokens per rank */
  int64_t kv_len;       /* key/value tokens per rank */
  int64_t heads;
  int64_t kv_heads;
  int64_t head_dim;
  ringattn_dtype dtype;
  int64_t q_rows;  /* rows of the Q (and dO, LSE, Delta) tiles it loads */
  int64_t kv_rows; /* rows of the K and V tiles it loads */
  int reads_accumulators; /* forward: epilogue merge or merge_final;
                             backward: adds each query head's dK and dV
                             to dk and dv (the launch zeroes them first) */
  int writes_final;       /* forward: epilogue init_final or merge_final */
} ringattn_kernel;

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
RINGATTN_API ringattn_status ringattn_launch_forward(
    ringattn_module *module, const ringattn_kernel *kernel,
    const ringattn_forward_args *args, void *stream);

/* The tensors of one backward step: q, k, v, dout (16-byte aligned, input
 * dtype), the final lse and delta (fp32 [batch, heads, q_len], 16-byte
 * aligned), the fp32 dQ accumulator (dq_acc, like q, 16-byte aligned) and the step's fp32
 * dK and dV outputs for the visiting shard (like k; overwritten). */
typedef struct ringattn_backward_args {
  const void *q;
  const void *k;
  const void *v;
  const void *dout;
  const float *lse;
  const float *delta;
  float *dq_acc;
  float *dk;
  float *dv;
  int64_t batch;
} ringattn_backward_args;

/* Launches a backward step kernel (role BACKWARD: dq_acc, dk, dv; role
 * BACKWARD_DQ: dq_acc only). dk and dv are overwritten either way: before a
 * kernel that reads_accumulators, the launch zeroes them on `stream`. The kernels address lse and delta with 32-bit
 * coordinates: batch * heads * q_len must stay below 2^31 - 4 (refused
 * otherwise). */
RINGATTN_API ringattn_status ringattn_launch_backward(
    ringattn_module *module, const ringattn_kernel *kernel,
    const ringattn_backward_args *args, void *stream);

/* Role PREPROCESS: delta = rowsum(dout * out) and dq_acc = 0, once per rank
 * before the first backward step. */
RINGATTN_API ringattn_status ringattn_launch_preprocess(
    ringattn_module *module, const ringattn_kernel *kernel, const void *out,
    const void *dout, float *delta, float *dq_acc, int64_t batch,
    void *stream);

/* Role ACCUMULATE: dst += src over a dK/dV buffer of 2 * batch * kv_len *
 * kv_heads * head_dim floats (dK of every sequence, then dV). */
RINGATTN_API ringattn_status ringattn_launch_accumulate(
    ringattn_module *module, const ringattn_kernel *kernel, float *dst,
    const float *src, int64_t batch, void *stream);

/* Role FINALIZE: dq = scale * dq_acc, dk = dk_acc, dv = dv_acc, in the input
 * dtype. */
RINGATTN_API ringattn_status ringattn_launch_finalize(
    ringattn_module *module, const ringattn_kernel *kernel,
    const float *dq_acc, const float *dk_acc, const float *dv_acc, void *dq,
    void *dk, void *dv, int64_t batch, void *stream);

/*===------------------------------------------------------------------===*\
|* The ring: a context per rank runs the generated forward and backward    *|
|* programs, moving K/V (and dK/dV) between ranks with NCCL on a           *|
|* communication stream of its own, overlapped with the kernels on the     *|
|* caller's stream. Nothing in forward or backward synchronizes the host;  *|
|* both can be captured in a CUDA graph.                                   *|
|*                                                                          *|
|* The environment's RINGATTN_TRANSPORT picks how hops move, the same on    *|
|* every rank: "nccl" (the default) or "ce", the copy engines: each rank    *|
|* maps its peers' receive buffers (all ranks on one host, meeting over     *|
|* Unix sockets named after the unique id; peer access between every pair  *|
|* of GPUs, or one GPU for all) and copies into them without an SM and     *|
|* without NCCL (docs/ce-transport.md). Any other value is refused.        *|
\*===------------------------------------------------------------------===*/

struct ringattn_package; /* ringattn/package.h: what ringattn-gen generated */
typedef struct ringattn_context ringattn_context;

/* NCCL's ncclUniqueId (random bytes naming the ring's sockets with
 * RINGATTN_TRANSPORT=ce). Rank 0 makes one; every rank passes the same. */
typedef struct ringattn_unique_id {
  char internal[128];
} ringattn_unique_id;

RINGATTN_API ringattn_status ringattn_get_unique_id(ringattn_unique_id *id);

/* Creates rank `rank`'s context for `package` on `device` for `batch`
 * sequences: loads the kernels, allocates the ring buffers and the fp32
 * accumulators, joins the ring (id is ignored for cp = 1, which uses no
 * NCCL) and checks that every rank was built for the same configuration.
 * `timeout_ms` bounds every wait for a peer (creation, and the watchdog of
 * forward and backward); 0 means 300000. batch * heads * local_length must
 * stay below 2^31 - 4 (the backward's limit; refused otherwise). */
RINGATTN_API ringattn_status ringattn_context_create(
    const struct ringattn_package *package, int rank, int device,
    int64_t batch, const ringattn_unique_id *id, int64_t timeout_ms,
    ringattn_context **context);
RINGATTN_API ringattn_status ringattn_context_destroy(ringattn_context *context);

/* Calls on one context reuse its ring buffers: issue them on one stream, or
 * order the streams yourself (an event), so one call's kernels finish before
 * the next call's transfers overwrite the buffers. One context per thread at
 * a time.
 *
 * Forward of this rank's shard: q [batch, local_length, heads, head_dim],
 * k, v [batch, local_length, kv_heads, head_dim] in the package's dtype (the
 * rank's zigzag or contiguous shard) -> out (like q) and lse (fp32 [batch,
 * heads, local_length]), on `stream` (a CUstream). */
RINGATTN_API ringattn_status
ringattn_forward(ringattn_context *context, const void *q, const void *k,
                 const void *v, void *out, float *lse, void *stream);

/* Backward: dq (like q), dk, dv (like k) from dout and the forward's
 * inputs and outputs. */
RINGATTN_API ringattn_status ringattn_backward(
    ringattn_context *context, const void *dout, const void *q, const void *k,
    const void *v, const void *out, const float *lse, void *dq, void *dk,
    void *dv, void *stream);

/* Waits (polling, at most `timeout_ms`; 0 = the context's bound) until the
 * work this context enqueued has finished; a failed ring (NCCL error, a peer
 * that never answers) returns its error here, after aborting the
 * communicator, instead of hanging. */
RINGATTN_API ringattn_status ringattn_context_wait(ringattn_context *context,
                                                   int64_t timeout_ms);

/* The context's sticky error (RINGATTN_OK if none), without waiting. */
RINGATTN_API ringattn_status ringattn_context_status(ringattn_context *context);

/* The timeline of the last forward or backward, if enabled (it records
 * timing events around every kernel and transfer group): one entry per
 * compute (kind 0: step, its start and end) and per transfer group (kind 1:
 * its first hop, start and end), in milliseconds from the call's start.
 * `count` receives the number of entries (at most `capacity`). */
typedef struct ringattn_timeline_entry {
  int kind;
  int step;
  float start_ms;
  float end_ms;
} ringattn_timeline_entry;
RINGATTN_API ringattn_status ringattn_context_set_timeline(
    ringattn_context *context, int enabled);
RINGATTN_API ringattn_status ringattn_context_timeline(
    ringattn_context *context, ringattn_timeline_entry *entries, int capacity,
    int *count);

/* For measuring overlap only: with transfers disabled the context runs the
 * same program but posts no NCCL transfers (the ring buffers keep whatever
 * they hold, so the results are wrong). Enabled by default. */
RINGATTN_API ringattn_status ringattn_context_set_transfers(
    ringattn_context *context, int enabled);

/* Zigzag (or contiguous) helpers, following the package's chunk map.
 * shard: full [batch, seq, row] -> this rank's local [batch, local_length,
 * row]; unshard: the reverse (this rank's tokens only). `row_bytes` is the
 * bytes of one token (heads * head_dim * element size). Asynchronous copies
 * on `stream`; no kernel. */
RINGATTN_API ringattn_status ringattn_shard(
    const struct ringattn_package *package, int rank, const void *full,
    void *local, int64_t batch, int64_t row_bytes, void *stream);
RINGATTN_API ringattn_status ringattn_unshard(
    const struct ringattn_package *package, int rank, const void *local,
    void *full, int64_t batch, int64_t row_bytes, void *stream);
/* The global position (RoPE index) of each of the rank's local tokens. */
RINGATTN_API ringattn_status
ringattn_position_ids(const struct ringattn_package *package, int rank,
                      int64_t *ids, int64_t count);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* RINGATTN_RUNTIME_H */
