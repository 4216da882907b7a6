//===- Nccl.cpp - NCCL, loaded at run time ---------------------------------===//

#include "Nccl.h"

#include <dlfcn.h>
#include <string>

using namespace ringattn::runtime;

namespace {

struct LoadedNccl {
  Nccl nccl;
  ringattn_status status = RINGATTN_OK;
  std::string error;
};

template <typename Fn>
bool resolve(void *library, const char *name, Fn &fn, std::string &error) {
  fn = reinterpret_cast<Fn>(dlsym(library, name));
  if (!fn)
    error = std::string("libnccl.so.2 lacks ") + name;
  return fn != nullptr;
}

LoadedNccl load() {
  LoadedNccl loaded;
  // Prefer the NCCL the process already has (PyTorch's).
  void *library = dlopen("libnccl.so.2", RTLD_NOW | RTLD_NOLOAD);
  if (!library)
    library = dlopen("libnccl.so.2", RTLD_NOW | RTLD_GLOBAL);
  if (!library) {
    const char *why = dlerror();
    loaded.status = RINGATTN_ERROR_NCCL;
    loaded.error = std::string("cannot load NCCL (libnccl.so.2): ") +
                   (why ? why : "not found");
    return loaded;
  }
  Nccl &n = loaded.nccl;
  std::string error;
  bool ok = resolve(library, "ncclGetVersion", n.getVersion, error) &&
            resolve(library, "ncclGetUniqueId", n.getUniqueId, error) &&
            resolve(library, "ncclCommInitRankConfig", n.commInitRankConfig,
                    error) &&
            resolve(library, "ncclCommGetAsyncError", n.commGetAsyncError,
                    error) &&
            resolve(library, "ncclCommAbort", n.commAbort, error) &&
            resolve(library, "ncclCommDestroy", n.commDestroy, error) &&
            resolve(library, "ncclCommFinalize", n.commFinalize, error) &&
            resolve(library, "ncclGroupStart", n.groupStart, error) &&
            resolve(library, "ncclGroupEnd", n.groupEnd, error) &&
            resolve(library, "ncclSend", n.send, error) &&
            resolve(library, "ncclRecv", n.recv, error) &&
            resolve(library, "ncclAllGather", n.allGather, error) &&
            resolve(library, "ncclGetErrorString", n.getErrorString, error);
  if (!ok) {
    loaded.status = RINGATTN_ERROR_NCCL;
    loaded.error = error;
  }
  return loaded;
}

} // namespace

ringattn_status ringattn::runtime::loadNccl(const Nccl *&nccl) {
  static LoadedNccl loaded = load();
  if (loaded.status != RINGATTN_OK)
    return fail(loaded.status, loaded.error);
  nccl = &loaded.nccl;
  return RINGATTN_OK;
}

ringattn_status ringattn::runtime::checkNccl(ncclResult_t result,
                                             const char *call) {
  if (result == ncclSuccess || result == ncclInProgress)
    return RINGATTN_OK;
  const Nccl *nccl = nullptr;
  const char *text = nullptr;
  if (loadNccl(nccl) == RINGATTN_OK)
    text = nccl->getErrorString(result);
  return fail(RINGATTN_ERROR_NCCL, std::string(call) + " failed: " +
                                       (text ? text : std::to_string(result)));
}
