//===- Context.cpp - creating and destroying a rank of the ring -----------===//
//
// ringattn_context_create joins the ring (one NCCL communicator, or the
// copy-engine transport's windows and sockets; checked against every peer's
// package and batch), opens the connections its programs use, allocates the
// rank's buffers and starts the watchdog;
// ringattn_context_destroy gives everything back, a failed context's device
// buffers only once its streams have drained. The C API's calls on a context
// land here and run through Ring.cpp; failures through Health.cpp.
//
//===----------------------------------------------------------------------===//

#include "Context.h"
#include "Error.h"
#include "Module.h"
#include "Package.h"
#include "TensorMap.h"
#include "ringattn/testing.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <random>

using namespace ringattn::runtime;

namespace {

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

} // namespace

namespace ringattn::runtime {

ringattn_status transportOf(Transport &transport) {
  const char *name = std::getenv("RINGATTN_TRANSPORT");
  std::string value = name ? name : "";
  if (value.empty() || value == "nccl")
    transport = Transport::Nccl;
  else if (value == "ce")
    transport = Transport::CopyEngine;
  else
    return invalid("RINGATTN_TRANSPORT must be nccl or ce (got '" + value +
                   "')");
  return RINGATTN_OK;
}

RankIdentity identityOf(const ringattn_context &c) {
  RankIdentity mine{};
  mine.configHash = c.package->config_hash;
  mine.batch = c.batch;
  mine.rank = c.rank;
  std::strncpy(mine.description, c.package->description,
               sizeof(mine.description) - 1);
  return mine;
}

ringattn_status checkIdentities(ringattn_context &c,
                                const std::vector<RankIdentity> &identities) {
  RankIdentity mine = identityOf(c);
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
  return RINGATTN_OK;
}

} // namespace ringattn::runtime

namespace {

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
  RankIdentity mine = identityOf(c);
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
  RINGATTN_TRY(checkIdentities(c, identities));
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
  // aborted ring's kernels end, but a caller's stream may be slow to drain),
  // and a copy-engine ring's copies write into its peers' windows, mapped
  // here: free the device buffers and unmap only once it has drained, within
  // the bound; otherwise leave them (a leak, not a use after free).
  if (c.error.load() != RINGATTN_OK || c.ce) {
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
      if (c.ce)
        tendCopyEngine(c, *d); // peers' notices; releases a failed ring
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  if (c.ce) {
    if (c.ce->base)
      liveDeviceBytes -= static_cast<int64_t>(c.ce->mappedBytes);
    releaseCopyEngine(c, *d);
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
  Transport transport = Transport::Nccl;
  RINGATTN_TRY(transportOf(transport));
  if (transport == Transport::CopyEngine) {
    // Names the ring's sockets: random, no NCCL needed.
    std::random_device random;
    for (size_t i = 0; i < sizeof(id->internal); i += sizeof(unsigned)) {
      unsigned word = random();
      std::memcpy(id->internal + i, &word, sizeof(word));
    }
    return succeed();
  }
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
                   " needs the ring's unique id)");
  Transport transport = Transport::Nccl;
  RINGATTN_TRY(transportOf(transport));
  bool copyEngine = package->cp > 1 && transport == Transport::CopyEngine;
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
  // Over the copy engines the ring slots live in the rank's window
  // (joinCopyEngineRing points them there).
  for (CUdeviceptr &p : c->kvRing)
    if (!copyEngine && (status = alloc(p, 2 * c->kvElements)) != RINGATTN_OK)
      return cleanup(status);
  for (CUdeviceptr &p : c->dkvRing)
    if (!copyEngine && (status = alloc(p, 8 * c->kvElements)) != RINGATTN_OK)
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
  if (copyEngine) {
    status = joinCopyEngineRing(*c, *d, *id);
    if (c->ce && c->ce->base)
      liveDeviceBytes += static_cast<int64_t>(c->ce->mappedBytes);
    if (status != RINGATTN_OK)
      return cleanup(status);
  } else if (package->cp > 1 &&
             (status = joinRing(*c, *d, *id)) != RINGATTN_OK) {
    return cleanup(status);
  }
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
