//===- ArgumentChecks.cpp - the runtime's argument checks, without a GPU ---===//
//
// Every bad argument is refused with a status and a message before any driver
// call, so these run on machines without a GPU (CI). Exits non-zero on the
// first failed expectation.
//
//===----------------------------------------------------------------------===//

#include "ringattn/package.h"
#include "ringattn/runtime.h"
#include "ringattn/testing.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

int failures = 0;

void expect(ringattn_status got, ringattn_status want, const char *needle,
            const char *what) {
  std::string message = ringattn_last_error();
  bool ok = got == want && message.find(needle) != std::string::npos;
  std::printf("%s %s: status %d, \"%s\"\n", ok ? "PASS" : "FAIL", what, got,
              message.c_str());
  failures += !ok;
}

ringattn_kernel goodKernel() {
  ringattn_kernel k{};
  k.name = "fwd";
  k.grid_x = 16;
  k.block = 384;
  k.shared_bytes = 163904;
  k.q_len = k.kv_len = 2048;
  k.heads = 32;
  k.kv_heads = 4;
  k.head_dim = 128;
  k.dtype = RINGATTN_BF16;
  k.role = RINGATTN_KERNEL_FORWARD;
  k.q_rows = k.kv_rows = 128;
  k.reads_accumulators = 0;
  k.writes_final = 1;
  return k;
}

/// A hand-made package: cp = 2, zigzag, 8 tokens per rank, one forward
/// hop and a backward without transfers; consistent, but its "cubin" is not
/// one (nothing here loads it).
struct TestPackage {
  int64_t chunks[4] = {0, 3, 1, 2};
  ringattn_kernel kernels[5] = {};
  ringattn_op forwardOps[2][6] = {};
  int waits[2] = {1, 0};
  ringattn_op backwardOps[2] = {};
  ringattn_program forward[2] = {};
  ringattn_program backward[2] = {};
  unsigned char cubin[1] = {0};
  ringattn_package p{};

  TestPackage(const TestPackage &) = delete; // it points into itself
  TestPackage &operator=(const TestPackage &) = delete;
  TestPackage() {
    const ringattn_kernel_role roles[] = {
        RINGATTN_KERNEL_FORWARD, RINGATTN_KERNEL_BACKWARD,
        RINGATTN_KERNEL_PREPROCESS, RINGATTN_KERNEL_ACCUMULATE,
        RINGATTN_KERNEL_FINALIZE};
    for (int i = 0; i < 5; ++i) {
      kernels[i].name = "k";
      kernels[i].role = roles[i];
    }
    ringattn_buffer_ref none{RINGATTN_BUFFER_NONE, 0},
        local{RINGATTN_BUFFER_KV_LOCAL, 0}, ring{RINGATTN_BUFFER_KV_RING, 0},
        home{RINGATTN_BUFFER_DKV_RING, 0};
    for (int r = 0; r < 2; ++r) {
      ringattn_op *ops = forwardOps[r];
      ops[0] = {RINGATTN_OP_SEND, -1, 0, 1 - r, 0, local, none, -1, -1, 0, 0};
      ops[1] = {RINGATTN_OP_RECV, -1, 0, 1 - r, 1, ring, none, -1, -1, 0, 0};
      ops[2] = {RINGATTN_OP_COMPUTE, 0, -1, -1, -1, local, none, 0, -1, 0, 0};
      ops[3] = {RINGATTN_OP_WAIT, -1, -1, -1, -1, none, none, -1, -1, 0, 2};
      ops[4] = {RINGATTN_OP_COMPUTE, 1, -1, -1, -1, ring, none, 0, -1, 0, 0};
      ops[5] = {RINGATTN_OP_FINALIZE, -1, -1, -1, -1, none, none, -1, -1, 0, 0};
      forward[r] = {6, ops, waits, 2, 2};
    }
    backwardOps[0] = {RINGATTN_OP_COMPUTE, 0, -1, -1, -1, local, home, 1, -1, 0, 0};
    backwardOps[1] = {RINGATTN_OP_FINALIZE, -1, -1, -1, -1, home, none, -1, -1, 0, 0};
    backward[0] = backward[1] = {2, backwardOps, nullptr, 0, 0};
    p.abi = RINGATTN_PACKAGE_ABI;
    p.description = "test package";
    p.cp = 2;
    p.seq = 16;
    p.heads = 2;
    p.kv_heads = 1;
    p.head_dim = 64;
    p.dtype = RINGATTN_BF16;
    p.causal = 1;
    p.chunk_length = 4;
    p.local_length = 8;
    p.chunks_per_rank = 2;
    p.rank_chunks = chunks;
    p.kv_ring_slots = 1;
    p.dkv_ring_slots = 1;
    p.cubin = cubin;
    p.cubin_size = sizeof(cubin);
    p.num_kernels = 5;
    p.kernels = kernels;
    p.preprocess_kernel = 2;
    p.accumulate_kernel = 3;
    p.finalize_kernel = 4;
    p.forward = forward;
    p.backward = backward;
  }
};

/// ringattn_package_check refuses inconsistent packages.
void checkPackages() {
  TestPackage good;
  expect(ringattn_package_check(&good.p), RINGATTN_OK, "", "package check ok");
  expect(ringattn_package_check(nullptr), RINGATTN_ERROR_INVALID_ARGUMENT,
         "package is null", "package check null");
  {
    TestPackage t;
    t.chunks[1] = 0;
    expect(ringattn_package_check(&t.p), RINGATTN_ERROR_INVALID_ARGUMENT,
           "not a permutation", "package chunk map");
  }
  {
    TestPackage t;
    t.p.local_length = 9;
    expect(ringattn_package_check(&t.p), RINGATTN_ERROR_INVALID_ARGUMENT,
           "disagree", "package lengths");
  }
  TestPackage t;
  t.forwardOps[1][0].peer = 5;
  expect(ringattn_package_check(&t.p), RINGATTN_ERROR_INVALID_ARGUMENT,
         "peer 5 out of range", "package peer");
  t.forwardOps[1][0].peer = 0;
  t.forwardOps[0][3].num_waits = 3;
  expect(ringattn_package_check(&t.p), RINGATTN_ERROR_INVALID_ARGUMENT,
         "bad wait list", "package wait list");
  t.forwardOps[0][3].num_waits = 2;
  t.forwardOps[0][4].kernel = 7;
  expect(ringattn_package_check(&t.p), RINGATTN_ERROR_INVALID_ARGUMENT,
         "kernel index out of range", "package kernel index");
  t.forwardOps[0][4].kernel = 1;
  expect(ringattn_package_check(&t.p), RINGATTN_ERROR_INVALID_ARGUMENT,
         "role does not match", "package kernel role");
  t.forwardOps[0][4].kernel = 0;
  t.forwardOps[0][4].buffer.slot = 1;
  expect(ringattn_package_check(&t.p), RINGATTN_ERROR_INVALID_ARGUMENT,
         "bad buffer", "package ring slot");
  t.forwardOps[0][4].buffer.slot = 0;
  // A receive into the caller's k and v.
  t.forwardOps[1][1].buffer.kind = RINGATTN_BUFFER_KV_LOCAL;
  expect(ringattn_package_check(&t.p), RINGATTN_ERROR_INVALID_ARGUMENT,
         "op 1: bad buffer", "package receive into k, v");
  t.forwardOps[1][1].buffer.kind = RINGATTN_BUFFER_KV_RING;
  expect(ringattn_package_check(&t.p), RINGATTN_OK, "", "package mended");
  // Sends and receives that do not pair up.
  t.forwardOps[1][1].kind = RINGATTN_OP_SEND;
  expect(ringattn_package_check(&t.p), RINGATTN_ERROR_INVALID_ARGUMENT,
         "forward programs: rank 0 to rank 1: 1 sends but 0 receives",
         "package unpaired send");
  t.forwardOps[1][1].kind = RINGATTN_OP_RECV;
  t.forwardOps[0][0].buffer = {RINGATTN_BUFFER_DKV_RING, 0};
  expect(ringattn_package_check(&t.p), RINGATTN_ERROR_INVALID_ARGUMENT,
         "rank 0 to rank 1: send 0 carries dK/dV, its receive takes K/V",
         "package send and receive of different buffers");
}

/// The ring API: context creation, calls on a context and the zigzag
/// helpers, on the hand-made package.
void checkContextArguments(char *buffer) {
  TestPackage test;
  ringattn_package &p = test.p;
  ringattn_context *context = nullptr;
  ringattn_unique_id id{};

  expect(ringattn_context_create(&p, 0, 0, 1, &id, 0, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "context (the output) is null",
         "create null output");
  expect(ringattn_context_create(nullptr, 0, 0, 1, &id, 0, &context),
         RINGATTN_ERROR_INVALID_ARGUMENT, "package is null",
         "create null package");
  ringattn_package old = p;
  old.abi = 0;
  expect(ringattn_context_create(&old, 0, 0, 1, &id, 0, &context),
         RINGATTN_ERROR_INVALID_ARGUMENT, "regenerate it", "create package ABI");
  expect(ringattn_context_create(&p, 2, 0, 1, &id, 0, &context),
         RINGATTN_ERROR_INVALID_ARGUMENT, "rank 2 out of range [0, 2)",
         "create rank");
  expect(ringattn_context_create(&p, 0, 0, 0, &id, 0, &context),
         RINGATTN_ERROR_INVALID_ARGUMENT, "batch must be in [1, 65535]",
         "create batch");
  {
    TestPackage big; // 2 heads x 2M local tokens: batch 512 is 2^31 floats
    big.p.chunk_length = 1 << 20;
    big.p.local_length = 2 << 20;
    big.p.seq = 4 << 20;
    expect(ringattn_context_create(&big.p, 0, 0, 512, &id, 0, &context),
           RINGATTN_ERROR_INVALID_ARGUMENT,
           "exceeds what the backward kernels address in lse",
           "create batch x heads x tokens past 2^31");
  }
  expect(ringattn_context_create(&p, 0, 0, 1, &id, -1, &context),
         RINGATTN_ERROR_INVALID_ARGUMENT, "timeout_ms must not be negative",
         "create timeout");
  expect(ringattn_context_create(&p, 0, 0, 1, nullptr, 0, &context),
         RINGATTN_ERROR_INVALID_ARGUMENT, "needs the ring's unique id",
         "create null id");
  // The transport is named in the environment; a bad name is refused by
  // every call that reads it, before any driver or NCCL call.
  setenv("RINGATTN_TRANSPORT", "nvlink", 1);
  expect(ringattn_context_create(&p, 0, 0, 1, &id, 0, &context),
         RINGATTN_ERROR_INVALID_ARGUMENT,
         "RINGATTN_TRANSPORT must be nccl or ce (got 'nvlink')",
         "create bad transport");
  expect(ringattn_get_unique_id(&id), RINGATTN_ERROR_INVALID_ARGUMENT,
         "RINGATTN_TRANSPORT must be nccl or ce", "unique id bad transport");
  // The copy-engine ring's id is random bytes: no NCCL needed.
  setenv("RINGATTN_TRANSPORT", "ce", 1);
  ringattn_unique_id first{}, second{};
  expect(ringattn_get_unique_id(&first), RINGATTN_OK, "", "unique id (ce)");
  expect(ringattn_get_unique_id(&second), RINGATTN_OK, "",
         "second unique id (ce)");
  bool fresh = std::memcmp(first.internal, second.internal,
                           sizeof(first.internal)) != 0;
  std::printf("%s copy-engine ids differ\n", fresh ? "PASS" : "FAIL");
  failures += !fresh;
  unsetenv("RINGATTN_TRANSPORT");
  if (context != nullptr) {
    std::printf("FAIL create left a context behind\n");
    ++failures;
  }
  if (ringattn_testing_device_bytes() != 0) {
    std::printf("FAIL refused creates left %lld device bytes behind\n",
                static_cast<long long>(ringattn_testing_device_bytes()));
    ++failures;
  }
  expect(ringattn_get_unique_id(nullptr), RINGATTN_ERROR_INVALID_ARGUMENT,
         "id is null", "unique id null");
  expect(ringattn_context_destroy(nullptr), RINGATTN_ERROR_INVALID_ARGUMENT,
         "context is null", "destroy null");
  expect(ringattn_forward(nullptr, buffer, buffer, buffer, buffer,
                          reinterpret_cast<float *>(buffer), nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "context is null", "forward null");
  expect(ringattn_backward(nullptr, buffer, buffer, buffer, buffer, buffer,
                           reinterpret_cast<float *>(buffer), buffer, buffer,
                           buffer, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "context is null", "backward null");
  // A non-null context handle that is never dereferenced: the tensor checks
  // come first.
  auto *fakeContext = reinterpret_cast<ringattn_context *>(buffer);
  float *f = reinterpret_cast<float *>(buffer);
  expect(ringattn_forward(fakeContext, nullptr, buffer, buffer, buffer, f,
                          nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "q is null", "forward null q");
  expect(ringattn_forward(fakeContext, buffer, buffer + 8, buffer, buffer, f,
                          nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "k is not 16-byte aligned",
         "forward misaligned k");
  expect(ringattn_backward(fakeContext, buffer, buffer, buffer, buffer, buffer,
                           f, buffer, buffer, nullptr, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "dv is null", "backward null dv");
  expect(ringattn_context_wait(nullptr, 0), RINGATTN_ERROR_INVALID_ARGUMENT,
         "context is null", "wait null");
  expect(ringattn_context_status(nullptr), RINGATTN_ERROR_INVALID_ARGUMENT,
         "context is null", "status null");
  expect(ringattn_context_set_transfers(nullptr, 1),
         RINGATTN_ERROR_INVALID_ARGUMENT, "context is null",
         "set_transfers null");
  int count = 0;
  expect(ringattn_context_timeline(nullptr, nullptr, 0, &count),
         RINGATTN_ERROR_INVALID_ARGUMENT, "context is null", "timeline null");
  expect(ringattn_context_inject_fault(nullptr, RINGATTN_FAULT_NCCL),
         RINGATTN_ERROR_INVALID_ARGUMENT, "context is null",
         "inject_fault null");
  expect(ringattn_context_inject_fault(fakeContext,
                                       static_cast<ringattn_fault>(7)),
         RINGATTN_ERROR_INVALID_ARGUMENT, "unknown fault 7",
         "inject_fault unknown fault");

  expect(ringattn_shard(nullptr, 0, buffer, buffer, 1, 256, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "package is null", "shard null package");
  expect(ringattn_shard(&p, -1, buffer, buffer, 1, 256, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "rank -1 out of range", "shard rank");
  expect(ringattn_shard(&p, 0, nullptr, buffer, 1, 256, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "full is null", "shard null full");
  expect(ringattn_unshard(&p, 0, nullptr, buffer, 1, 256, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "local is null", "unshard null local");
  expect(ringattn_shard(&p, 0, buffer, buffer, 0, 256, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "batch must be positive",
         "shard batch");
  expect(ringattn_unshard(&p, 1, buffer, buffer, 1, 0, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "row_bytes must be positive",
         "unshard row bytes");
  expect(ringattn_shard(&p, 0, buffer, buffer, 2, INT64_MAX / 8, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "overflows 64-bit byte offsets",
         "shard row bytes overflow");

  int64_t ids[8];
  expect(ringattn_position_ids(&p, 0, ids, 7), RINGATTN_ERROR_INVALID_ARGUMENT,
         "rank 0 has 8 tokens", "position ids count");
  expect(ringattn_position_ids(&p, 0, nullptr, 8),
         RINGATTN_ERROR_INVALID_ARGUMENT, "ids is null", "position ids null");
  // Rank 1 of a cp = 2 zigzag holds chunks 1 and 2 of 4.
  ringattn_status status = ringattn_position_ids(&p, 1, ids, 8);
  const int64_t want[] = {4, 5, 6, 7, 8, 9, 10, 11};
  bool same = status == RINGATTN_OK && std::memcmp(ids, want, sizeof(want)) == 0;
  std::printf("%s position ids of rank 1\n", same ? "PASS" : "FAIL");
  failures += !same;
}

} // namespace

int main() {
  alignas(64) static char buffer[1024];
  ringattn_module *module = nullptr;
  // A non-null module handle that is never dereferenced: argument checks
  // come before any use of the module.
  auto *fake = reinterpret_cast<ringattn_module *>(buffer);
  ringattn_kernel k = goodKernel();
  ringattn_forward_args a{};
  a.q = a.k = a.v = buffer;
  a.out = buffer;
  a.lse = reinterpret_cast<float *>(buffer);
  a.batch = 1;

  expect(ringattn_module_load(nullptr, 0, &module),
         RINGATTN_ERROR_INVALID_ARGUMENT, "cubin_path is null", "null path");
  expect(ringattn_module_load("x.cubin", 0, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "module (the output) is null",
         "null output");
  expect(ringattn_module_load("/nonexistent/k.cubin", 0, &module),
         RINGATTN_ERROR_IO, "cannot open /nonexistent/k.cubin", "missing file");
  // A directory (or FIFO, device) is refused, not read: reading one threw
  // out of the C API (found by the API fuzzer).
  expect(ringattn_module_load("/", 0, &module), RINGATTN_ERROR_IO,
         "not a regular file", "module load of a directory");
  expect(ringattn_module_unload(nullptr), RINGATTN_ERROR_INVALID_ARGUMENT,
         "module is null", "unload null");
  expect(ringattn_launch_forward(nullptr, &k, &a, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "module is null", "null module");
  expect(ringattn_launch_forward(fake, nullptr, &a, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "kernel is null", "null kernel");
  expect(ringattn_launch_forward(fake, &k, nullptr, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "args is null", "null args");

  ringattn_kernel bad = k;
  bad.head_dim = 96;
  expect(ringattn_launch_forward(fake, &bad, &a, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "head_dim must be 64 or 128",
         "head_dim");
  bad = k;
  bad.kv_heads = 5;
  expect(ringattn_launch_forward(fake, &bad, &a, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "multiple of kv_heads", "kv_heads");
  bad = k;
  bad.name = nullptr;
  expect(ringattn_launch_forward(fake, &bad, &a, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "kernel has no name", "no name");
  bad = k;
  bad.shared_bytes = 1 << 20;
  expect(ringattn_launch_forward(fake, &bad, &a, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "shared_bytes out of range",
         "shared_bytes");
  bad = k;
  bad.block = 100;
  expect(ringattn_launch_forward(fake, &bad, &a, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "block must be a multiple of 32",
         "block");

  ringattn_forward_args badArgs = a;
  badArgs.batch = 0;
  expect(ringattn_launch_forward(fake, &k, &badArgs, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "batch must be in [1, 65535]",
         "batch");
  badArgs = a;
  badArgs.q = nullptr;
  expect(ringattn_launch_forward(fake, &k, &badArgs, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "q is null", "null q");
  badArgs = a;
  badArgs.k = buffer + 8;
  expect(ringattn_launch_forward(fake, &k, &badArgs, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "k is not 16-byte aligned",
         "misaligned k");
  badArgs = a;
  badArgs.lse = nullptr;
  expect(ringattn_launch_forward(fake, &k, &badArgs, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "lse is null", "null lse");
  ringattn_kernel merging = k;
  merging.reads_accumulators = 1;
  expect(ringattn_launch_forward(fake, &merging, &a, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "o_acc is null", "null o_acc");

  // A file that is no cubin: without a driver (CI) the load stops at the
  // driver, with one it stops at cuModuleLoadData; either way a clear error.
  const char *garbage = "ringattn-not-a-cubin.bin";
  if (FILE *f = std::fopen(garbage, "wb")) {
    std::fputs("not a cubin", f);
    std::fclose(f);
  }
  ringattn_status status = ringattn_module_load(garbage, 0, &module);
  std::remove(garbage);
  if (status == RINGATTN_ERROR_NO_DRIVER)
    expect(status, RINGATTN_ERROR_NO_DRIVER, "CUDA driver", "no driver");
  else
    expect(status, RINGATTN_ERROR_CUDA, "cuModuleLoadData failed",
           "bad image with a driver");
  expect(module == nullptr ? RINGATTN_OK : RINGATTN_ERROR_INVALID_ARGUMENT,
         RINGATTN_OK, "", "no module on failure");

  // The other roles.
  ringattn_kernel backward = k;
  backward.role = RINGATTN_KERNEL_BACKWARD;
  expect(ringattn_launch_forward(fake, &backward, &a, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT,
         "a backward kernel cannot be launched as forward", "wrong role");
  ringattn_backward_args b{};
  b.q = b.k = b.v = b.dout = buffer;
  b.lse = b.delta = reinterpret_cast<float *>(buffer);
  b.dq_acc = b.dk = b.dv = reinterpret_cast<float *>(buffer);
  b.batch = 1;
  expect(ringattn_launch_backward(fake, &backward, nullptr, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "args is null", "backward null args");
  ringattn_backward_args badB = b;
  badB.delta = nullptr;
  expect(ringattn_launch_backward(fake, &backward, &badB, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "delta is null", "null delta");
  badB = b;
  badB.dv = nullptr;
  expect(ringattn_launch_backward(fake, &backward, &badB, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "dv is null", "null dv");
  badB = b;
  badB.dq_acc = reinterpret_cast<float *>(buffer) + 2; // 8-byte aligned only
  expect(ringattn_launch_backward(fake, &backward, &badB, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "dq_acc is not 16-byte aligned",
         "backward dq_acc alignment (its TMA reductions)");
  {
    ringattn_kernel huge = backward; // 2^31 floats of lse at batch 16
    huge.heads = 4096;
    huge.kv_heads = 1;
    huge.q_len = 32768;
    huge.kv_len = 32768;
    badB = b;
    badB.batch = 16;
    expect(ringattn_launch_backward(fake, &huge, &badB, nullptr),
           RINGATTN_ERROR_INVALID_ARGUMENT,
           "exceeds what the kernels address in lse and delta",
           "backward batch x heads x q_len past 2^31");
    // The product itself past 2^63 (found by the API fuzzer: the message
    // computed it, signed overflow under UBSan).
    huge.q_len = huge.kv_len = INT64_MAX / 8;
    expect(ringattn_launch_backward(fake, &huge, &badB, nullptr),
           RINGATTN_ERROR_INVALID_ARGUMENT,
           "batch 16 x heads 4096 x q_len 1152921504606846975 exceeds",
           "backward batch x heads x q_len past 2^63");
  }
  {
    ringattn_kernel wide = backward;
    wide.q_rows = 254;
    expect(ringattn_launch_backward(fake, &wide, &b, nullptr),
           RINGATTN_ERROR_INVALID_ARGUMENT,
           "q_rows (254) must be a multiple of 4 and at most 252",
           "backward q_rows past the row-vector box");
  }
  badB = b;
  badB.batch = 70000;
  expect(ringattn_launch_backward(fake, &backward, &badB, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "batch must be in [1, 65535]",
         "backward batch");
  expect(ringattn_launch_backward(fake, &k, &b, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT,
         "a forward kernel cannot be launched as backward", "forward as backward");
  ringattn_kernel elementwise = k;
  elementwise.role = RINGATTN_KERNEL_ACCUMULATE;
  float *f = reinterpret_cast<float *>(buffer);
  expect(ringattn_launch_accumulate(fake, &elementwise, f, nullptr, 1, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "src is null", "accumulate null src");
  expect(ringattn_launch_accumulate(fake, &elementwise, f + 1, f, 1, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "dst is not 16-byte aligned",
         "accumulate misaligned dst");
  elementwise.role = RINGATTN_KERNEL_PREPROCESS;
  expect(ringattn_launch_preprocess(fake, &elementwise, buffer, buffer, f,
                                    nullptr, 1, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "dq_acc is null",
         "preprocess null dq_acc");
  elementwise.role = RINGATTN_KERNEL_FINALIZE;
  expect(ringattn_launch_finalize(fake, &elementwise, f, f, f, buffer, nullptr,
                                  buffer, 1, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "dk is null", "finalize null dk");
  expect(ringattn_launch_finalize(fake, &elementwise, f, f, f, buffer, buffer,
                                  buffer, 0, nullptr),
         RINGATTN_ERROR_INVALID_ARGUMENT, "batch must be in [1, 65535]",
         "finalize batch");

  checkPackages();
  checkContextArguments(buffer);
  std::printf("%d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
