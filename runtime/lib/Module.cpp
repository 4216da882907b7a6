//===- Module.cpp - loading cubins and launching kernels -------------------===//
//
// ringattn_module_load / unload and ringattn_launch_forward: argument checks
// first (they need no GPU), then the driver calls, each checked.
//
//===----------------------------------------------------------------------===//

#include "Driver.h"
#include "TensorMap.h"

#include <fstream>
#include <memory>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <vector>

using namespace ringattn::runtime;

struct ringattn_module {
  CUdevice device = 0;
  CUcontext context = nullptr;
  CUmodule module = nullptr;
  std::mutex mutex;
  /// Functions looked up so far, with their shared-memory limit raised.
  std::map<std::string, CUfunction> functions;
};

namespace {

ringattn_status invalid(std::string message) {
  return fail(RINGATTN_ERROR_INVALID_ARGUMENT, std::move(message));
}

bool aligned(const void *pointer, uintptr_t bytes) {
  return reinterpret_cast<uintptr_t>(pointer) % bytes == 0;
}

ringattn_status checkPointer(const void *pointer, uintptr_t alignment,
                             const char *what) {
  if (!pointer)
    return invalid(std::string(what) + " is null");
  if (!aligned(pointer, alignment))
    return invalid(std::string(what) + " is not " + std::to_string(alignment) +
                   "-byte aligned");
  return RINGATTN_OK;
}

ringattn_status checkKernel(const ringattn_forward_kernel &k) {
  if (!k.name || !*k.name)
    return invalid("kernel has no name");
  std::string name = std::string("kernel ") + k.name + ": ";
  if (k.head_dim != 64 && k.head_dim != 128)
    return invalid(name + "head_dim must be 64 or 128 (got " +
                   std::to_string(k.head_dim) + ")");
  if (k.dtype != RINGATTN_BF16 && k.dtype != RINGATTN_FP16)
    return invalid(name + "dtype must be bf16 or fp16");
  if (k.heads < 1 || k.kv_heads < 1 || k.heads % k.kv_heads != 0 ||
      k.heads > 65535)
    return invalid(name + "heads (" + std::to_string(k.heads) +
                   ") must be in [1, 65535] and a multiple of kv_heads (" +
                   std::to_string(k.kv_heads) + ")");
  if (k.q_len < 1 || k.kv_len < 1)
    return invalid(name + "q_len and kv_len must be positive");
  if (k.grid_x < 1 || k.grid_x > 0x7FFFFFFF)
    return invalid(name + "grid_x out of range");
  if (k.block < 32 || k.block > 1024 || k.block % 32 != 0)
    return invalid(name + "block must be a multiple of 32 in [32, 1024]");
  if (k.shared_bytes < 0 || k.shared_bytes > 232448)
    return invalid(name + "shared_bytes out of range [0, 232448]");
  if (k.block_m < 1 || k.block_m > 256 || k.block_n < 1 || k.block_n > 256)
    return invalid(name + "block_m and block_n must be in [1, 256]");
  return RINGATTN_OK;
}

ringattn_status checkArgs(const ringattn_forward_kernel &k,
                          const ringattn_forward_args &a) {
  if (a.batch < 1 || a.batch > 65535)
    return invalid("batch must be in [1, 65535] (got " +
                   std::to_string(a.batch) + ")");
  RINGATTN_TRY(checkPointer(a.q, 16, "q"));
  RINGATTN_TRY(checkPointer(a.k, 16, "k"));
  RINGATTN_TRY(checkPointer(a.v, 16, "v"));
  bool needsAccumulators = k.reads_accumulators || !k.writes_final;
  if (needsAccumulators) {
    RINGATTN_TRY(checkPointer(a.o_acc, 8, "o_acc"));
    RINGATTN_TRY(checkPointer(a.lse_acc, 4, "lse_acc"));
  }
  if (k.writes_final) {
    RINGATTN_TRY(checkPointer(a.out, 4, "out"));
    RINGATTN_TRY(checkPointer(a.lse, 4, "lse"));
  }
  return RINGATTN_OK;
}

ringattn_status readFile(const char *path, std::vector<char> &bytes) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return fail(RINGATTN_ERROR_IO, std::string("cannot open ") + path);
  bytes.assign(std::istreambuf_iterator<char>(file),
               std::istreambuf_iterator<char>());
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
                            const ringattn_forward_kernel &k,
                            CUfunction &function) {
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
      status = checkCuda(d->moduleLoadData(&loaded->module, image.data()),
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

extern "C" ringattn_status
ringattn_launch_forward(ringattn_module *module,
                        const ringattn_forward_kernel *kernel,
                        const ringattn_forward_args *args, void *stream) {
  if (!module)
    return invalid("module is null");
  if (!kernel)
    return invalid("kernel is null");
  if (!args)
    return invalid("args is null");
  RINGATTN_TRY(checkKernel(*kernel));
  RINGATTN_TRY(checkArgs(*kernel, *args));
  const Driver *d = nullptr;
  RINGATTN_TRY(loadDriver(d));
  ContextGuard guard(module->context);
  RINGATTN_TRY(guard.status());
  CUfunction function;
  RINGATTN_TRY(getFunction(*d, *module, *kernel, function));
  alignas(64) CUtensorMap maps[3];
  RINGATTN_TRY(encodeTokenMajorMap(*d, maps[0], args->q, kernel->dtype,
                                   args->batch, kernel->q_len, kernel->heads,
                                   kernel->head_dim, kernel->block_m, "q"));
  RINGATTN_TRY(encodeTokenMajorMap(*d, maps[1], args->k, kernel->dtype,
                                   args->batch, kernel->kv_len,
                                   kernel->kv_heads, kernel->head_dim,
                                   kernel->block_n, "k"));
  RINGATTN_TRY(encodeTokenMajorMap(*d, maps[2], args->v, kernel->dtype,
                                   args->batch, kernel->kv_len,
                                   kernel->kv_heads, kernel->head_dim,
                                   kernel->block_n, "v"));
  float *oAcc = args->o_acc, *lseAcc = args->lse_acc, *lse = args->lse;
  void *out = args->out;
  void *params[] = {&maps[0], &maps[1], &maps[2], &oAcc, &lseAcc, &out, &lse};
  RINGATTN_TRY(checkCuda(
      d->launchKernel(function, static_cast<unsigned>(kernel->grid_x),
                      static_cast<unsigned>(kernel->heads),
                      static_cast<unsigned>(args->batch),
                      static_cast<unsigned>(kernel->block), 1, 1,
                      static_cast<unsigned>(kernel->shared_bytes),
                      static_cast<CUstream>(stream), params, nullptr),
      "cuLaunchKernel"));
  return succeed();
}
