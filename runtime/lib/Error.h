//===- Error.h - statuses and the last error message -----------*- C++ -*-===//

#ifndef RINGATTN_RUNTIME_ERROR_H
#define RINGATTN_RUNTIME_ERROR_H

#include "ringattn/runtime.h"

#include <cstdint>
#include <string>

namespace ringattn::runtime {

/// Records `message` as the calling thread's last error; returns `status`.
ringattn_status fail(ringattn_status status, std::string message);

/// Clears the last error; returns RINGATTN_OK.
ringattn_status succeed();

/// RINGATTN_ERROR_INVALID_ARGUMENT with `message`.
ringattn_status invalid(std::string message);

/// `pointer` is non-null and `alignment`-byte aligned.
ringattn_status checkPointer(const void *pointer, uintptr_t alignment,
                             const char *what);

} // namespace ringattn::runtime

/// Returns from the enclosing function if `expr` is not RINGATTN_OK.
#define RINGATTN_TRY(expr)                                                     \
  do {                                                                         \
    ringattn_status ringattnStatus_ = (expr);                                  \
    if (ringattnStatus_ != RINGATTN_OK)                                        \
      return ringattnStatus_;                                                  \
  } while (0)

#endif // RINGATTN_RUNTIME_ERROR_H
