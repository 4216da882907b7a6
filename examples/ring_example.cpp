//===- ring_example.cpp - one rank of a generated ring ---------------------===//
//
// ring_example RANK ID_FILE [BATCH]: runs forward and backward of the linked
// package's ring on GPU RANK with random inputs. Rank 0 writes the ring's NCCL
// unique id to ID_FILE; the other ranks read it (start them together). Prints
// the rank's tokens, the time of one forward + backward and checks that every
// output is finite. Exit status 0 on success.
//
//===----------------------------------------------------------------------===//

#include "ringattn_package.h"

#include <cuda_runtime.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

bool ok(ringattn_status status, const char *what) {
  if (status == RINGATTN_OK)
    return true;
  std::fprintf(stderr, "%s failed (status %d): %s\n", what, status,
               ringattn_last_error());
  return false;
}

bool cuda(cudaError_t error, const char *what) {
  if (error == cudaSuccess)
    return true;
  std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(error));
  return false;
}

/// Shares the ring's id: rank 0 writes it, the others wait for it.
bool shareId(int rank, const std::string &path, ringattn_unique_id &id) {
  if (rank == 0) {
    if (!ok(ringattn_get_unique_id(&id), "ringattn_get_unique_id"))
      return false;
    std::string tmp = path + ".tmp";
    std::ofstream(tmp, std::ios::binary)
        .write(id.internal, sizeof(id.internal));
    return std::rename(tmp.c_str(), path.c_str()) == 0;
  }
  for (int tries = 0; tries < 6000; ++tries) {
    std::ifstream in(path, std::ios::binary);
    if (in.read(id.internal, sizeof(id.internal)))
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::fprintf(stderr, "rank %d: no id in %s after 60 s\n", rank, path.c_str());
  return false;
}

/// A device buffer of `count` bf16 (or fp16) values drawn from N(0, 1).
void *randomHalfs(size_t count, bool bf16, std::mt19937 &rng) {
  std::normal_distribution<float> normal;
  std::vector<uint16_t> host(count);
  for (uint16_t &h : host) {
    float f = normal(rng);
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    if (bf16) {
      h = static_cast<uint16_t>((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
    } else { // fp16, round to nearest (normal range only: |f| < 65504)
      uint32_t sign = (bits >> 16) & 0x8000;
      int exponent = static_cast<int>((bits >> 23) & 0xff) - 127 + 15;
      uint32_t mantissa = bits & 0x7fffff;
      h = exponent <= 0 ? static_cast<uint16_t>(sign)
                        : static_cast<uint16_t>(sign | (exponent << 10) |
                                                ((mantissa + 0x1000) >> 13));
    }
  }
  void *device = nullptr;
  if (!cuda(cudaMalloc(&device, count * 2), "cudaMalloc") ||
      !cuda(cudaMemcpy(device, host.data(), count * 2, cudaMemcpyHostToDevice),
            "cudaMemcpy"))
    std::exit(1);
  return device;
}

bool allFinite(const void *device, size_t count, bool bf16) {
  std::vector<uint16_t> host(count);
  if (!cuda(cudaMemcpy(host.data(), device, count * 2, cudaMemcpyDeviceToHost),
            "cudaMemcpy"))
    return false;
  for (uint16_t h : host) {
    bool special = bf16 ? ((h >> 7) & 0xff) == 0xff : ((h >> 10) & 0x1f) == 0x1f;
    if (special)
      return false;
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s RANK ID_FILE [BATCH]\n", argv[0]);
    return 2;
  }
  int rank = std::atoi(argv[1]);
  std::string idFile = argv[2];
  int64_t batch = argc > 3 ? std::atoll(argv[3]) : 1;
  const ringattn_package *package = ringattn_generated_package();
  std::printf("rank %d: %s, batch %lld\n", rank, package->description,
              static_cast<long long>(batch));
  if (rank < 0 || rank >= package->cp) {
    std::fprintf(stderr, "rank %d: the package has %lld ranks\n", rank,
                 static_cast<long long>(package->cp));
    return 2;
  }
  if (!cuda(cudaSetDevice(rank), "cudaSetDevice") ||
      !cuda(cudaFree(nullptr), "cudaFree (context)"))
    return 1;

  ringattn_unique_id id{};
  if (package->cp > 1 && !shareId(rank, idFile, id))
    return 1;
  ringattn_context *context = nullptr;
  if (!ok(ringattn_context_create(package, rank, rank, batch, &id, 60000,
                                  &context),
          "ringattn_context_create"))
    return 1;

  std::vector<int64_t> positions(package->local_length);
  ok(ringattn_position_ids(package, rank, positions.data(),
                           package->local_length),
     "ringattn_position_ids");
  std::printf("rank %d holds tokens [%lld, %lld) and [%lld, %lld)\n", rank,
              static_cast<long long>(positions.front()),
              static_cast<long long>(positions[package->chunk_length - 1] + 1),
              static_cast<long long>(positions[positions.size() - package->chunk_length]),
              static_cast<long long>(positions.back() + 1));

  bool bf16 = package->dtype == RINGATTN_BF16;
  size_t qCount = batch * package->local_length * package->heads * package->head_dim;
  size_t kvCount = batch * package->local_length * package->kv_heads * package->head_dim;
  std::mt19937 rng(1234 + rank);
  void *q = randomHalfs(qCount, bf16, rng), *k = randomHalfs(kvCount, bf16, rng),
       *v = randomHalfs(kvCount, bf16, rng), *dout = randomHalfs(qCount, bf16, rng);
  void *out, *dq, *dk, *dv;
  float *lse;
  cudaStream_t stream;
  if (!cuda(cudaMalloc(&out, qCount * 2), "cudaMalloc") ||
      !cuda(cudaMalloc(&dq, qCount * 2), "cudaMalloc") ||
      !cuda(cudaMalloc(&dk, kvCount * 2), "cudaMalloc") ||
      !cuda(cudaMalloc(&dv, kvCount * 2), "cudaMalloc") ||
      !cuda(cudaMalloc(reinterpret_cast<void **>(&lse),
                       batch * package->heads * package->local_length * 4),
            "cudaMalloc") ||
      !cuda(cudaStreamCreate(&stream), "cudaStreamCreate"))
    return 1;

  double ms = 0;
  for (int iteration = 0; iteration < 3; ++iteration) {
    auto start = std::chrono::steady_clock::now();
    if (!ok(ringattn_forward(context, q, k, v, out, lse, stream),
            "ringattn_forward") ||
        !ok(ringattn_backward(context, dout, q, k, v, out, lse, dq, dk, dv,
                              stream),
            "ringattn_backward") ||
        !ok(ringattn_context_wait(context, 0), "ringattn_context_wait"))
      return 1;
    ms = std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
             .count();
  }
  bool finite = allFinite(out, qCount, bf16) && allFinite(dq, qCount, bf16) &&
                allFinite(dk, kvCount, bf16) && allFinite(dv, kvCount, bf16);
  std::printf("rank %d: forward + backward in %.2f ms; outputs %s\n", rank, ms,
              finite ? "finite" : "NOT FINITE");
  ok(ringattn_context_destroy(context), "ringattn_context_destroy");
  return finite ? 0 : 1;
}
