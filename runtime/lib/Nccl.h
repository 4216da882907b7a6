//===- Nccl.h - NCCL, loaded at run time ------------------------*- C++ -*-===//
//
// libnccl.so.2 is opened with dlopen (the copy the process already has, in a
// PyTorch process, else the system's), so the runtime links on machines
// without NCCL and shares one NCCL with PyTorch.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_RUNTIME_NCCL_H
#define RINGATTN_RUNTIME_NCCL_H

#include "Error.h"

#include <nccl.h>

namespace ringattn::runtime {

/// The NCCL entry points ringattn uses.
struct Nccl {
  decltype(&::ncclGetVersion) getVersion = nullptr;
  decltype(&::ncclGetUniqueId) getUniqueId = nullptr;
  decltype(&::ncclCommInitRankConfig) commInitRankConfig = nullptr;
  decltype(&::ncclCommGetAsyncError) commGetAsyncError = nullptr;
  decltype(&::ncclCommAbort) commAbort = nullptr;
  decltype(&::ncclCommDestroy) commDestroy = nullptr;
  decltype(&::ncclCommFinalize) commFinalize = nullptr;
  decltype(&::ncclGroupStart) groupStart = nullptr;
  decltype(&::ncclGroupEnd) groupEnd = nullptr;
  decltype(&::ncclSend) send = nullptr;
  decltype(&::ncclRecv) recv = nullptr;
  decltype(&::ncclAllGather) allGather = nullptr;
  decltype(&::ncclGetErrorString) getErrorString = nullptr;
};

/// The loaded NCCL.
ringattn_status loadNccl(const Nccl *&nccl);

/// RINGATTN_OK, or RINGATTN_ERROR_NCCL with a message naming `call`.
ringattn_status checkNccl(ncclResult_t result, const char *call);

} // namespace ringattn::runtime

#endif // RINGATTN_RUNTIME_NCCL_H
