/*===- ringattn/package.h - what ringattn-gen generates for the runtime -*- C -*-===*\
|*                                                                          *|
|* A generated package (ringattn_package.cpp in ringattn-gen's output)      *|
|* describes one configuration to the runtime: its kernels (with the cubin  *|
|* embedded), the layout's chunk map, and every rank's forward and backward *|
|* program as it stands after the schedule pipeline: transfers on named     *|
|* buffer slots, waits, computes with the kernels they launch, dK/dV        *|
|* accumulation and finalize. The runtime executes these programs; it holds *|
|* no schedule or layout logic of its own.                                  *|
\*===----------------------------------------------------------------------===*/

#ifndef RINGATTN_PACKAGE_H
#define RINGATTN_PACKAGE_H

#include "ringattn/runtime.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The package format this runtime reads (3: the main backward kernels take
 * dq_acc's tensor map; 4: a main backward kernel that reads_accumulators
 * adds into dk and dv, which the launch zeroes). */
#define RINGATTN_PACKAGE_ABI 4

typedef RINGATTN_ENUM(ringattn_op_kind) {
  RINGATTN_OP_SEND = 0,
  RINGATTN_OP_RECV = 1,
  RINGATTN_OP_WAIT = 2,
  RINGATTN_OP_COMPUTE = 3,
  RINGATTN_OP_ACCUMULATE = 4,
  RINGATTN_OP_FINALIZE = 5
} ringattn_op_kind;

typedef RINGATTN_ENUM(ringattn_buffer_kind) {
  RINGATTN_BUFFER_NONE = -1,
  RINGATTN_BUFFER_KV_LOCAL = 0,    /* the caller's k and v */
  RINGATTN_BUFFER_KV_RING = 1,     /* K/V ring slots */
  RINGATTN_BUFFER_DKV_PARTIAL = 2, /* a step's partial dK/dV (fp32) */
  RINGATTN_BUFFER_DKV_RING = 3     /* travelling dK/dV accumulators (fp32) */
} ringattn_buffer_kind;

typedef struct ringattn_buffer_ref {
  ringattn_buffer_kind kind;
  int slot;
} ringattn_buffer_ref;

/* One op of a rank program (program order is execution order). */
typedef struct ringattn_op {
  ringattn_op_kind kind;
  int step;                   /* compute */
  int hop;                    /* send, recv */
  int peer;                   /* send, recv */
  int transfer;               /* send, recv: the transfer's id */
  ringattn_buffer_ref buffer; /* send/recv: the buffer; compute: K/V read;
                                 accumulate: source; finalize: dK/dV home */
  ringattn_buffer_ref buffer2;/* compute (backward): dK/dV out;
                                 accumulate: destination */
  int kernel;                 /* compute: index into the kernels */
  int dq_kernel;              /* compute (backward): dQ kernel or -1 */
  int first_wait;             /* wait: its transfers are waits[first_wait..] */
  int num_waits;
} ringattn_op;

typedef struct ringattn_program {
  int num_ops;
  const ringattn_op *ops;
  const int *waits;   /* the transfer ids the waits name */
  int num_transfers;
  int num_waits;      /* entries in waits */
} ringattn_program;

typedef struct ringattn_package {
  int abi;                  /* RINGATTN_PACKAGE_ABI */
  const char *description;  /* e.g. "cp=4 seq=32768 heads=32/4 d=128 bf16 ..." */
  uint64_t config_hash;     /* equal on every rank of one ring */
  int64_t cp;
  int64_t seq;
  int64_t heads;
  int64_t kv_heads;
  int64_t head_dim;
  ringattn_dtype dtype;
  int causal;
  /* The layout: every rank's chunks (local order), chunk_length tokens each. */
  int64_t chunk_length;
  int64_t local_length;
  int chunks_per_rank;
  const int64_t *rank_chunks; /* [cp][chunks_per_rank] */
  /* Ring buffer slots the programs use. */
  int kv_ring_slots;
  int dkv_ring_slots;
  /* The kernels and the cubin holding them. */
  const unsigned char *cubin;
  size_t cubin_size;
  int num_kernels;
  const ringattn_kernel *kernels;
  int preprocess_kernel;
  int accumulate_kernel;
  int finalize_kernel;
  /* Per rank. */
  const ringattn_program *forward;
  const ringattn_program *backward;
} ringattn_package;

/* Checks that `package` is consistent (lengths, chunk map, kernels, every
 * rank's programs in range): RINGATTN_OK, or INVALID_ARGUMENT and a message.
 * ringattn_context_create runs it too. */
RINGATTN_API ringattn_status
ringattn_package_check(const ringattn_package *package);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* RINGATTN_PACKAGE_H */
