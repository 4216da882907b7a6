//===- TensorMap.h - TMA descriptors of token-major tensors ----*- C++ -*-===//

#ifndef RINGATTN_RUNTIME_TENSORMAP_H
#define RINGATTN_RUNTIME_TENSORMAP_H

#include "Driver.h"

namespace ringattn::runtime {

/// Encodes the 4-D tensor map {head_dim, heads, tokens, batch} of a
/// [batch, tokens, heads, head_dim] tensor whose box is {64, 1, rows, 1}
/// with 128-byte swizzling: the layout the Hopper kernels load. `what` names
/// the tensor in error messages.
ringattn_status encodeTokenMajorMap(const Driver &driver, CUtensorMap &map,
                                    const void *base, ringattn_dtype dtype,
                                    int64_t batch, int64_t tokens,
                                    int64_t heads, int64_t headDim,
                                    int64_t rows, const char *what);

/// Encodes the 3-D tensor map {tokens, heads, batch} of an fp32
/// [batch, heads, tokens] tensor (LSE, Delta) whose box is {rows, 1, 1}.
ringattn_status encodeRowVectorMap(const Driver &driver, CUtensorMap &map,
                                   const float *base, int64_t batch,
                                   int64_t heads, int64_t tokens, int64_t rows,
                                   const char *what);

} // namespace ringattn::runtime

#endif // RINGATTN_RUNTIME_TENSORMAP_H
