//===- Module.h - a loaded cubin and the one launch path -------*- C++ -*-===//
//
// The module ringattn_module_load returns (its device, context and cubin,
// the functions looked up so far) and the single launch path every kernel
// role goes through (Module.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_RUNTIME_MODULE_H
#define RINGATTN_RUNTIME_MODULE_H

#include "Driver.h"

#include <atomic>
#include <map>
#include <mutex>
#include <string>

struct ringattn_module {
  CUdevice device = 0;
  CUcontext context = nullptr;
  CUmodule module = nullptr;
  std::mutex mutex;
  /// Functions looked up so far, with their shared-memory limit raised.
  std::map<std::string, CUfunction> functions;
  /// Test hook (RINGATTN_FAULT_LAUNCH): the next launch fails in the driver.
  std::atomic<bool> failNextLaunch{false};
};

namespace ringattn::runtime {

/// Launches `k` with grid (gridX, gridY, gridZ) and the given parameters,
/// in the module's context.
ringattn_status launchKernel(ringattn_module &m, const ringattn_kernel &k,
                             unsigned gridX, unsigned gridY, unsigned gridZ,
                             void **params, void *stream);

/// The driver (for building tensor maps before a launch).
ringattn_status moduleDriver(ringattn_module &m, const Driver *&driver);

} // namespace ringattn::runtime

#endif // RINGATTN_RUNTIME_MODULE_H
