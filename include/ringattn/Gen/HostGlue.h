//===- HostGlue.h - the generated host glue and CMake package ---*- C++ -*-===//
//
// What a trainer compiles and links: ringattn_package.cpp (the kernels with
// the cubin embedded, the layout's chunk map and every rank's forward and
// backward program as tables for the runtime, see runtime/include/ringattn/
// package.h), its header, and a CMake package (CMakeLists.txt and
// ringattnConfig.cmake) that builds it with the runtime into one target,
// ringattn::ringattn.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_GEN_HOSTGLUE_H
#define RINGATTN_GEN_HOSTGLUE_H

#include "ringattn/Gen/Manifest.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mlir::ringattn {

/// The 64-bit FNV-1a hash of a configuration: ranks built for different
/// configurations refuse to form a ring.
uint64_t configHash(const AttentionConfig &config);

/// Renders ringattn_package.cpp for the schedules (with kernels lowered) and
/// kernels, embedding `cubin`. Fails (a one-line reason) if a schedule holds
/// an op the runtime does not execute (an unfused combine).
std::optional<std::string>
renderPackageSource(const ScheduleModel &forward, const ScheduleModel &backward,
                    const std::vector<KernelEntry> &kernels,
                    const std::string &cubin, const std::string &command,
                    std::string &source);

/// The package's header, CMakeLists.txt, ringattnConfig.cmake and the
/// runtime's sources (under runtime/), by name relative to the output
/// directory.
std::vector<std::pair<std::string, std::string>> renderPackageBuildFiles();

} // namespace mlir::ringattn

#endif // RINGATTN_GEN_HOSTGLUE_H
