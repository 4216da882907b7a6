//===- TensorMap.cpp - TMA descriptors of token-major tensors --------------===//

#include "TensorMap.h"

#include <string>

using namespace ringattn::runtime;

namespace {

/// The 4-D map {head_dim, heads, tokens, batch} of a token-major tensor
/// whose box is {columns, 1, rows, 1}, 128B-swizzled (columns * element
/// bytes must be 128).
ringattn_status encodeTokenMajor(const Driver &driver, CUtensorMap &map,
                                 const void *base, CUtensorMapDataType type,
                                 uint64_t element, int64_t batch,
                                 int64_t tokens, int64_t heads,
                                 int64_t headDim, int64_t rows,
                                 const char *what) {
  cuuint64_t dims[4] = {(cuuint64_t)headDim, (cuuint64_t)heads,
                        (cuuint64_t)tokens, (cuuint64_t)batch};
  cuuint64_t strides[3] = {dims[0] * element, dims[0] * dims[1] * element,
                           dims[0] * dims[1] * dims[2] * element};
  cuuint32_t box[4] = {(cuuint32_t)(128 / element), 1, (cuuint32_t)rows, 1};
  cuuint32_t elementStrides[4] = {1, 1, 1, 1};
  CUresult result = driver.tensorMapEncodeTiled(
      &map, type, 4, const_cast<void *>(base), dims, strides, box,
      elementStrides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
      CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (result != CUDA_SUCCESS)
    return checkCuda(result, (std::string("cuTensorMapEncodeTiled (") + what +
                              ")").c_str());
  return RINGATTN_OK;
}

} // namespace

ringattn_status ringattn::runtime::encodeTokenMajorMap(
    const Driver &driver, CUtensorMap &map, const void *base,
    ringattn_dtype dtype, int64_t batch, int64_t tokens, int64_t heads,
    int64_t headDim, int64_t rows, const char *what) {
  return encodeTokenMajor(driver, map, base,
                          dtype == RINGATTN_BF16
                              ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
                              : CU_TENSOR_MAP_DATA_TYPE_FLOAT16,
                          2, batch, tokens, heads, headDim, rows, what);
}

ringattn_status ringattn::runtime::encodeAccumulatorMap(
    const Driver &driver, CUtensorMap &map, float *base, int64_t batch,
    int64_t tokens, int64_t heads, int64_t headDim, int64_t rows,
    const char *what) {
  return encodeTokenMajor(driver, map, base, CU_TENSOR_MAP_DATA_TYPE_FLOAT32,
                          4, batch, tokens, heads, headDim, rows, what);
}

ringattn_status ringattn::runtime::encodeRowVectorMap(
    const Driver &driver, CUtensorMap &map, const float *base, int64_t batch,
    int64_t heads, int64_t tokens, int64_t rows, const char *what) {
  cuuint64_t dims[1] = {(cuuint64_t)(batch * heads * tokens)};
  cuuint32_t box[1] = {(cuuint32_t)(rows + kRowVectorSlack)};
  cuuint32_t elementStrides[1] = {1};
  cuuint64_t unusedStrides[1] = {16}; // a rank-1 map has no strides
  CUresult result = driver.tensorMapEncodeTiled(
      &map, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 1, const_cast<float *>(base),
      dims, unusedStrides, box, elementStrides, CU_TENSOR_MAP_INTERLEAVE_NONE,
      CU_TENSOR_MAP_SWIZZLE_NONE, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
      CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (result != CUDA_SUCCESS)
    return checkCuda(result, (std::string("cuTensorMapEncodeTiled (") + what +
                              ")").c_str());
  return RINGATTN_OK;
}
