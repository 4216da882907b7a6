//===- Context.h - a rank of the ring: its state ----------------*- C++ -*-===//
//
// The state of a ringattn_context, and what its three parts share:
// Context.cpp creates and destroys contexts and holds the C API; Ring.cpp
// runs a rank's forward or backward program (transfer groups, kernel
// launches, the events between them); the transfers go through NCCL or
// through the copy engines (CopyEngine.cpp); Health.cpp keeps the sticky
// error, the watchdog and the bounded waits.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_RUNTIME_CONTEXT_H
#define RINGATTN_RUNTIME_CONTEXT_H

#include "CopyEngine.h"
#include "Driver.h"
#include "Nccl.h"
#include "ringattn/package.h"
#include "ringattn/runtime.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace ringattn::runtime {
using Clock = std::chrono::steady_clock;
constexpr int64_t kDefaultTimeoutMs = 300000;
} // namespace ringattn::runtime

struct ringattn_context {
  const ringattn_package *package = nullptr;
  int rank = 0;
  int64_t batch = 0;
  int64_t timeoutMs = ringattn::runtime::kDefaultTimeoutMs;
  ringattn_module *module = nullptr;
  ncclComm_t comm = nullptr;                        // NCCL transport
  std::unique_ptr<ringattn::runtime::CopyEngineRing> ce; // copy engines
  // NCCL's streams: K/V hops at the highest priority (the next step waits
  // for them: the block scheduler places their CTAs as soon as an SM frees
  // up); dK/dV hops at the default one (nothing waits for them before the
  // end: their CTAs take only SMs a kernel leaves free, instead of delaying
  // a kernel's CTA by a whole transfer).
  CUstream commStream = nullptr;
  CUstream backgroundStream = nullptr;

  // Buffers (device), sized for `batch`.
  std::vector<CUdeviceptr> kvRing;   // [slot][K, V]
  std::vector<CUdeviceptr> dkvRing;  // [slot]: dK then dV, fp32
  CUdeviceptr dkvPartial = 0;
  CUdeviceptr oAcc = 0, lseAcc = 0, delta = 0, dqAcc = 0, exchange = 0;
  // Every device allocation above, with its size: what release() frees.
  std::vector<std::pair<CUdeviceptr, int64_t>> allocations;
  int64_t kvElements = 0; // one of K or V of one shard, all sequences
  int64_t qElements = 0;

  // Synchronization events (no timing) and the completion event the
  // watchdog polls.
  std::vector<CUevent> syncEvents;
  CUevent done = nullptr;
  bool doneRecorded = false; // `done` marks the last call's end

  // Timeline (timing events) of the last call.
  bool timeline = false;
  bool transfers = true; // off only to measure overlap
  // Test hook (RINGATTN_FAULT_NCCL, testing.h): the next group fails.
  std::atomic<bool> failNextGroup{false};
  std::vector<CUevent> timingEvents;
  struct Span {
    int kind, step, start, end;
  };
  std::vector<Span> spans;

  // The sticky error and the watchdog.
  std::mutex mutex;
  std::condition_variable wake;
  std::thread watchdog;
  bool stop = false;
  bool outstanding = false;
  uint64_t generation = 0; // bumped by every call the watchdog watches
  std::chrono::steady_clock::time_point outstandingSince;
  std::atomic<int> error{RINGATTN_OK};
  std::string errorMessage;
};

namespace ringattn::runtime {

/// How a ring moves its hops (RINGATTN_TRANSPORT): NCCL's send/recv kernels,
/// or the copy engines into the peers' mapped windows.
enum class Transport { Nccl, CopyEngine };

/// The transport RINGATTN_TRANSPORT names ("nccl", the default, or "ce").
ringattn_status transportOf(Transport &transport);

/// What every rank tells the others when it joins the ring.
struct RankIdentity {
  uint64_t configHash;
  int64_t batch;
  int64_t rank;
  char description[232];
};
static_assert(sizeof(RankIdentity) == 256, "exchanged as 256 bytes");

/// This rank's identity.
RankIdentity identityOf(const ringattn_context &c);

/// CONFIG_MISMATCH unless every rank runs this rank's package and batch.
ringattn_status checkIdentities(ringattn_context &c,
                                const std::vector<RankIdentity> &identities);

/// The tensors of one call.
struct Tensors {
  const void *q = nullptr, *k = nullptr, *v = nullptr, *dout = nullptr;
  const void *out = nullptr;
  void *outWrite = nullptr;
  const float *lse = nullptr;
  float *lseWrite = nullptr;
  void *dq = nullptr, *dk = nullptr, *dv = nullptr;
};

//===----------------------------------------------------------------------===//
// Health.cpp
//===----------------------------------------------------------------------===//

/// Records the context's first failure (the sticky error) and returns it.
ringattn_status failContext(ringattn_context &c, ringattn_status status,
                            std::string message);

/// The sticky error, as a status and message for the calling thread.
ringattn_status stickyError(ringattn_context &c);

/// Fails the context and aborts its communicator (from the watchdog or a
/// bounded wait): stuck NCCL kernels then return.
void abortRing(ringattn_context &c, ringattn_status status,
               const std::string &message);

/// One poll of the ring's health: finished, failed (NCCL), or stalled past
/// the bound (then the ring is aborted). Returns true while work is still
/// outstanding.
bool pollRing(ringattn_context &c, const Driver &d, Clock::time_point since,
              int64_t boundMs);

/// The watchdog thread's body: polls the outstanding call until it ends,
/// fails, or stalls past the bound.
void watchdogLoop(ringattn_context *c);

/// Polls a non-blocking NCCL call to completion within the bound.
ringattn_status settleNccl(ringattn_context &c, const Nccl &nccl,
                           ncclResult_t result, const char *call);

/// Waits, within the bound, for the communication stream (context creation
/// only: forward and backward never block the host).
ringattn_status drainCommStream(ringattn_context &c, const Driver &d,
                                const std::string &what);

//===----------------------------------------------------------------------===//
// Ring.cpp
//===----------------------------------------------------------------------===//

/// Runs the rank's forward or backward program on `stream`; a failure part
/// way fails the context (see Ring.cpp).
ringattn_status run(ringattn_context &c, bool backward, const Tensors &t,
                    CUstream stream);

} // namespace ringattn::runtime

#endif // RINGATTN_RUNTIME_CONTEXT_H
