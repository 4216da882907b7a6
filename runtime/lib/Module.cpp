//===- Module.cpp - loading cubins and launching kernels -------------------===//
//
// ringattn_module_load / unload, and the one place kernels are launched.
//
//===----------------------------------------------------------------------===//

#include "Driver.h"
#include "Module.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <vector>

using namespace ringattn::runtime;

namespace {

/// A cubin is a regular file of at most this many bytes.
constexpr std::uintmax_t kMaxCubinBytes = std::uintmax_t(1) << 30;

ringattn_status readFile(const char *path, std::vector<char> &bytes) {
  // Only regular files: a directory, FIFO or device would throw, block or
  // never end.
  std::error_code error;
  std::filesystem::file_status status = std::filesystem::status(path, error);
  if (error || !std::filesystem::is_regular_file(status))
    return fail(RINGATTN_ERROR_IO,
                std::string("cannot open ") + path + ": not a regular file");
  std::uintmax_t size = std::filesystem::file_size(path, error);
  if (error || size > kMaxCubinBytes)
    return fail(RINGATTN_ERROR_IO, std::string(path) +
                                       ": not a cubin (unreadable size or "
                                       "larger than 1 GiB)");
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return fail(RINGATTN_ERROR_IO, std::string("cannot open ") + path);
  bytes.resize(static_cast<size_t>(size));
  if (size && !file.read(bytes.data(), static_cast<std::streamsize>(size)))
    return fail(RINGATTN_ERROR_IO, std::string("cannot read ") + path);
  if (bytes.empty())
    return fail(RINGATTN_ERROR_IO, std::string(path) + " is empty");
  return RINGATTN_OK;
}

ringattn_status checkDevice(const Driver &d, int ordinal, CUdevice &device) {
  int count = 0;
  RINGATTN_TRY(checkCuda(d.deviceGetCount(&count), "cuDeviceGetCount"));
  if (ordinal < 0 || ordinal >= count)
    return invalid("device " + std::to_string(ordinal) + " out of range [0, " +
                   std::to_string(count) + ")");
  RINGATTN_TRY(checkCuda(d.deviceGet(&device, ordinal), "cuDeviceGet"));
  int major = 0, minor = 0;
  RINGATTN_TRY(checkCuda(
      d.deviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                           device),
      "cuDeviceGetAttribute"));
  RINGATTN_TRY(checkCuda(
      d.deviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                           device),
      "cuDeviceGetAttribute"));
  if (major != 9 || minor != 0)
    return fail(RINGATTN_ERROR_UNSUPPORTED_DEVICE,
                "device " + std::to_string(ordinal) +
                    " has compute capability " + std::to_string(major) + "." +
                    std::to_string(minor) +
                    "; the kernels are built for sm_90a (9.0, Hopper)");
  return RINGATTN_OK;
}

ringattn_status getFunction(const Driver &d, ringattn_module &m,
                            const ringattn_kernel &k, CUfunction &function);

} // namespace

ringattn_status ringattn::runtime::launchKernel(
    ringattn_module &m, const ringattn_kernel &k, unsigned gridX,
    unsigned gridY, unsigned gridZ, void **params, void *stream) {
  const Driver *d = nullptr;
  RINGATTN_TRY(loadDriver(d));
  ContextGuard guard(m.context);
  RINGATTN_TRY(guard.status());
  CUfunction function;
  RINGATTN_TRY(getFunction(*d, m, k, function));
  // The fault hook asks for more shared memory than any device has, so the
  // driver itself refuses the launch.
  unsigned shared = m.failNextLaunch.exchange(false)
                        ? 1u << 30
                        : static_cast<unsigned>(k.shared_bytes);
  return checkCuda(d->launchKernel(function, gridX, gridY, gridZ,
                                   static_cast<unsigned>(k.block), 1, 1,
                                   shared,
                                   static_cast<CUstream>(stream), params,
                                   nullptr),
                   "cuLaunchKernel");
}

ringattn_status ringattn::runtime::moduleDriver(ringattn_module &m,
                                                const Driver *&driver) {
  (void)m;
  return loadDriver(driver);
}

namespace {

ringattn_status getFunction(const Driver &d, ringattn_module &m,
                            const ringattn_kernel &k, CUfunction &function) {
  std::lock_guard<std::mutex> lock(m.mutex);
  auto it = m.functions.find(k.name);
  if (it != m.functions.end()) {
    function = it->second;
    return RINGATTN_OK;
  }
  CUresult result = d.moduleGetFunction(&function, m.module, k.name);
  if (result == CUDA_ERROR_NOT_FOUND)
    return fail(RINGATTN_ERROR_NOT_FOUND,
                std::string("the module has no kernel named ") + k.name);
  RINGATTN_TRY(checkCuda(result, "cuModuleGetFunction"));
  RINGATTN_TRY(checkCuda(
      d.funcSetAttribute(function,
                         CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                         static_cast<int>(k.shared_bytes)),
      "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)"));
  m.functions.emplace(k.name, function);
  return RINGATTN_OK;
}

} // namespace

extern "C" ringattn_status ringattn_module_load(const char *cubinPath,
                                                int device,
                                                ringattn_module **module) {
  if (!module)
    return invalid("module (the output) is null");
  *module = nullptr;
  if (!cubinPath)
    return invalid("cubin_path is null");
  std::vector<char> image;
  RINGATTN_TRY(readFile(cubinPath, image));
  return ringattn_module_load_image(image.data(), image.size(), device, module);
}

extern "C" ringattn_status ringattn_module_load_image(const void *image,
                                                      size_t size, int device,
                                                      ringattn_module **module) {
  if (!module)
    return invalid("module (the output) is null");
  *module = nullptr;
  if (!image || size == 0)
    return invalid("the cubin image is empty");
  const Driver *d = nullptr;
  RINGATTN_TRY(loadDriver(d));
  auto loaded = std::make_unique<ringattn_module>();
  RINGATTN_TRY(checkDevice(*d, device, loaded->device));
  RINGATTN_TRY(checkCuda(d->primaryCtxRetain(&loaded->context, loaded->device),
                         "cuDevicePrimaryCtxRetain"));
  ringattn_status status;
  {
    ContextGuard guard(loaded->context);
    status = guard.status();
    if (status == RINGATTN_OK)
      status = checkCuda(d->moduleLoadData(&loaded->module, image),
                         "cuModuleLoadData");
  }
  if (status != RINGATTN_OK) {
    d->primaryCtxRelease(loaded->device);
    return status;
  }
  *module = loaded.release();
  return succeed();
}

extern "C" ringattn_status ringattn_module_unload(ringattn_module *module) {
  if (!module)
    return invalid("module is null");
  const Driver *d = nullptr;
  RINGATTN_TRY(loadDriver(d));
  ringattn_status status;
  {
    ContextGuard guard(module->context);
    status = guard.status();
    if (status == RINGATTN_OK)
      status = checkCuda(d->moduleUnload(module->module), "cuModuleUnload");
  }
  d->primaryCtxRelease(module->device);
  delete module;
  return status == RINGATTN_OK ? succeed() : status;
}

