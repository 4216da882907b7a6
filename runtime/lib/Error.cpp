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
