//===- Zigzag.cpp - sharding helpers ---------------------------------------===//
//
// A rank's tokens are its chunks of the global sequence, in local order; the
// package carries the chunk map (the layout lives in the compiler). Sharding
// and unsharding are strided copies, one per chunk, on the caller's stream.
//
//===----------------------------------------------------------------------===//

#include "Driver.h"
#include "Package.h"
#include "ringattn/package.h"

#include <cstdint>
#include <string>

using namespace ringattn::runtime;

namespace {


/// Copies every chunk of `rank` between the full and the local layout.
ringattn_status copyChunks(const ringattn_package *p, int rank, const void *from,
                           void *to, int64_t batch, int64_t rowBytes,
                           void *stream, bool toLocal) {
  RINGATTN_TRY(checkPackageLayout(p, rank));
  RINGATTN_TRY(checkPointer(from, 1, toLocal ? "full" : "local"));
  RINGATTN_TRY(checkPointer(to, 1, toLocal ? "local" : "full"));
  if (batch < 1)
    return invalid("batch must be positive");
  if (rowBytes < 1)
    return invalid("row_bytes must be positive");
  // The largest byte offset is batch * seq * rowBytes (the full sequence);
  // it must fit in 64 bits (checkPackageLayout bounds seq and batch).
  __int128 fullBytes = static_cast<__int128>(p->seq) * rowBytes * batch;
  if (fullBytes > static_cast<__int128>(INT64_MAX))
    return invalid("row_bytes " + std::to_string(rowBytes) + " with seq " +
                   std::to_string(p->seq) + " and batch " +
                   std::to_string(batch) +
                   " overflows 64-bit byte offsets");
  const Driver *d = nullptr;
  RINGATTN_TRY(loadDriver(d));
  int64_t chunkBytes = p->chunk_length * rowBytes;
  for (int i = 0; i < p->chunks_per_rank; ++i) {
    int64_t chunk = p->rank_chunks[rank * p->chunks_per_rank + i];
    CUDA_MEMCPY2D copy{};
    copy.srcMemoryType = copy.dstMemoryType = CU_MEMORYTYPE_DEVICE;
    int64_t fullOffset = chunk * chunkBytes, localOffset = i * chunkBytes;
    int64_t fullPitch = p->seq * rowBytes,
            localPitch = p->local_length * rowBytes;
    copy.srcDevice = reinterpret_cast<CUdeviceptr>(from) +
                     (toLocal ? fullOffset : localOffset);
    copy.srcPitch = toLocal ? fullPitch : localPitch;
    copy.dstDevice = reinterpret_cast<CUdeviceptr>(to) +
                     (toLocal ? localOffset : fullOffset);
    copy.dstPitch = toLocal ? localPitch : fullPitch;
    copy.WidthInBytes = chunkBytes;
    copy.Height = batch;
    RINGATTN_TRY(checkCuda(
        d->memcpy2DAsync(&copy, static_cast<CUstream>(stream)),
        "cuMemcpy2DAsync (is a CUDA context current on this thread?)"));
  }
  return succeed();
}

} // namespace

extern "C" ringattn_status ringattn_shard(const ringattn_package *package,
                                          int rank, const void *full,
                                          void *local, int64_t batch,
                                          int64_t rowBytes, void *stream) {
  return copyChunks(package, rank, full, local, batch, rowBytes, stream, true);
}

extern "C" ringattn_status ringattn_unshard(const ringattn_package *package,
                                            int rank, const void *local,
                                            void *full, int64_t batch,
                                            int64_t rowBytes, void *stream) {
  return copyChunks(package, rank, local, full, batch, rowBytes, stream, false);
}

extern "C" ringattn_status ringattn_position_ids(const ringattn_package *package,
                                                 int rank, int64_t *ids,
                                                 int64_t count) {
  RINGATTN_TRY(checkPackageLayout(package, rank));
  if (!ids)
    return invalid("ids is null");
  if (count != package->local_length)
    return invalid("ids holds " + std::to_string(count) +
                   " entries; rank " + std::to_string(rank) + " has " +
                   std::to_string(package->local_length) + " tokens");
  for (int i = 0; i < package->chunks_per_rank; ++i) {
    int64_t chunk = package->rank_chunks[rank * package->chunks_per_rank + i];
    for (int64_t t = 0; t < package->chunk_length; ++t)
      ids[i * package->chunk_length + t] = chunk * package->chunk_length + t;
  }
  return succeed();
}
