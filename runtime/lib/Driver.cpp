//===- Driver.cpp - the CUDA driver, loaded at run time --------------------===//

#include "Driver.h"

#include <dlfcn.h>
#include <mutex>
#include <string>

using namespace ringattn::runtime;

namespace {

/// The CUDA version whose entry-point semantics ringattn expects.
constexpr int kCudaVersion = 12000;

struct LoadedDriver {
  Driver driver;
  ringattn_status status = RINGATTN_OK;
  std::string error;
};

template <typename Fn>
bool resolve(decltype(&::cuGetProcAddress) getProc, const char *name, Fn &fn,
             std::string &error) {
  void *pointer = nullptr;
  CUdriverProcAddressQueryResult found;
  if (getProc(name, &pointer, kCudaVersion, CU_GET_PROC_ADDRESS_DEFAULT,
              &found) != CUDA_SUCCESS ||
      !pointer) {
    error = std::string("the CUDA driver lacks ") + name;
    return false;
  }
  fn = reinterpret_cast<Fn>(pointer);
  return true;
}

LoadedDriver load() {
  LoadedDriver loaded;
  void *library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
  if (!library) {
    loaded.status = RINGATTN_ERROR_NO_DRIVER;
    const char *why = dlerror();
    loaded.error = std::string("cannot load the CUDA driver libcuda.so.1: ") +
                   (why ? why : "not found");
    return loaded;
  }
  auto getProc = reinterpret_cast<decltype(&::cuGetProcAddress)>(
      dlsym(library, "cuGetProcAddress_v2"));
  if (!getProc) {
    loaded.status = RINGATTN_ERROR_NO_DRIVER;
    loaded.error = "the CUDA driver is too old (no cuGetProcAddress_v2)";
    return loaded;
  }
  Driver &d = loaded.driver;
  std::string error;
  bool ok = resolve(getProc, "cuInit", d.init, error) &&
            resolve(getProc, "cuGetErrorName", d.getErrorName, error) &&
            resolve(getProc, "cuGetErrorString", d.getErrorString, error) &&
            resolve(getProc, "cuDeviceGet", d.deviceGet, error) &&
            resolve(getProc, "cuDeviceGetCount", d.deviceGetCount, error) &&
            resolve(getProc, "cuDeviceGetAttribute", d.deviceGetAttribute,
                    error) &&
            resolve(getProc, "cuDevicePrimaryCtxRetain", d.primaryCtxRetain,
                    error) &&
            resolve(getProc, "cuDevicePrimaryCtxRelease", d.primaryCtxRelease,
                    error) &&
            resolve(getProc, "cuCtxPushCurrent", d.ctxPushCurrent, error) &&
            resolve(getProc, "cuCtxPopCurrent", d.ctxPopCurrent, error) &&
            resolve(getProc, "cuModuleLoadData", d.moduleLoadData, error) &&
            resolve(getProc, "cuModuleUnload", d.moduleUnload, error) &&
            resolve(getProc, "cuModuleGetFunction", d.moduleGetFunction,
                    error) &&
            resolve(getProc, "cuFuncSetAttribute", d.funcSetAttribute, error) &&
            resolve(getProc, "cuLaunchKernel", d.launchKernel, error) &&
            resolve(getProc, "cuTensorMapEncodeTiled", d.tensorMapEncodeTiled,
                    error) &&
            resolve(getProc, "cuCtxSetCurrent", d.ctxSetCurrent, error) &&
            resolve(getProc, "cuMemAlloc", d.memAlloc, error) &&
            resolve(getProc, "cuMemFree", d.memFree, error) &&
            resolve(getProc, "cuMemcpy2DAsync", d.memcpy2DAsync, error) &&
            resolve(getProc, "cuMemcpyDtoHAsync", d.memcpyDtoHAsync, error) &&
            resolve(getProc, "cuMemcpyHtoDAsync", d.memcpyHtoDAsync, error) &&
            resolve(getProc, "cuMemsetD32Async", d.memsetD32Async, error) &&
            resolve(getProc, "cuStreamCreate", d.streamCreate, error) &&
            resolve(getProc, "cuStreamCreateWithPriority",
                    d.streamCreateWithPriority, error) &&
            resolve(getProc, "cuCtxGetStreamPriorityRange",
                    d.ctxGetStreamPriorityRange, error) &&
            resolve(getProc, "cuStreamDestroy", d.streamDestroy, error) &&
            resolve(getProc, "cuStreamWaitEvent", d.streamWaitEvent, error) &&
            resolve(getProc, "cuStreamQuery", d.streamQuery, error) &&
            resolve(getProc, "cuThreadExchangeStreamCaptureMode",
                    d.threadExchangeStreamCaptureMode, error) &&
            resolve(getProc, "cuStreamIsCapturing", d.streamIsCapturing,
                    error) &&
            resolve(getProc, "cuEventCreate", d.eventCreate, error) &&
            resolve(getProc, "cuEventDestroy", d.eventDestroy, error) &&
            resolve(getProc, "cuEventRecord", d.eventRecord, error) &&
            resolve(getProc, "cuEventQuery", d.eventQuery, error) &&
            resolve(getProc, "cuEventElapsedTime", d.eventElapsedTime, error) &&
            resolve(getProc, "cuMemGetAllocationGranularity",
                    d.memGetAllocationGranularity, error) &&
            resolve(getProc, "cuMemCreate", d.memCreate, error) &&
            resolve(getProc, "cuMemRelease", d.memRelease, error) &&
            resolve(getProc, "cuMemAddressReserve", d.memAddressReserve,
                    error) &&
            resolve(getProc, "cuMemAddressFree", d.memAddressFree, error) &&
            resolve(getProc, "cuMemMap", d.memMap, error) &&
            resolve(getProc, "cuMemUnmap", d.memUnmap, error) &&
            resolve(getProc, "cuMemSetAccess", d.memSetAccess, error) &&
            resolve(getProc, "cuMemExportToShareableHandle",
                    d.memExportToShareableHandle, error) &&
            resolve(getProc, "cuMemImportFromShareableHandle",
                    d.memImportFromShareableHandle, error) &&
            resolve(getProc, "cuMemcpyDtoDAsync", d.memcpyDtoDAsync, error) &&
            resolve(getProc, "cuStreamWaitValue32", d.streamWaitValue32,
                    error) &&
            resolve(getProc, "cuStreamWriteValue32", d.streamWriteValue32,
                    error) &&
            resolve(getProc, "cuMemHostRegister", d.memHostRegister, error) &&
            resolve(getProc, "cuMemHostUnregister", d.memHostUnregister,
                    error) &&
            resolve(getProc, "cuMemHostGetDevicePointer",
                    d.memHostGetDevicePointer, error);
  if (!ok) {
    loaded.status = RINGATTN_ERROR_NO_DRIVER;
    loaded.error = error;
    return loaded;
  }
  if (CUresult result = d.init(0); result != CUDA_SUCCESS) {
    const char *name = nullptr;
    d.getErrorName(result, &name);
    loaded.status = RINGATTN_ERROR_NO_DRIVER;
    loaded.error = std::string("cuInit failed: ") + (name ? name : "unknown");
  }
  return loaded;
}

} // namespace

ringattn_status ringattn::runtime::loadDriver(const Driver *&driver) {
  static LoadedDriver loaded = load();
  if (loaded.status != RINGATTN_OK)
    return fail(loaded.status, loaded.error);
  driver = &loaded.driver;
  return RINGATTN_OK;
}

ringattn_status ringattn::runtime::checkCuda(CUresult result,
                                             const char *call) {
  if (result == CUDA_SUCCESS)
    return RINGATTN_OK;
  const Driver *driver = nullptr;
  const char *name = nullptr, *text = nullptr;
  if (loadDriver(driver) == RINGATTN_OK) {
    driver->getErrorName(result, &name);
    driver->getErrorString(result, &text);
  }
  return fail(RINGATTN_ERROR_CUDA,
              std::string(call) + " failed: " + (name ? name : "CUDA error") +
                  " (" + (text ? text : std::to_string(result)) + ")");
}

ContextGuard::ContextGuard(CUcontext context) : pushed(RINGATTN_OK) {
  const Driver *driver = nullptr;
  pushed = loadDriver(driver);
  if (pushed == RINGATTN_OK)
    pushed = checkCuda(driver->ctxPushCurrent(context), "cuCtxPushCurrent");
}

ContextGuard::~ContextGuard() {
  const Driver *driver = nullptr;
  if (pushed == RINGATTN_OK && loadDriver(driver) == RINGATTN_OK) {
    CUcontext popped;
    driver->ctxPopCurrent(&popped);
  }
}
