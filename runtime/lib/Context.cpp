//===- Context.cpp - a rank of the ring ------------------------------------===//
//
// ringattn_context runs the generated forward and backward programs of one
// rank (ringattn/package.h): posts run as NCCL groups on the context's
// communication stream, after an event that orders them behind the work
// already on the caller's stream; waits make the caller's stream wait for a
// group's event; computes launch the generated kernels on the caller's
// stream. Nothing blocks the host, so a forward or backward can be captured
// in a CUDA graph. A watchdog thread bounds how long the ring may stall: on a
// NCCL error, or when enqueued work does not finish within the bound, it
// aborts the communicator (stuck NCCL kernels then return) and the context
// reports the error from then on.
//
//===----------------------------------------------------------------------===//

#include "Launch.h"
#include "Nccl.h"
#include "Package.h"
#include "TensorMap.h"
#include "ringattn/package.h"
#include "ringattn/testing.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace ringattn::runtime;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kDefaultTimeoutMs = 300000;

/// What every rank tells the others when it joins the ring.
struct RankIdentity {
  uint64_t configHash;
  int64_t batch;
  int64_t rank;
  char description[232];
};
static_assert(sizeof(RankIdentity) == 256, "exchanged as 256 bytes");

ncclDataType_t ncclTypeOf(ringattn_dtype dtype) {
  return dtype == RINGATTN_BF16 ? ncclBfloat16 : ncclFloat16;
}

} // namespace

struct ringattn_context {
  const ringattn_package *package = nullptr;
  int rank = 0;
  int64_t batch = 0;
  int64_t timeoutMs = kDefaultTimeoutMs;
  ringattn_module *module = nullptr;
  ncclComm_t comm = nullptr;
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
  Clock::time_point outstandingSince;
  std::atomic<int> error{RINGATTN_OK};
  std::string errorMessage;
};

namespace {

ringattn_status failContext(ringattn_context &c, ringattn_status status,
                            std::string message) {
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    if (c.error.load() == RINGATTN_OK) {
      c.errorMessage = message;
      c.error.store(status);
    }
  }
  return fail(status, message);
}

/// The sticky error, as a status and message for the calling thread.
ringattn_status stickyError(ringattn_context &c) {
  int status = c.error.load();
  if (status == RINGATTN_OK)
    return RINGATTN_OK;
  std::lock_guard<std::mutex> lock(c.mutex);
  return fail(RINGATTN_ERROR_CONTEXT_FAILED,
              "the context failed earlier: " + c.errorMessage);
}

/// Aborts the communicator (from the watchdog or a bounded wait).
void abortRing(ringattn_context &c, ringattn_status status,
               const std::string &message) {
  failContext(c, status, message);
  const Nccl *nccl = nullptr;
  if (c.comm && loadNccl(nccl) == RINGATTN_OK)
    nccl->commAbort(c.comm);
  c.comm = nullptr;
}

/// One poll of the ring's health: finished, failed (NCCL), or stalled past
/// the bound. Returns true while work is still outstanding.
bool pollRing(ringattn_context &c, const Driver &d, Clock::time_point since,
              int64_t boundMs) {
  // Another thread may be capturing a CUDA graph (in the global mode, as
  // PyTorch does): querying an event from this thread in the default mode
  // would invalidate that capture. The query is safe; say so.
  CUstreamCaptureMode mode = CU_STREAM_CAPTURE_MODE_RELAXED;
  d.threadExchangeStreamCaptureMode(&mode);
  CUresult query = d.eventQuery(c.done);
  d.threadExchangeStreamCaptureMode(&mode);
  if (query == CUDA_SUCCESS)
    return false;
  if (query != CUDA_ERROR_NOT_READY) {
    abortRing(c, RINGATTN_ERROR_CUDA, "the ring's work failed on the device");
    return false;
  }
  const Nccl *nccl = nullptr;
  if (c.comm && loadNccl(nccl) == RINGATTN_OK) {
    ncclResult_t async = ncclSuccess;
    nccl->commGetAsyncError(c.comm, &async);
    if (async != ncclSuccess && async != ncclInProgress) {
      abortRing(c, RINGATTN_ERROR_NCCL,
                std::string("NCCL failed in the ring: ") +
                    nccl->getErrorString(async));
      return false;
    }
  }
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                     Clock::now() - since)
                     .count();
  if (elapsed > boundMs) {
    abortRing(c, RINGATTN_ERROR_TIMEOUT,
              "rank " + std::to_string(c.rank) + ": the ring made no progress "
              "for " + std::to_string(boundMs) +
                  " ms (a peer exited, crashed or never called); the "
                  "communicator was aborted");
    return false;
  }
  return true;
}

void watchdogLoop(ringattn_context *c) {
  const Driver *d = nullptr;
  if (loadDriver(d) != RINGATTN_OK)
    return;
  d->ctxSetCurrent(c->module->context);
  std::unique_lock<std::mutex> lock(c->mutex);
  while (!c->stop) {
    c->wake.wait_for(lock, std::chrono::milliseconds(5));
    if (c->stop || !c->outstanding || c->error.load() != RINGATTN_OK)
      continue;
    Clock::time_point since = c->outstandingSince;
    uint64_t generation = c->generation;
    lock.unlock();
    bool still = pollRing(*c, *d, since, c->timeoutMs);
    lock.lock();
    // A call that came in meanwhile is watched afresh.
    if (!still && generation == c->generation)
      c->outstanding = false;
  }
}

/// Polls a non-blocking NCCL call to completion within the bound.
ringattn_status settleNccl(ringattn_context &c, const Nccl &nccl,
                           ncclResult_t result, const char *call) {
  RINGATTN_TRY(checkNccl(result, call));
  Clock::time_point start = Clock::now();
  ncclResult_t state = ncclInProgress;
  while (true) {
    nccl.commGetAsyncError(c.comm, &state);
    if (state != ncclInProgress)
      break;
    if (Clock::now() - start > std::chrono::milliseconds(c.timeoutMs)) {
      abortRing(c, RINGATTN_ERROR_TIMEOUT,
                std::string(call) + " did not complete within " +
                    std::to_string(c.timeoutMs) + " ms (do all " +
                    std::to_string(c.package->cp) +
                    " ranks take part, with the same package?)");
      return RINGATTN_ERROR_TIMEOUT;
    }
    // A posted group settles within microseconds: spin (a sleep would
    // delay the next kernel's launch by its granularity, ~0.1-0.4 ms
    // measured); back off only for a slow setup.
    if (Clock::now() - start < std::chrono::milliseconds(5))
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  if (state != ncclSuccess)
    return checkNccl(state, call);
  return RINGATTN_OK;
}

/// Device bytes all contexts of the process hold (ringattn_testing_device_bytes).
std::atomic<int64_t> liveDeviceBytes{0};

/// Allocates one of the context's device buffers (recorded for release()).
ringattn_status allocate(ringattn_context &c, const Driver &d, CUdeviceptr &ptr,
                         int64_t bytes) {
  RINGATTN_TRY(
      checkCuda(d.memAlloc(&ptr, static_cast<size_t>(bytes)), "cuMemAlloc"));
  c.allocations.emplace_back(ptr, bytes);
  liveDeviceBytes += bytes;
  return RINGATTN_OK;
}

/// Waits, within the bound, for the communication stream (context creation
/// only: forward and backward never block the host).
ringattn_status drainCommStream(ringattn_context &c, const Driver &d,
                                const std::string &what) {
  Clock::time_point start = Clock::now();
  while (true) {
    CUresult query = d.streamQuery(c.commStream);
    if (query == CUDA_SUCCESS)
      return RINGATTN_OK;
    if (query != CUDA_ERROR_NOT_READY)
      return checkCuda(query, "cuStreamQuery");
    if (Clock::now() - start > std::chrono::milliseconds(c.timeoutMs)) {
      abortRing(c, RINGATTN_ERROR_TIMEOUT,
                what + " did not complete within " +
                    std::to_string(c.timeoutMs) + " ms");
      return RINGATTN_ERROR_TIMEOUT;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

/// Opens the NCCL connections to every peer this rank's programs send to or
/// receive from, with a one-float exchange: NCCL connects lazily, and a first
/// transfer inside forward would otherwise block the host on the setup.
ringattn_status connectPeers(ringattn_context &c, const Driver &d,
                             const Nccl &nccl) {
  std::vector<int> sendTo, recvFrom;
  for (const ringattn_program *programs :
       {c.package->forward, c.package->backward}) {
    const ringattn_program &program = programs[c.rank];
    for (int i = 0; i < program.num_ops; ++i) {
      const ringattn_op &op = program.ops[i];
      std::vector<int> *peers = op.kind == RINGATTN_OP_SEND   ? &sendTo
                                : op.kind == RINGATTN_OP_RECV ? &recvFrom
                                                              : nullptr;
      if (peers && std::find(peers->begin(), peers->end(), op.peer) ==
                       peers->end())
        peers->push_back(op.peer);
    }
  }
  if (sendTo.empty() && recvFrom.empty())
    return RINGATTN_OK;
  RINGATTN_TRY(checkNccl(nccl.groupStart(), "ncclGroupStart"));
  for (int peer : sendTo)
    nccl.send(reinterpret_cast<const void *>(c.exchange), 1, ncclFloat32, peer,
              c.comm, c.commStream);
  for (size_t i = 0; i < recvFrom.size(); ++i)
    nccl.recv(reinterpret_cast<void *>(c.exchange + 4 * (i + 1)), 1,
              ncclFloat32, recvFrom[i], c.comm, c.commStream);
  RINGATTN_TRY(settleNccl(c, nccl, nccl.groupEnd(), "ncclGroupEnd (connecting "
                                                    "to the peers)"));
  return drainCommStream(c, d, "connecting to the peers");
}

/// Joins the ring and checks that every rank runs the same package.
ringattn_status joinRing(ringattn_context &c, const Driver &d,
                         const ringattn_unique_id &id) {
  const Nccl *nccl = nullptr;
  RINGATTN_TRY(loadNccl(nccl));
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  ncclUniqueId uid;
  static_assert(sizeof(uid) == sizeof(id.internal), "ncclUniqueId size");
  std::memcpy(&uid, id.internal, sizeof(uid));
  RINGATTN_TRY(settleNccl(
      c, *nccl,
      nccl->commInitRankConfig(&c.comm, static_cast<int>(c.package->cp), uid,
                               c.rank, &config),
      "ncclCommInitRankConfig"));

  int64_t cp = c.package->cp;
  std::vector<RankIdentity> identities(cp);
  RankIdentity mine{};
  mine.configHash = c.package->config_hash;
  mine.batch = c.batch;
  mine.rank = c.rank;
  std::strncpy(mine.description, c.package->description,
               sizeof(mine.description) - 1);
  RINGATTN_TRY(allocate(c, d, c.exchange, sizeof(RankIdentity) * (cp + 1)));
  CUdeviceptr myBlock = c.exchange + sizeof(RankIdentity) * cp;
  RINGATTN_TRY(checkCuda(d.memcpyHtoDAsync(myBlock, &mine, sizeof(mine),
                                           c.commStream),
                         "cuMemcpyHtoDAsync"));
  RINGATTN_TRY(settleNccl(
      c, *nccl,
      nccl->allGather(reinterpret_cast<void *>(myBlock),
                      reinterpret_cast<void *>(c.exchange), sizeof(RankIdentity),
                      ncclUint8, c.comm, c.commStream),
      "ncclAllGather"));
  RINGATTN_TRY(checkCuda(d.memcpyDtoHAsync(identities.data(), c.exchange,
                                           sizeof(RankIdentity) * cp,
                                           c.commStream),
                         "cuMemcpyDtoHAsync"));
  RINGATTN_TRY(drainCommStream(c, d, "the configuration exchange"));
  for (const RankIdentity &peer : identities) {
    if (peer.configHash == mine.configHash && peer.batch == mine.batch)
      continue;
    std::string theirs(peer.description, strnlen(peer.description,
                                                 sizeof(peer.description)));
    return fail(RINGATTN_ERROR_CONFIG_MISMATCH,
                "rank " + std::to_string(peer.rank) + " runs " + theirs +
                    " with batch " + std::to_string(peer.batch) + ", rank " +
                    std::to_string(c.rank) + " runs " +
                    c.package->description + " with batch " +
                    std::to_string(c.batch) +
                    ": every rank must use the same package and batch");
  }
  return connectPeers(c, d, *nccl);
}

void release(ringattn_context &c) {
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    c.stop = true;
  }
  c.wake.notify_all();
  if (c.watchdog.joinable())
    c.watchdog.join();
  const Driver *d = nullptr;
  if (loadDriver(d) != RINGATTN_OK)
    return;
  ContextGuard guard(c.module ? c.module->context : nullptr);
  const Nccl *nccl = nullptr;
  if (c.comm && loadNccl(nccl) == RINGATTN_OK) {
    if (c.error.load() == RINGATTN_OK)
      nccl->commDestroy(c.comm);
    else
      nccl->commAbort(c.comm);
  }
  // A failed context may still have work queued that reads its buffers (an
  // aborted ring's kernels end, but a caller's stream may be slow to drain):
  // free the device buffers only once it has drained, within the bound;
  // otherwise leave them (a leak, not a use after free).
  if (c.error.load() != RINGATTN_OK) {
    Clock::time_point start = Clock::now();
    auto busy = [&]() {
      for (CUstream s : {c.commStream, c.backgroundStream})
        if (s && d->streamQuery(s) == CUDA_ERROR_NOT_READY)
          return true;
      return c.done && c.doneRecorded &&
             d->eventQuery(c.done) == CUDA_ERROR_NOT_READY;
    };
    while (busy()) {
      if (Clock::now() - start > std::chrono::milliseconds(c.timeoutMs))
        return; // still busy: keep every device resource
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  for (auto [p, bytes] : c.allocations) {
    d->memFree(p);
    liveDeviceBytes -= bytes;
  }
  c.allocations.clear();
  for (CUevent e : c.syncEvents)
    d->eventDestroy(e);
  for (CUevent e : c.timingEvents)
    d->eventDestroy(e);
  if (c.done)
    d->eventDestroy(c.done);
  if (c.commStream)
    d->streamDestroy(c.commStream);
  if (c.backgroundStream)
    d->streamDestroy(c.backgroundStream);
  if (c.module)
    ringattn_module_unload(c.module);
}

/// The tensors of one call.
struct Tensors {
  const void *q = nullptr, *k = nullptr, *v = nullptr, *dout = nullptr;
  const void *out = nullptr;
  void *outWrite = nullptr;
  const float *lse = nullptr;
  float *lseWrite = nullptr;
  void *dq = nullptr, *dk = nullptr, *dv = nullptr;
};

/// Device pointers of K and V in `buffer`.
std::pair<const void *, const void *> kvOf(ringattn_context &c,
                                           const Tensors &t,
                                           ringattn_buffer_ref buffer) {
  if (buffer.kind == RINGATTN_BUFFER_KV_LOCAL)
    return {t.k, t.v};
  return {reinterpret_cast<const void *>(c.kvRing[2 * buffer.slot]),
          reinterpret_cast<const void *>(c.kvRing[2 * buffer.slot + 1])};
}

CUdeviceptr dkvOf(ringattn_context &c, ringattn_buffer_ref buffer) {
  return buffer.kind == RINGATTN_BUFFER_DKV_PARTIAL ? c.dkvPartial
                                                    : c.dkvRing[buffer.slot];
}

/// Posts one NCCL group: the run of sends and receives ops[first, last).
ringattn_status postGroup(ringattn_context &c, const Nccl &nccl,
                          const ringattn_op *ops, int first, int last,
                          const Tensors &t, CUstream on) {
  RINGATTN_TRY(checkNccl(nccl.groupStart(), "ncclGroupStart"));
  ncclDataType_t kvType = ncclTypeOf(c.package->dtype);
  for (int i = first; i < last; ++i) {
    const ringattn_op &op = ops[i];
    bool isSend = op.kind == RINGATTN_OP_SEND;
    auto post = [&](const void *ptr, size_t count, ncclDataType_t type) {
      return isSend ? nccl.send(ptr, count, type, op.peer, c.comm, on)
                    : nccl.recv(const_cast<void *>(ptr), count, type, op.peer,
                                c.comm, on);
    };
    ncclResult_t result;
    if (op.buffer.kind == RINGATTN_BUFFER_DKV_RING) {
      result = post(reinterpret_cast<const void *>(c.dkvRing[op.buffer.slot]),
                    2 * c.kvElements, ncclFloat32);
    } else {
      auto [k, v] = kvOf(c, t, op.buffer);
      result = post(k, c.kvElements, kvType);
      if (result == ncclSuccess || result == ncclInProgress)
        result = post(v, c.kvElements, kvType);
    }
    if (result != ncclSuccess && result != ncclInProgress) {
      nccl.groupEnd();
      return checkNccl(result, isSend ? "ncclSend" : "ncclRecv");
    }
  }
  return settleNccl(c, nccl, nccl.groupEnd(), "ncclGroupEnd");
}

/// Runs rank's forward or backward program on `stream`.
ringattn_status runProgram(ringattn_context &c, bool backward,
                           const Tensors &t, CUstream stream) {
  const Driver *d = nullptr;
  RINGATTN_TRY(loadDriver(d));
  const Nccl *nccl = nullptr;
  if (c.package->cp > 1)
    RINGATTN_TRY(loadNccl(nccl));
  ContextGuard guard(c.module->context);
  RINGATTN_TRY(guard.status());
  const ringattn_package &p = *c.package;
  const ringattn_program &program =
      backward ? p.backward[c.rank] : p.forward[c.rank];
  std::vector<CUevent> groupOf(program.num_transfers, nullptr);
  size_t nextSync = 0, nextTiming = 0;
  auto syncEvent = [&]() -> CUevent {
    return nextSync < c.syncEvents.size() ? c.syncEvents[nextSync++] : nullptr;
  };
  c.spans.clear();
  auto timing = [&](CUstream on) -> int {
    if (!c.timeline || nextTiming >= c.timingEvents.size())
      return -1;
    d->eventRecord(c.timingEvents[nextTiming], on);
    return static_cast<int>(nextTiming++);
  };
  int origin = timing(stream);
  const ringattn_kernel *kernels = p.kernels;
  // The caller's stream before the call's first kernel: a group posted before
  // any op of the program has run needs nothing the call computes (the
  // backward's first K/V hop then runs beside the preprocess kernel).
  CUevent callStart = syncEvent();
  if (!callStart)
    return fail(RINGATTN_ERROR_CUDA, "ran out of synchronization events");
  RINGATTN_TRY(checkCuda(d->eventRecord(callStart, stream), "cuEventRecord"));
  bool started = false;

  if (backward) {
    RINGATTN_TRY(ringattn_launch_preprocess(
        c.module, &kernels[p.preprocess_kernel], t.out, t.dout,
        reinterpret_cast<float *>(c.delta), reinterpret_cast<float *>(c.dqAcc),
        c.batch, stream));
  }
  // A group recorded (its fork event) but not yet posted to NCCL.
  struct Pending {
    int first = -1, last = -1;
    CUevent fork = nullptr;
  } pending;
  // Groups run in program order (NCCL matches a communicator's operations
  // in issue order): a group on the other stream waits for the one before.
  CUevent lastGroup = nullptr;
  CUstream lastStream = nullptr;
  auto flush = [&]() -> ringattn_status {
    if (pending.first < 0)
      return RINGATTN_OK;
    Pending group = pending;
    pending = Pending();
    CUevent done = syncEvent();
    if (!done)
      return fail(RINGATTN_ERROR_CUDA, "ran out of synchronization events");
    bool dkv = program.ops[group.first].buffer.kind == RINGATTN_BUFFER_DKV_RING;
    CUstream on = dkv ? c.backgroundStream : c.commStream;
    RINGATTN_TRY(checkCuda(d->streamWaitEvent(on, group.fork, 0),
                           "cuStreamWaitEvent"));
    if (lastGroup && lastStream != on)
      RINGATTN_TRY(checkCuda(d->streamWaitEvent(on, lastGroup, 0),
                             "cuStreamWaitEvent"));
    if (c.failNextGroup.exchange(false))
      return checkNccl(ncclSystemError, "ncclGroupEnd (injected fault)");
    int start = timing(on);
    if (c.transfers)
      RINGATTN_TRY(
          postGroup(c, *nccl, program.ops, group.first, group.last, t, on));
    int end = timing(on);
    if (start >= 0 && end >= 0)
      c.spans.push_back({1, program.ops[group.first].hop, start, end});
    RINGATTN_TRY(checkCuda(d->eventRecord(done, on), "cuEventRecord"));
    for (int j = group.first; j < group.last; ++j)
      groupOf[program.ops[j].transfer] = done;
    lastGroup = done;
    lastStream = on;
    return RINGATTN_OK;
  };
  for (int i = 0; i < program.num_ops;) {
    const ringattn_op &op = program.ops[i];
    if (op.kind != RINGATTN_OP_SEND && op.kind != RINGATTN_OP_RECV &&
        op.kind != RINGATTN_OP_COMPUTE)
      RINGATTN_TRY(flush());
    // Later groups fork after what this op puts on the caller's stream.
    if (op.kind != RINGATTN_OP_SEND && op.kind != RINGATTN_OP_RECV)
      started = true;
    switch (op.kind) {
    case RINGATTN_OP_SEND:
    case RINGATTN_OP_RECV: {
      int last = i;
      while (last < program.num_ops &&
             (program.ops[last].kind == RINGATTN_OP_SEND ||
              program.ops[last].kind == RINGATTN_OP_RECV))
        ++last;
      // The group runs after everything already on the caller's stream; it
      // is posted to NCCL after the next kernel's launch, so the host's NCCL
      // enqueue time hides behind that kernel.
      RINGATTN_TRY(flush());
      CUevent fork = started ? syncEvent() : callStart;
      if (!fork)
        return fail(RINGATTN_ERROR_CUDA, "ran out of synchronization events");
      if (started)
        RINGATTN_TRY(checkCuda(d->eventRecord(fork, stream), "cuEventRecord"));
      pending = {i, last, fork};
      i = last;
      continue;
    }
    case RINGATTN_OP_WAIT: {
      CUevent previous = nullptr;
      for (int w = 0; w < op.num_waits; ++w) {
        CUevent group = groupOf[program.waits[op.first_wait + w]];
        if (!group || group == previous)
          continue;
        RINGATTN_TRY(checkCuda(d->streamWaitEvent(stream, group, 0),
                               "cuStreamWaitEvent"));
        previous = group;
      }
      break;
    }
    case RINGATTN_OP_COMPUTE: {
      int start = timing(stream);
      auto [k, v] = kvOf(c, t, op.buffer);
      if (!backward) {
        ringattn_forward_args args{};
        args.q = t.q;
        args.k = k;
        args.v = v;
        args.o_acc = reinterpret_cast<float *>(c.oAcc);
        args.lse_acc = reinterpret_cast<float *>(c.lseAcc);
        args.out = t.outWrite;
        args.lse = t.lseWrite;
        args.batch = c.batch;
        RINGATTN_TRY(ringattn_launch_forward(c.module, &kernels[op.kernel],
                                             &args, stream));
      } else {
        CUdeviceptr dkv = dkvOf(c, op.buffer2);
        ringattn_backward_args args{};
        args.q = t.q;
        args.k = k;
        args.v = v;
        args.dout = t.dout;
        args.lse = t.lse;
        args.delta = reinterpret_cast<const float *>(c.delta);
        args.dq_acc = reinterpret_cast<float *>(c.dqAcc);
        args.dk = reinterpret_cast<float *>(dkv);
        args.dv = reinterpret_cast<float *>(dkv + 4 * c.kvElements);
        args.batch = c.batch;
        RINGATTN_TRY(ringattn_launch_backward(c.module, &kernels[op.kernel],
                                              &args, stream));
        if (op.dq_kernel >= 0) {
          args.dk = args.dv = nullptr;
          RINGATTN_TRY(ringattn_launch_backward(
              c.module, &kernels[op.dq_kernel], &args, stream));
        }
      }
      int end = timing(stream);
      if (start >= 0 && end >= 0)
        c.spans.push_back({0, op.step, start, end});
      RINGATTN_TRY(flush());
      break;
    }
    case RINGATTN_OP_ACCUMULATE:
      RINGATTN_TRY(ringattn_launch_accumulate(
          c.module, &kernels[p.accumulate_kernel],
          reinterpret_cast<float *>(dkvOf(c, op.buffer2)),
          reinterpret_cast<const float *>(dkvOf(c, op.buffer)), c.batch,
          stream));
      break;
    case RINGATTN_OP_FINALIZE:
      if (backward) {
        CUdeviceptr home = dkvOf(c, op.buffer);
        RINGATTN_TRY(ringattn_launch_finalize(
            c.module, &kernels[p.finalize_kernel],
            reinterpret_cast<const float *>(c.dqAcc),
            reinterpret_cast<const float *>(home),
            reinterpret_cast<const float *>(home + 4 * c.kvElements), t.dq,
            t.dk, t.dv, c.batch, stream));
      }
      break;
    }
    ++i;
  }
  RINGATTN_TRY(flush());
  // Join: the caller's stream continues only after every transfer (a send
  // may still read the caller's k and v); the groups ran in order, so after
  // the last one.
  if (lastGroup)
    RINGATTN_TRY(checkCuda(d->streamWaitEvent(stream, lastGroup, 0),
                           "cuStreamWaitEvent"));
  if (origin >= 0)
    c.spans.push_back({-1, -1, origin, origin});
  // The watchdog bounds the wait for this work (not while capturing a graph:
  // a captured event cannot be polled).
  CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_NONE;
  d->streamIsCapturing(stream, &capture);
  if (capture == CU_STREAM_CAPTURE_STATUS_NONE) {
    RINGATTN_TRY(checkCuda(d->eventRecord(c.done, stream), "cuEventRecord"));
    c.doneRecorded = true;
    std::lock_guard<std::mutex> lock(c.mutex);
    c.outstanding = true;
    ++c.generation;
    c.outstandingSince = Clock::now();
  }
  return succeed();
}

/// Runs a program; a failure part way (a launch, an NCCL call) fails the
/// context: the work already queued may wait on transfers that will never
/// come, so the ring is aborted (its pending transfers end), the caller's
/// stream is marked so destroy can tell when it has drained, and every
/// later call reports the failure.
ringattn_status run(ringattn_context &c, bool backward, const Tensors &t,
                    CUstream stream) {
  RINGATTN_TRY(stickyError(c));
  ringattn_status status = runProgram(c, backward, t, stream);
  if (status == RINGATTN_OK)
    return status;
  std::string message = ringattn_last_error();
  abortRing(c, status, message);
  const Driver *d = nullptr;
  if (loadDriver(d) == RINGATTN_OK) {
    CUstreamCaptureStatus capture = CU_STREAM_CAPTURE_STATUS_NONE;
    d->streamIsCapturing(stream, &capture);
    if (capture == CU_STREAM_CAPTURE_STATUS_NONE &&
        d->eventRecord(c.done, stream) == CUDA_SUCCESS)
      c.doneRecorded = true;
  }
  return fail(status, message);
}

} // namespace

extern "C" ringattn_status
ringattn_context_inject_fault(ringattn_context *context,
                              ringattn_fault fault) {
  if (!context)
    return invalid("context is null");
  if (fault != RINGATTN_FAULT_NONE && fault != RINGATTN_FAULT_NCCL &&
      fault != RINGATTN_FAULT_LAUNCH)
    return invalid("unknown fault " + std::to_string(static_cast<int>(fault)));
  if (fault == RINGATTN_FAULT_NCCL && context->package->cp == 1)
    return invalid("a cp = 1 context makes no NCCL calls");
  context->failNextGroup.store(fault == RINGATTN_FAULT_NCCL);
  context->module->failNextLaunch.store(fault == RINGATTN_FAULT_LAUNCH);
  return succeed();
}

extern "C" ringattn_status ringattn_get_unique_id(ringattn_unique_id *id) {
  if (!id)
    return invalid("id is null");
  const Nccl *nccl = nullptr;
  RINGATTN_TRY(loadNccl(nccl));
  ncclUniqueId uid;
  RINGATTN_TRY(checkNccl(nccl->getUniqueId(&uid), "ncclGetUniqueId"));
  std::memcpy(id->internal, &uid, sizeof(uid));
  return succeed();
}

extern "C" ringattn_status ringattn_context_create(
    const ringattn_package *package, int rank, int device, int64_t batch,
    const ringattn_unique_id *id, int64_t timeoutMs,
    ringattn_context **context) {
  if (!context)
    return invalid("context (the output) is null");
  *context = nullptr;
  if (!package)
    return invalid("package is null");
  if (batch < 1 || batch > 65535)
    return invalid("batch must be in [1, 65535] (got " +
                   std::to_string(batch) + ")");
  if (timeoutMs < 0)
    return invalid("timeout_ms must not be negative");
  RINGATTN_TRY(checkPackage(package, rank));
  if (!rowVectorMapFits(batch, package->heads, package->local_length))
    return invalid("batch " + std::to_string(batch) + " x heads " +
                   std::to_string(package->heads) + " x local length " +
                   std::to_string(package->local_length) +
                   " exceeds what the backward kernels address in lse "
                   "(2^31 - " + std::to_string(1 + kRowVectorSlack) +
                   " elements): use a smaller batch per call");
  if (package->cp > 1 && !id)
    return invalid("id is null (cp = " + std::to_string(package->cp) +
                   " needs the ring's NCCL unique id)");
  const Driver *d = nullptr;
  RINGATTN_TRY(loadDriver(d));

  auto c = std::make_unique<ringattn_context>();
  c->package = package;
  c->rank = rank;
  c->batch = batch;
  c->timeoutMs = timeoutMs ? timeoutMs : kDefaultTimeoutMs;
  c->kvElements = batch * package->local_length * package->kv_heads *
                  package->head_dim;
  c->qElements =
      batch * package->local_length * package->heads * package->head_dim;
  auto cleanup = [&](ringattn_status status) {
    // Keep the failure's message over what release() may set.
    std::string message = ringattn_last_error();
    release(*c);
    const std::string prefix = "ringattn: ";
    if (message.compare(0, prefix.size(), prefix) == 0)
      message.erase(0, prefix.size());
    return fail(status, message);
  };
  ringattn_status status = ringattn_module_load_image(
      package->cubin, package->cubin_size, device, &c->module);
  if (status != RINGATTN_OK)
    return status;
  ContextGuard guard(c->module->context);
  if (guard.status() != RINGATTN_OK)
    return cleanup(guard.status());

  int64_t rows = batch * package->local_length;
  auto alloc = [&](CUdeviceptr &ptr, int64_t bytes) {
    return allocate(*c, *d, ptr, bytes);
  };
  c->kvRing.assign(2 * package->kv_ring_slots, 0);
  c->dkvRing.assign(package->dkv_ring_slots, 0);
  for (CUdeviceptr &p : c->kvRing)
    if ((status = alloc(p, 2 * c->kvElements)) != RINGATTN_OK)
      return cleanup(status);
  for (CUdeviceptr &p : c->dkvRing)
    if ((status = alloc(p, 8 * c->kvElements)) != RINGATTN_OK)
      return cleanup(status);
  if ((status = alloc(c->dkvPartial, 8 * c->kvElements)) != RINGATTN_OK ||
      (status = alloc(c->oAcc, 4 * c->qElements)) != RINGATTN_OK ||
      (status = alloc(c->lseAcc, 4 * rows * package->heads)) != RINGATTN_OK ||
      (status = alloc(c->delta, 4 * rows * package->heads)) != RINGATTN_OK ||
      (status = alloc(c->dqAcc, 4 * c->qElements)) != RINGATTN_OK)
    return cleanup(status);
  int leastPriority = 0, greatestPriority = 0;
  d->ctxGetStreamPriorityRange(&leastPriority, &greatestPriority);
  if ((status = checkCuda(d->streamCreateWithPriority(&c->commStream,
                                                      CU_STREAM_NON_BLOCKING,
                                                      greatestPriority),
                          "cuStreamCreateWithPriority")) != RINGATTN_OK ||
      (status = checkCuda(d->streamCreate(&c->backgroundStream,
                                          CU_STREAM_NON_BLOCKING),
                          "cuStreamCreate")) != RINGATTN_OK)
    return cleanup(status);
  int events = 0;
  for (int r = 0; r < package->cp; ++r)
    events = std::max({events, package->forward[r].num_ops,
                       package->backward[r].num_ops});
  c->syncEvents.assign(2 * events + 2, nullptr);
  c->timingEvents.assign(2 * events + 2, nullptr);
  for (CUevent &e : c->syncEvents)
    if ((status = checkCuda(d->eventCreate(&e, CU_EVENT_DISABLE_TIMING),
                            "cuEventCreate")) != RINGATTN_OK)
      return cleanup(status);
  for (CUevent &e : c->timingEvents)
    if ((status = checkCuda(d->eventCreate(&e, CU_EVENT_DEFAULT),
                            "cuEventCreate")) != RINGATTN_OK)
      return cleanup(status);
  if ((status = checkCuda(d->eventCreate(&c->done, CU_EVENT_DISABLE_TIMING),
                          "cuEventCreate")) != RINGATTN_OK)
    return cleanup(status);
  if (package->cp > 1 && (status = joinRing(*c, *d, *id)) != RINGATTN_OK)
    return cleanup(status);
  c->watchdog = std::thread(watchdogLoop, c.get());
  *context = c.release();
  return succeed();
}

extern "C" ringattn_status ringattn_context_destroy(ringattn_context *context) {
  if (!context)
    return invalid("context is null");
  release(*context);
  delete context;
  return succeed();
}

namespace {
/// Every tensor of a call: non-null and 16-byte aligned.
ringattn_status
checkTensors(std::initializer_list<std::pair<const void *, const char *>> all) {
  for (auto [pointer, name] : all)
    RINGATTN_TRY(checkPointer(pointer, 16, name));
  return RINGATTN_OK;
}
} // namespace

extern "C" ringattn_status ringattn_forward(ringattn_context *context,
                                            const void *q, const void *k,
                                            const void *v, void *out,
                                            float *lse, void *stream) {
  if (!context)
    return invalid("context is null");
  RINGATTN_TRY(checkTensors(
      {{q, "q"}, {k, "k"}, {v, "v"}, {out, "out"}, {lse, "lse"}}));
  Tensors t;
  t.q = q;
  t.k = k;
  t.v = v;
  t.outWrite = out;
  t.lseWrite = lse;
  return run(*context, /*backward=*/false, t, static_cast<CUstream>(stream));
}

extern "C" ringattn_status
ringattn_backward(ringattn_context *context, const void *dout, const void *q,
                  const void *k, const void *v, const void *out,
                  const float *lse, void *dq, void *dk, void *dv,
                  void *stream) {
  if (!context)
    return invalid("context is null");
  RINGATTN_TRY(checkTensors({{dout, "dout"}, {q, "q"}, {k, "k"}, {v, "v"},
                             {out, "out"}, {lse, "lse"}, {dq, "dq"},
                             {dk, "dk"}, {dv, "dv"}}));
  Tensors t;
  t.q = q;
  t.k = k;
  t.v = v;
  t.dout = dout;
  t.out = out;
  t.lse = lse;
  t.dq = dq;
  t.dk = dk;
  t.dv = dv;
  return run(*context, /*backward=*/true, t, static_cast<CUstream>(stream));
}

extern "C" ringattn_status ringattn_context_wait(ringattn_context *context,
                                                 int64_t timeoutMs) {
  if (!context)
    return invalid("context is null");
  if (timeoutMs < 0)
    return invalid("timeout_ms must not be negative");
  const Driver *d = nullptr;
  RINGATTN_TRY(loadDriver(d));
  ContextGuard guard(context->module->context);
  RINGATTN_TRY(guard.status());
  int64_t bound = timeoutMs ? timeoutMs : context->timeoutMs;
  Clock::time_point since = Clock::now();
  uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> lock(context->mutex);
    generation = context->generation;
  }
  while (context->error.load() == RINGATTN_OK &&
         pollRing(*context, *d, since, bound))
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  int status = context->error.load();
  if (status == RINGATTN_OK) {
    // Finished: the watchdog has nothing left to watch.
    std::lock_guard<std::mutex> lock(context->mutex);
    if (generation == context->generation)
      context->outstanding = false;
  }
  if (status != RINGATTN_OK) {
    std::lock_guard<std::mutex> lock(context->mutex);
    return fail(static_cast<ringattn_status>(status), context->errorMessage);
  }
  return succeed();
}

extern "C" ringattn_status ringattn_context_status(ringattn_context *context) {
  if (!context)
    return invalid("context is null");
  return stickyError(*context) == RINGATTN_OK ? succeed()
                                              : RINGATTN_ERROR_CONTEXT_FAILED;
}

extern "C" ringattn_status ringattn_context_set_timeline(ringattn_context *context,
                                                         int enabled) {
  if (!context)
    return invalid("context is null");
  context->timeline = enabled != 0;
  return succeed();
}

extern "C" ringattn_status
ringattn_context_set_transfers(ringattn_context *context, int enabled) {
  if (!context)
    return invalid("context is null");
  context->transfers = enabled != 0;
  return succeed();
}

extern "C" ringattn_status
ringattn_context_timeline(ringattn_context *context,
                          ringattn_timeline_entry *entries, int capacity,
                          int *count) {
  if (!context)
    return invalid("context is null");
  if (!count || (capacity > 0 && !entries))
    return invalid("entries or count is null");
  *count = 0;
  if (context->spans.empty())
    return succeed();
  const Driver *d = nullptr;
  RINGATTN_TRY(loadDriver(d));
  ContextGuard guard(context->module->context);
  RINGATTN_TRY(guard.status());
  CUevent origin = context->timingEvents[context->spans.back().start];
  for (const auto &span : context->spans) {
    if (span.kind < 0 || *count >= capacity)
      continue;
    ringattn_timeline_entry &e = entries[(*count)++];
    e.kind = span.kind;
    e.step = span.step;
    RINGATTN_TRY(checkCuda(d->eventElapsedTime(&e.start_ms, origin,
                                               context->timingEvents[span.start]),
                           "cuEventElapsedTime"));
    RINGATTN_TRY(checkCuda(d->eventElapsedTime(&e.end_ms, origin,
                                               context->timingEvents[span.end]),
                           "cuEventElapsedTime"));
  }
  return succeed();
}

extern "C" int64_t ringattn_testing_device_bytes(void) {
  return liveDeviceBytes.load();
}
