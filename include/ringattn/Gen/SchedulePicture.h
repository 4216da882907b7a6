//===- SchedulePicture.h - schedule.svg of a generated package --*- C++ -*-===//
//
// A picture of the forward and backward schedules for a person to open in a
// browser: per direction a grid of ranks (rows) x ring steps (columns); each
// cell shows the chunk pairs the rank computes at that step (squares for full
// pairs, triangles for diagonal ones), the K/V buffer it reads and its work;
// arrows between rank rows at step boundaries show the K/V hops and, in
// backward, the dK/dV hops. Self-contained SVG (no fonts, scripts or links),
// drawn from the schedules through ScheduleModel.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_GEN_SCHEDULEPICTURE_H
#define RINGATTN_GEN_SCHEDULEPICTURE_H

#include "ringattn/Dialect/RingAttn/Analysis/ScheduleModel.h"

#include <string>

namespace mlir::ringattn {

/// Renders schedule.svg for a forward schedule and its backward schedule.
/// Every cell is a `<g class="cell">` with data-direction, data-rank and
/// data-step attributes; every transfer arrow a `<g class="hop">` with
/// data-direction, data-payload (kv or dkv), data-hop, data-from, data-to.
std::string renderSchedulePicture(const ScheduleModel &forward,
                                  const ScheduleModel &backward);

} // namespace mlir::ringattn

#endif // RINGATTN_GEN_SCHEDULEPICTURE_H
