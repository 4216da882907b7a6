/*===- ringattn/testing.h - fault injection for tests ------------*- C -*-===*
 *
 * Hooks the fault tests use to make the runtime fail the way a real fault
 * would, at a chosen point of a real call. Not for production use: a
 * trainer never calls them.
 *
 *===----------------------------------------------------------------------===*/

#ifndef RINGATTN_TESTING_H
#define RINGATTN_TESTING_H

#include "ringattn/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef RINGATTN_ENUM(ringattn_fault) {
  RINGATTN_FAULT_NONE = 0,
  /* The next NCCL group of the context fails as if ncclGroupEnd had
     returned ncclSystemError (nothing of it is posted); over the copy
     engines, the next transfer group, with the same status. */
  RINGATTN_FAULT_NCCL = 1,
  /* The next kernel launch of the context's module fails in the driver
     (it is launched with more shared memory than any device has). */
  RINGATTN_FAULT_LAUNCH = 2
} ringattn_fault;

/* Arms `fault` for the context's next forward or backward (replacing one
   armed before); RINGATTN_FAULT_NONE disarms. */
RINGATTN_API ringattn_status
ringattn_context_inject_fault(ringattn_context *context, ringattn_fault fault);

/* Device memory (bytes) the runtime's contexts in this process hold now:
   their buffers, not NCCL's or the driver's. Back to its earlier value once
   every context created since has been destroyed. */
RINGATTN_API int64_t ringattn_testing_device_bytes(void);

#ifdef __cplusplus
}
#endif

#endif /* RINGATTN_TESTING_H */
