//===- Package.h - checking a generated package -----------------*- C++ -*-===//

#ifndef RINGATTN_RUNTIME_PACKAGE_H
#define RINGATTN_RUNTIME_PACKAGE_H

#include "Error.h"
#include "ringattn/package.h"

namespace ringattn::runtime {

/// The ABI, `rank` against cp, and the layout: lengths that agree and a
/// chunk map that is a permutation of the chunks.
ringattn_status checkPackageLayout(const ringattn_package *package, int rank);

/// The layout, the kernels and every rank's programs (indices, peers,
/// buffer slots and transfer ids in range).
ringattn_status checkPackage(const ringattn_package *package, int rank);

} // namespace ringattn::runtime

#endif // RINGATTN_RUNTIME_PACKAGE_H
