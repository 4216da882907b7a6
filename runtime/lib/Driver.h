//===- Driver.h - the CUDA driver, loaded at run time ----------*- C++ -*-===//
//
// libcuda.so.1 is opened with dlopen and its entry points resolved through
// cuGetProcAddress, so the runtime links (and its argument checks run) on
// machines without a driver, and uses whatever driver the process has.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_RUNTIME_DRIVER_H
#define RINGATTN_RUNTIME_DRIVER_H

#include "Error.h"

#include <cuda.h>

namespace ringattn::runtime {

/// The driver entry points ringattn uses.
struct Driver {
  decltype(&::cuInit) init = nullptr;
  decltype(&::cuGetErrorName) getErrorName = nullptr;
  decltype(&::cuGetErrorString) getErrorString = nullptr;
  decltype(&::cuDeviceGet) deviceGet = nullptr;
  decltype(&::cuDeviceGetCount) deviceGetCount = nullptr;
  decltype(&::cuDeviceGetAttribute) deviceGetAttribute = nullptr;
  decltype(&::cuDevicePrimaryCtxRetain) primaryCtxRetain = nullptr;
  decltype(&::cuDevicePrimaryCtxRelease) primaryCtxRelease = nullptr;
  decltype(&::cuCtxPushCurrent) ctxPushCurrent = nullptr;
  decltype(&::cuCtxPopCurrent) ctxPopCurrent = nullptr;
  decltype(&::cuModuleLoadData) moduleLoadData = nullptr;
  decltype(&::cuModuleUnload) moduleUnload = nullptr;
  decltype(&::cuModuleGetFunction) moduleGetFunction = nullptr;
  decltype(&::cuFuncSetAttribute) funcSetAttribute = nullptr;
  decltype(&::cuLaunchKernel) launchKernel = nullptr;
  decltype(&::cuTensorMapEncodeTiled) tensorMapEncodeTiled = nullptr;
  decltype(&::cuCtxSetCurrent) ctxSetCurrent = nullptr;
  decltype(&::cuMemAlloc) memAlloc = nullptr;
  decltype(&::cuMemFree) memFree = nullptr;
  decltype(&::cuMemcpy2DAsync) memcpy2DAsync = nullptr;
  decltype(&::cuMemcpyDtoHAsync) memcpyDtoHAsync = nullptr;
  decltype(&::cuMemcpyHtoDAsync) memcpyHtoDAsync = nullptr;
  decltype(&::cuMemsetD32Async) memsetD32Async = nullptr;
  decltype(&::cuStreamCreate) streamCreate = nullptr;
  decltype(&::cuStreamCreateWithPriority) streamCreateWithPriority = nullptr;
  decltype(&::cuCtxGetStreamPriorityRange) ctxGetStreamPriorityRange = nullptr;
  decltype(&::cuStreamDestroy) streamDestroy = nullptr;
  decltype(&::cuStreamWaitEvent) streamWaitEvent = nullptr;
  decltype(&::cuStreamQuery) streamQuery = nullptr;
  decltype(&::cuStreamIsCapturing) streamIsCapturing = nullptr;
  decltype(&::cuThreadExchangeStreamCaptureMode) threadExchangeStreamCaptureMode =
      nullptr;
  decltype(&::cuEventCreate) eventCreate = nullptr;
  decltype(&::cuEventDestroy) eventDestroy = nullptr;
  decltype(&::cuEventRecord) eventRecord = nullptr;
  decltype(&::cuEventQuery) eventQuery = nullptr;
  decltype(&::cuEventElapsedTime) eventElapsedTime = nullptr;
  // The copy-engine transport (CopyEngine.cpp): exportable memory, peer
  // copies and stream memory operations.
  decltype(&::cuMemGetAllocationGranularity) memGetAllocationGranularity =
      nullptr;
  decltype(&::cuMemCreate) memCreate = nullptr;
  decltype(&::cuMemRelease) memRelease = nullptr;
  decltype(&::cuMemAddressReserve) memAddressReserve = nullptr;
  decltype(&::cuMemAddressFree) memAddressFree = nullptr;
  decltype(&::cuMemMap) memMap = nullptr;
  decltype(&::cuMemUnmap) memUnmap = nullptr;
  decltype(&::cuMemSetAccess) memSetAccess = nullptr;
  decltype(&::cuMemExportToShareableHandle) memExportToShareableHandle =
      nullptr;
  decltype(&::cuMemImportFromShareableHandle) memImportFromShareableHandle =
      nullptr;
  decltype(&::cuMemcpyDtoDAsync) memcpyDtoDAsync = nullptr;
  decltype(&::cuStreamWaitValue32) streamWaitValue32 = nullptr;
  decltype(&::cuStreamWriteValue32) streamWriteValue32 = nullptr;
  decltype(&::cuMemHostRegister) memHostRegister = nullptr;
  decltype(&::cuMemHostUnregister) memHostUnregister = nullptr;
  decltype(&::cuMemHostGetDevicePointer) memHostGetDevicePointer = nullptr;
};

/// The loaded driver, initialized (cuInit) once per process.
ringattn_status loadDriver(const Driver *&driver);

/// RINGATTN_OK, or RINGATTN_ERROR_CUDA with a message naming `call` and the
/// driver's error name and text.
ringattn_status checkCuda(CUresult result, const char *call);

/// Makes `context` current for the lifetime of the guard.
class ContextGuard {
public:
  explicit ContextGuard(CUcontext context);
  ~ContextGuard();
  ringattn_status status() const { return pushed; }

private:
  ringattn_status pushed;
};

} // namespace ringattn::runtime

#endif // RINGATTN_RUNTIME_DRIVER_H
