//===- Health.cpp - the sticky error, the watchdog, bounded waits ----------===//
//
// A context fails once: the first failure's status and message stick, and
// every later call reports them. The watchdog thread bounds how long the ring
// may stall: on a NCCL error, or when enqueued work does not finish within
// the bound, it aborts the communicator (stuck NCCL kernels then return);
// over the copy engines it reads the peers' notices and, once the context
// has failed, releases the waits that can no longer be met.
// Host-side waits on NCCL and on the communication stream are bounded the
// same way.
//
//===----------------------------------------------------------------------===//

#include "Context.h"
#include "Error.h"
#include "Module.h"

#include <thread>

namespace ringattn::runtime {

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

ringattn_status stickyError(ringattn_context &c) {
  int status = c.error.load();
  if (status == RINGATTN_OK)
    return RINGATTN_OK;
  std::lock_guard<std::mutex> lock(c.mutex);
  return fail(RINGATTN_ERROR_CONTEXT_FAILED,
              "the context failed earlier: " + c.errorMessage);
}

void abortRing(ringattn_context &c, ringattn_status status,
               const std::string &message) {
  failContext(c, status, message);
  const Nccl *nccl = nullptr;
  if (c.comm && loadNccl(nccl) == RINGATTN_OK)
    nccl->commAbort(c.comm);
  c.comm = nullptr;
}

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
                  "ring was aborted");
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
    if (c->stop)
      continue;
    if (c->ce) {
      // The peers' notices, and a failed ring's release (failContext takes
      // the lock).
      lock.unlock();
      tendCopyEngine(*c, *d);
      lock.lock();
    }
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

} // namespace ringattn::runtime
