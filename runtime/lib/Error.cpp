//===- Error.cpp - statuses and the last error message ---------------------===//

#include "Error.h"

namespace {
thread_local std::string lastError;
} // namespace

ringattn_status ringattn::runtime::fail(ringattn_status status,
                                        std::string message) {
  lastError = "ringattn: " + std::move(message);
  return status;
}

ringattn_status ringattn::runtime::succeed() {
  lastError.clear();
  return RINGATTN_OK;
}

extern "C" const char *ringattn_last_error(void) { return lastError.c_str(); }

ringattn_status ringattn::runtime::invalid(std::string message) {
  return fail(RINGATTN_ERROR_INVALID_ARGUMENT, std::move(message));
}

ringattn_status ringattn::runtime::checkPointer(const void *pointer,
                                                uintptr_t alignment,
                                                const char *what) {
  if (!pointer)
    return invalid(std::string(what) + " is null");
  if (reinterpret_cast<uintptr_t>(pointer) % alignment != 0)
    return invalid(std::string(what) + " is not " + std::to_string(alignment) +
                   "-byte aligned");
  return RINGATTN_OK;
}
