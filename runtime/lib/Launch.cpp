//===- Launch.cpp - the launch functions of the C API ----------------------===//
//
// One function per kernel role: argument checks first (they need no GPU),
// then the tensor maps and the launch, each driver call checked.
//
//===----------------------------------------------------------------------===//

#include "Error.h"
#include "Module.h"
#include "TensorMap.h"

#include <string>

using namespace ringattn::runtime;

namespace {

const char *roleName(ringattn_kernel_role role) {
  switch (role) {
  case RINGATTN_KERNEL_FORWARD:
    return "forward";
  case RINGATTN_KERNEL_BACKWARD:
    return "backward";
  case RINGATTN_KERNEL_BACKWARD_DQ:
    return "backward_dq";
  case RINGATTN_KERNEL_PREPROCESS:
    return "preprocess";
  case RINGATTN_KERNEL_ACCUMULATE:
    return "accumulate";
  case RINGATTN_KERNEL_FINALIZE:
    return "finalize";
  }
  return "unknown";
}

/// The checks every launch makes: the handles, the kernel's shape, its role,
/// the batch.
ringattn_status checkCommon(ringattn_module *module, const ringattn_kernel *k,
                            std::initializer_list<ringattn_kernel_role> roles,
                            int64_t batch) {
  if (!module)
    return invalid("module is null");
  if (!k)
    return invalid("kernel is null");
  if (!k->name || !*k->name)
    return invalid("kernel has no name");
  std::string name = std::string("kernel ") + k->name + ": ";
  bool roleOk = false;
  for (ringattn_kernel_role role : roles)
    roleOk |= k->role == role;
  if (!roleOk)
    return invalid(name + "a " + roleName(k->role) +
                   " kernel cannot be launched as " + roleName(*roles.begin()));
  if (k->head_dim != 64 && k->head_dim != 128)
    return invalid(name + "head_dim must be 64 or 128 (got " +
                   std::to_string(k->head_dim) + ")");
  if (k->dtype != RINGATTN_BF16 && k->dtype != RINGATTN_FP16)
    return invalid(name + "dtype must be bf16 or fp16");
  if (k->heads < 1 || k->kv_heads < 1 || k->heads % k->kv_heads != 0 ||
      k->heads > 65535)
    return invalid(name + "heads (" + std::to_string(k->heads) +
                   ") must be in [1, 65535] and a multiple of kv_heads (" +
                   std::to_string(k->kv_heads) + ")");
  if (k->q_len < 1 || k->kv_len < 1)
    return invalid(name + "q_len and kv_len must be positive");
  bool tiled = k->role == RINGATTN_KERNEL_FORWARD ||
               k->role == RINGATTN_KERNEL_BACKWARD ||
               k->role == RINGATTN_KERNEL_BACKWARD_DQ;
  // A tiled kernel's work items run along the grid's y (at most 65535).
  if (k->grid_x < 1 || k->grid_x > (tiled ? 65535 : 0x7FFFFFFF))
    return invalid(name + "grid_x out of range");
  if (k->block < 32 || k->block > 1024 || k->block % 32 != 0)
    return invalid(name + "block must be a multiple of 32 in [32, 1024]");
  if (k->shared_bytes < 0 || k->shared_bytes > 232448)
    return invalid(name + "shared_bytes out of range [0, 232448]");
  if (tiled && (k->q_rows < 1 || k->q_rows > 256 || k->kv_rows < 1 ||
                k->kv_rows > 256))
    return invalid(name + "q_rows and kv_rows must be in [1, 256]");
  if (batch < 1 || batch > 65535)
    return invalid("batch must be in [1, 65535] (got " +
                   std::to_string(batch) + ")");
  return RINGATTN_OK;
}

/// The tensor maps of Q, K and V (token-major [batch, len, heads, head_dim])
/// into maps[0..2]. (CUtensorMap carries its own alignment.)
ringattn_status encodeQkv(const Driver &d, CUtensorMap *maps,
                          const ringattn_kernel &k, int64_t batch,
                          const void *q, const void *kk, const void *v) {
  RINGATTN_TRY(encodeTokenMajorMap(d, maps[0], q, k.dtype, batch, k.q_len,
                                   k.heads, k.head_dim, k.q_rows, "q"));
  RINGATTN_TRY(encodeTokenMajorMap(d, maps[1], kk, k.dtype, batch, k.kv_len,
                                   k.kv_heads, k.head_dim, k.kv_rows, "k"));
  return encodeTokenMajorMap(d, maps[2], v, k.dtype, batch, k.kv_len,
                             k.kv_heads, k.head_dim, k.kv_rows, "v");
}

/// A tiled kernel: heads along the grid's x, its work items (heaviest
/// first) along y, so every head's heaviest item is issued before any
/// lighter one; the batch along z.
ringattn_status launchTiled(ringattn_module &module, const ringattn_kernel &k,
                            int64_t heads, int64_t batch, void **params,
                            void *stream) {
  return launchKernel(module, k, static_cast<unsigned>(heads),
                      static_cast<unsigned>(k.grid_x),
                      static_cast<unsigned>(batch), params, stream);
}

} // namespace

extern "C" ringattn_status
ringattn_launch_forward(ringattn_module *module, const ringattn_kernel *kernel,
                        const ringattn_forward_args *args, void *stream) {
  if (!args)
    return invalid("args is null");
  RINGATTN_TRY(checkCommon(module, kernel, {RINGATTN_KERNEL_FORWARD},
                           args->batch));
  const ringattn_kernel &k = *kernel;
  const ringattn_forward_args &a = *args;
  RINGATTN_TRY(checkPointer(a.q, 16, "q"));
  RINGATTN_TRY(checkPointer(a.k, 16, "k"));
  RINGATTN_TRY(checkPointer(a.v, 16, "v"));
  if (k.reads_accumulators || !k.writes_final) {
    RINGATTN_TRY(checkPointer(a.o_acc, 8, "o_acc"));
    RINGATTN_TRY(checkPointer(a.lse_acc, 4, "lse_acc"));
  }
  if (k.writes_final) {
    RINGATTN_TRY(checkPointer(a.out, 4, "out"));
    RINGATTN_TRY(checkPointer(a.lse, 4, "lse"));
  }
  const Driver *d = nullptr;
  RINGATTN_TRY(moduleDriver(*module, d));
  CUtensorMap maps[3];
  RINGATTN_TRY(encodeQkv(*d, maps, k, a.batch, a.q, a.k, a.v));
  float *oAcc = a.o_acc, *lseAcc = a.lse_acc, *lse = a.lse;
  void *out = a.out;
  void *params[] = {&maps[0], &maps[1], &maps[2], &oAcc, &lseAcc, &out, &lse};
  RINGATTN_TRY(launchTiled(*module, k, k.heads, a.batch, params, stream));
  return succeed();
}

extern "C" ringattn_status
ringattn_launch_backward(ringattn_module *module, const ringattn_kernel *kernel,
                         const ringattn_backward_args *args, void *stream) {
  if (!args)
    return invalid("args is null");
  RINGATTN_TRY(checkCommon(
      module, kernel, {RINGATTN_KERNEL_BACKWARD, RINGATTN_KERNEL_BACKWARD_DQ},
      args->batch));
  const ringattn_kernel &k = *kernel;
  const ringattn_backward_args &a = *args;
  bool main = k.role == RINGATTN_KERNEL_BACKWARD;
  RINGATTN_TRY(checkPointer(a.q, 16, "q"));
  RINGATTN_TRY(checkPointer(a.k, 16, "k"));
  RINGATTN_TRY(checkPointer(a.v, 16, "v"));
  RINGATTN_TRY(checkPointer(a.dout, 16, "dout"));
  RINGATTN_TRY(checkPointer(a.lse, 16, "lse"));
  RINGATTN_TRY(checkPointer(a.delta, 16, "delta"));
  RINGATTN_TRY(checkPointer(a.dq_acc, 16, "dq_acc"));
  if (main) {
    RINGATTN_TRY(checkPointer(a.dk, 8, "dk"));
    RINGATTN_TRY(checkPointer(a.dv, 8, "dv"));
  }
  if (k.q_rows % 4 != 0 || k.q_rows + kRowVectorSlack > 256)
    return invalid("kernel " + std::string(k.name) + ": q_rows (" +
                   std::to_string(k.q_rows) +
                   ") must be a multiple of 4 and at most " +
                   std::to_string(256 - kRowVectorSlack) +
                   " (its lse and delta boxes carry " +
                   std::to_string(kRowVectorSlack) + " floats more)");
  if (!rowVectorMapFits(a.batch, k.heads, k.q_len))
    return invalid("batch " + std::to_string(a.batch) + " x heads " +
                   std::to_string(k.heads) + " x q_len " +
                   std::to_string(k.q_len) +
                   " exceeds what the kernels address in lse and delta (2^31 - " +
                   std::to_string(1 + kRowVectorSlack) +
                   " elements): use a smaller batch per call");
  const Driver *d = nullptr;
  RINGATTN_TRY(moduleDriver(*module, d));
  // The main kernel takes a seventh map, dq_acc's, for the reductions of
  // its non-deterministic form.
  CUtensorMap maps[7];
  RINGATTN_TRY(encodeQkv(*d, maps, k, a.batch, a.q, a.k, a.v));
  RINGATTN_TRY(encodeTokenMajorMap(*d, maps[3], a.dout, k.dtype, a.batch,
                                   k.q_len, k.heads, k.head_dim, k.q_rows,
                                   "dout"));
  RINGATTN_TRY(encodeRowVectorMap(*d, maps[4], a.lse, a.batch, k.heads,
                                  k.q_len, k.q_rows, "lse"));
  RINGATTN_TRY(encodeRowVectorMap(*d, maps[5], a.delta, a.batch, k.heads,
                                  k.q_len, k.q_rows, "delta"));
  float *dqAcc = a.dq_acc, *dk = a.dk, *dv = a.dv;
  if (main) {
    if (k.reads_accumulators) {
      // The reducing kernel adds each query head's dK and dV to dk and dv.
      size_t count = static_cast<size_t>(a.batch) * k.kv_len * k.kv_heads *
                     k.head_dim;
      for (float *partial : {dk, dv})
        RINGATTN_TRY(checkCuda(
            d->memsetD32Async(reinterpret_cast<CUdeviceptr>(partial), 0,
                              count, static_cast<CUstream>(stream)),
            "cuMemsetD32Async"));
    }
    RINGATTN_TRY(encodeAccumulatorMap(*d, maps[6], a.dq_acc, a.batch, k.q_len,
                                      k.heads, k.head_dim, k.q_rows,
                                      "dq_acc"));
    void *params[] = {&maps[0], &maps[1], &maps[2], &maps[3], &maps[4],
                      &maps[5], &maps[6], &dqAcc,   &dk,      &dv};
    RINGATTN_TRY(launchTiled(*module, k, k.kv_heads, a.batch, params, stream));
  } else {
    void *params[] = {&maps[0], &maps[1], &maps[2], &maps[3],
                      &maps[4], &maps[5], &dqAcc};
    RINGATTN_TRY(launchTiled(*module, k, k.heads, a.batch, params, stream));
  }
  return succeed();
}

extern "C" ringattn_status ringattn_launch_preprocess(
    ringattn_module *module, const ringattn_kernel *kernel, const void *out,
    const void *dout, float *delta, float *dqAcc, int64_t batch,
    void *stream) {
  RINGATTN_TRY(
      checkCommon(module, kernel, {RINGATTN_KERNEL_PREPROCESS}, batch));
  RINGATTN_TRY(checkPointer(out, 16, "out"));
  RINGATTN_TRY(checkPointer(dout, 16, "dout"));
  RINGATTN_TRY(checkPointer(delta, 4, "delta"));
  RINGATTN_TRY(checkPointer(dqAcc, 16, "dq_acc"));
  void *params[] = {&out, &dout, &delta, &dqAcc};
  RINGATTN_TRY(launchKernel(*module, *kernel,
                            static_cast<unsigned>(kernel->grid_x),
                            static_cast<unsigned>(batch), 1, params, stream));
  return succeed();
}

extern "C" ringattn_status
ringattn_launch_accumulate(ringattn_module *module,
                           const ringattn_kernel *kernel, float *dst,
                           const float *src, int64_t batch, void *stream) {
  RINGATTN_TRY(
      checkCommon(module, kernel, {RINGATTN_KERNEL_ACCUMULATE}, batch));
  RINGATTN_TRY(checkPointer(dst, 16, "dst"));
  RINGATTN_TRY(checkPointer(src, 16, "src"));
  void *params[] = {&dst, &src};
  // Grid y: the dK half of every sequence, then the dV half.
  RINGATTN_TRY(launchKernel(*module, *kernel,
                            static_cast<unsigned>(kernel->grid_x),
                            static_cast<unsigned>(2 * batch), 1, params,
                            stream));
  return succeed();
}

extern "C" ringattn_status ringattn_launch_finalize(
    ringattn_module *module, const ringattn_kernel *kernel,
    const float *dqAcc, const float *dkAcc, const float *dvAcc, void *dq,
    void *dk, void *dv, int64_t batch, void *stream) {
  RINGATTN_TRY(checkCommon(module, kernel, {RINGATTN_KERNEL_FINALIZE}, batch));
  RINGATTN_TRY(checkPointer(dqAcc, 16, "dq_acc"));
  RINGATTN_TRY(checkPointer(dkAcc, 16, "dk_acc"));
  RINGATTN_TRY(checkPointer(dvAcc, 16, "dv_acc"));
  RINGATTN_TRY(checkPointer(dq, 8, "dq"));
  RINGATTN_TRY(checkPointer(dk, 8, "dk"));
  RINGATTN_TRY(checkPointer(dv, 8, "dv"));
  void *params[] = {&dqAcc, &dkAcc, &dvAcc, &dq, &dk, &dv};
  RINGATTN_TRY(launchKernel(*module, *kernel,
                            static_cast<unsigned>(kernel->grid_x),
                            static_cast<unsigned>(batch), 1, params, stream));
  return succeed();
}
