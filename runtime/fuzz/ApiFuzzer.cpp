//===- ApiFuzzer.cpp - the runtime's C API under arbitrary arguments -------===//
//
// libFuzzer target: the input picks a call of the C API and its arguments:
// kernel descriptions, packages (arrays sized as they declare, contents
// arbitrary), counts, pointers that are null, misaligned or real host
// buffers, and cubin paths of every kind (missing, a directory, an empty
// file, a file of fuzzed bytes) in a scratch directory. Module and context
// handles are real objects of the runtime's own
// types, never loaded: on a machine without a GPU every call that passes its
// checks stops at the driver. A refusal is fine; a crash, an out-of-bounds
// read or write, undefined behaviour or a leak is a bug.
//
//===----------------------------------------------------------------------===//

#include "Module.h"
#include "ringattn/package.h"
#include "ringattn/runtime.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

alignas(64) unsigned char gBuffer[4096];

/// Null, a 16-byte aligned buffer, or a pointer misaligned by 1..15.
void *pointer(FuzzedDataProvider &in) {
  switch (in.ConsumeIntegralInRange(0, 2)) {
  case 0:
    return nullptr;
  case 1:
    return gBuffer;
  default:
    return gBuffer + in.ConsumeIntegralInRange(1, 15);
  }
}

/// A scratch directory with an empty file and a file the fuzzer writes,
/// removed at exit.
struct ScratchFiles {
  std::string dir, empty, image;
  ScratchFiles() {
    char name[] = "/tmp/ringattn-api-fuzzer.XXXXXX";
    if (!mkdtemp(name))
      std::abort();
    dir = name;
    empty = dir + "/empty.cubin";
    image = dir + "/image.cubin";
    std::ofstream(empty, std::ios::binary);
  }
  ~ScratchFiles() {
    std::remove(empty.c_str());
    std::remove(image.c_str());
    std::remove(dir.c_str());
  }
};

/// A path of each kind the loader meets: null, empty, missing, a directory,
/// an empty file, or a file holding `contents`. (A path made of fuzzed bytes
/// would read whatever the machine holds, /dev/zero included.)
const char *path(FuzzedDataProvider &in, const std::string &contents) {
  static ScratchFiles files;
  static std::string missing = files.dir + "/missing.cubin";
  switch (in.ConsumeIntegralInRange(0, 5)) {
  case 0:
    return nullptr;
  case 1:
    return "";
  case 2:
    return missing.c_str();
  case 3:
    return files.dir.c_str();
  case 4:
    return files.empty.c_str();
  default:
    std::ofstream(files.image, std::ios::binary | std::ios::trunc) << contents;
    return files.image.c_str();
  }
}

ringattn_kernel kernel(FuzzedDataProvider &in) {
  ringattn_kernel k{};
  k.name = in.ConsumeBool() ? "k" : (in.ConsumeBool() ? "" : nullptr);
  k.role = static_cast<ringattn_kernel_role>(in.ConsumeIntegralInRange(-1, 6));
  k.grid_x = in.ConsumeIntegral<int64_t>();
  k.block = in.ConsumeIntegral<int64_t>();
  k.shared_bytes = in.ConsumeIntegral<int64_t>();
  k.q_len = in.ConsumeIntegral<int64_t>();
  k.kv_len = in.ConsumeIntegral<int64_t>();
  k.heads = in.ConsumeIntegral<int64_t>();
  k.kv_heads = in.ConsumeIntegral<int64_t>();
  k.head_dim = in.ConsumeBool() ? 128 : in.ConsumeIntegral<int64_t>();
  k.dtype = static_cast<ringattn_dtype>(in.ConsumeIntegralInRange(-1, 2));
  k.q_rows = in.ConsumeIntegral<int64_t>();
  k.kv_rows = in.ConsumeIntegral<int64_t>();
  k.reads_accumulators = in.ConsumeBool();
  k.writes_final = in.ConsumeBool();
  return k;
}

/// A package whose arrays hold as many entries as it declares.
struct FuzzedPackage {
  std::vector<int64_t> chunks;
  std::vector<ringattn_kernel> kernels;
  std::vector<std::vector<ringattn_op>> ops;
  std::vector<std::vector<int>> waits;
  std::vector<ringattn_program> forward, backward;
  unsigned char cubin[4] = {1, 2, 3, 4};
  ringattn_package p{};

  explicit FuzzedPackage(FuzzedDataProvider &in) {
    p.abi = in.ConsumeBool() ? RINGATTN_PACKAGE_ABI : in.ConsumeIntegral<int>();
    p.description = "fuzzed";
    p.cp = in.ConsumeIntegralInRange<int64_t>(-1, 9);
    p.chunks_per_rank = in.ConsumeIntegralInRange(0, 3);
    p.chunk_length = in.ConsumeIntegralInRange<int64_t>(-2, 64);
    p.local_length = in.ConsumeBool() ? p.chunks_per_rank * p.chunk_length
                                      : in.ConsumeIntegral<int64_t>();
    // cp * local_length wraps (in unsigned arithmetic) for a random
    // local_length: the runtime must refuse it like any other mismatch.
    p.seq = in.ConsumeBool() ? static_cast<int64_t>(
                                   static_cast<uint64_t>(p.cp) *
                                   static_cast<uint64_t>(p.local_length))
                             : in.ConsumeIntegral<int64_t>();
    p.heads = in.ConsumeIntegralInRange<int64_t>(-1, 70000);
    p.kv_heads = in.ConsumeIntegralInRange<int64_t>(-1, 64);
    p.head_dim = in.ConsumeBool() ? 64 : in.ConsumeIntegral<int64_t>();
    p.dtype = static_cast<ringattn_dtype>(in.ConsumeIntegralInRange(-1, 2));
    int64_t cp = std::max<int64_t>(p.cp, 0);
    int64_t numChunks = cp * std::max(p.chunks_per_rank, 0);
    for (int64_t i = 0; i < numChunks; ++i)
      chunks.push_back(in.ConsumeIntegralInRange<int64_t>(-1, numChunks));
    p.rank_chunks = in.ConsumeBool() ? chunks.data() : nullptr;
    p.kv_ring_slots = in.ConsumeIntegralInRange(-1, 9);
    p.dkv_ring_slots = in.ConsumeIntegralInRange(-1, 9);
    p.cubin = cubin;
    p.cubin_size = in.ConsumeBool() ? sizeof(cubin) : 0;
    int numKernels = in.ConsumeIntegralInRange(0, 6);
    for (int i = 0; i < numKernels; ++i)
      kernels.push_back(kernel(in));
    p.num_kernels = numKernels;
    p.kernels = kernels.data();
    p.preprocess_kernel = in.ConsumeIntegralInRange(-1, 6);
    p.accumulate_kernel = in.ConsumeIntegralInRange(-1, 6);
    p.finalize_kernel = in.ConsumeIntegralInRange(-1, 6);
    ops.resize(2 * cp);
    waits.resize(2 * cp);
    for (int64_t i = 0; i < 2 * cp; ++i) {
      int numOps = in.ConsumeIntegralInRange(0, 8);
      for (int j = 0; j < numOps; ++j) {
        ringattn_op op{};
        op.kind = static_cast<ringattn_op_kind>(in.ConsumeIntegralInRange(-1, 6));
        op.step = in.ConsumeIntegralInRange(-1, 9);
        op.hop = in.ConsumeIntegralInRange(-1, 9);
        op.peer = in.ConsumeIntegralInRange(-1, 9);
        op.transfer = in.ConsumeIntegralInRange(-1, 9);
        op.buffer = {static_cast<ringattn_buffer_kind>(in.ConsumeIntegralInRange(-2, 4)),
                     in.ConsumeIntegralInRange(-1, 9)};
        op.buffer2 = {static_cast<ringattn_buffer_kind>(in.ConsumeIntegralInRange(-2, 4)),
                      in.ConsumeIntegralInRange(-1, 9)};
        op.kernel = in.ConsumeIntegralInRange(-1, 7);
        op.dq_kernel = in.ConsumeIntegralInRange(-2, 7);
        op.first_wait = in.ConsumeIntegralInRange(-1, 9);
        op.num_waits = in.ConsumeIntegralInRange(-1, 9);
        ops[i].push_back(op);
      }
      int numWaits = in.ConsumeIntegralInRange(0, 6);
      for (int j = 0; j < numWaits; ++j)
        waits[i].push_back(in.ConsumeIntegralInRange(-1, 9));
      ringattn_program program{static_cast<int>(ops[i].size()), ops[i].data(),
                               waits[i].data(),
                               in.ConsumeIntegralInRange(-1, 9), numWaits};
      (i < cp ? forward : backward).push_back(program);
    }
    p.forward = in.ConsumeBool() ? forward.data() : nullptr;
    p.backward = backward.data();
  }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzedDataProvider in(data, size);
  ringattn_module module; // real, never loaded
  auto *context = reinterpret_cast<ringattn_context *>(0); // only null
  int64_t batch = in.ConsumeIntegralInRange<int64_t>(-1, 70000);
  switch (in.ConsumeIntegralInRange(0, 9)) {
  case 0: {
    ringattn_kernel k = kernel(in);
    ringattn_forward_args a{pointer(in), pointer(in), pointer(in),
                            static_cast<float *>(pointer(in)),
                            static_cast<float *>(pointer(in)), pointer(in),
                            static_cast<float *>(pointer(in)), batch};
    ringattn_launch_forward(in.ConsumeBool() ? &module : nullptr,
                            in.ConsumeBool() ? &k : nullptr,
                            in.ConsumeBool() ? &a : nullptr, nullptr);
    break;
  }
  case 1: {
    ringattn_kernel k = kernel(in);
    ringattn_backward_args a{};
    a.q = pointer(in), a.k = pointer(in), a.v = pointer(in);
    a.dout = pointer(in);
    a.lse = static_cast<float *>(pointer(in));
    a.delta = static_cast<float *>(pointer(in));
    a.dq_acc = static_cast<float *>(pointer(in));
    a.dk = static_cast<float *>(pointer(in));
    a.dv = static_cast<float *>(pointer(in));
    a.batch = batch;
    ringattn_launch_backward(&module, &k, &a, nullptr);
    break;
  }
  case 2: {
    ringattn_kernel k = kernel(in);
    ringattn_launch_preprocess(&module, &k, pointer(in), pointer(in),
                               static_cast<float *>(pointer(in)),
                               static_cast<float *>(pointer(in)), batch,
                               nullptr);
    ringattn_launch_accumulate(&module, &k, static_cast<float *>(pointer(in)),
                               static_cast<float *>(pointer(in)), batch,
                               nullptr);
    ringattn_launch_finalize(&module, &k, static_cast<float *>(pointer(in)),
                             static_cast<float *>(pointer(in)),
                             static_cast<float *>(pointer(in)), pointer(in),
                             pointer(in), pointer(in), batch, nullptr);
    break;
  }
  case 3: {
    FuzzedPackage package(in);
    ringattn_package_check(&package.p);
    break;
  }
  case 4: {
    FuzzedPackage package(in);
    int rank = in.ConsumeIntegralInRange(-1, 9);
    int64_t count = in.ConsumeIntegralInRange<int64_t>(0, 1024);
    std::vector<int64_t> ids(count);
    ringattn_position_ids(&package.p, rank, ids.data(), count);
    break;
  }
  case 5: {
    FuzzedPackage package(in);
    int rank = in.ConsumeIntegralInRange(-1, 9);
    int64_t rowBytes = in.ConsumeIntegral<int64_t>();
    if (in.ConsumeBool())
      ringattn_shard(&package.p, rank, pointer(in), pointer(in), batch,
                     rowBytes, nullptr);
    else
      ringattn_unshard(&package.p, rank, pointer(in), pointer(in), batch,
                       rowBytes, nullptr);
    break;
  }
  case 6: {
    FuzzedPackage package(in);
    ringattn_unique_id id{};
    ringattn_context *created = nullptr;
    ringattn_context_create(&package.p, in.ConsumeIntegralInRange(-1, 9), 0,
                            batch, in.ConsumeBool() ? &id : nullptr,
                            in.ConsumeIntegralInRange<int64_t>(-1, 10),
                            in.ConsumeBool() ? &created : nullptr);
    if (created) // only with a GPU and a loadable package
      ringattn_context_destroy(created);
    break;
  }
  case 7: {
    std::string contents = in.ConsumeRandomLengthString(256);
    ringattn_module *loaded = nullptr;
    ringattn_module_load(path(in, contents), in.ConsumeIntegralInRange(-1, 8),
                         in.ConsumeBool() ? &loaded : nullptr);
    if (loaded)
      ringattn_module_unload(loaded);
    loaded = nullptr;
    std::string image = in.ConsumeRandomLengthString(256);
    ringattn_module_load_image(in.ConsumeBool() ? image.data() : nullptr,
                               image.size(), 0,
                               in.ConsumeBool() ? &loaded : nullptr);
    if (loaded)
      ringattn_module_unload(loaded);
    break;
  }
  case 8: {
    ringattn_timeline_entry entries[4];
    int count = 0;
    ringattn_forward(context, pointer(in), pointer(in), pointer(in),
                     pointer(in), static_cast<float *>(pointer(in)), nullptr);
    ringattn_context_timeline(context, in.ConsumeBool() ? entries : nullptr,
                              in.ConsumeIntegralInRange(-1, 4),
                              in.ConsumeBool() ? &count : nullptr);
    ringattn_context_wait(context, in.ConsumeIntegral<int64_t>());
    break;
  }
  default:
    ringattn_get_unique_id(nullptr);
    break;
  }
  return 0;
}
