//===- Ring.cpp - running a rank's forward or backward program ------------===//
//
// The ring: runs the generated program of one rank (ringattn/package.h).
// Posts run as transfer groups (NCCL's, or the copy engines': CopyEngine.cpp)
// on the context's communication streams, after an
// event that orders them behind the work already on the caller's stream;
// waits make the caller's stream wait for a group's event; computes launch
// the generated kernels on the caller's stream. Nothing blocks the host, so
// a forward or backward can be captured in a CUDA graph.
//
//===----------------------------------------------------------------------===//

#include "Context.h"
#include "Error.h"
#include "Module.h"

#include <algorithm>

using namespace ringattn::runtime;

namespace {

ncclDataType_t ncclTypeOf(ringattn_dtype dtype) {
  return dtype == RINGATTN_BF16 ? ncclBfloat16 : ncclFloat16;
}

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
  if (c.ce)
    RINGATTN_TRY(checkCopyEnginePeers(c));
  else if (c.package->cp > 1)
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
      return c.ce ? fail(RINGATTN_ERROR_NCCL,
                         "a copy-engine transfer group failed (injected "
                         "fault RINGATTN_FAULT_NCCL)")
                  : checkNccl(ncclSystemError, "ncclGroupEnd (injected fault)");
    int start = timing(on);
    if (c.transfers && c.ce)
      RINGATTN_TRY(postCopyEngineGroup(c, *d, backward, group.first,
                                       group.last, t, on));
    else if (c.transfers)
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

} // namespace

namespace ringattn::runtime {

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

} // namespace ringattn::runtime
