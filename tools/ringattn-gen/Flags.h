//===- Flags.h - ringattn-gen's command line ---------------------*- C++ -*-===//
//
// The flags are parsed strictly by hand (not llvm::cl, whose errors exit with
// status 1 in its own words): a bad flag or an impossible configuration gives
// one line naming the flag and the rule. Separate from the tool's main so the
// flag fuzzer drives exactly this code.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_GEN_TOOL_FLAGS_H
#define RINGATTN_GEN_TOOL_FLAGS_H

#include "ringattn/Schedule/Config.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"

#include <optional>
#include <string>

namespace ringattn_gen {

using mlir::ringattn::AttentionConfig;

/// Exit status of a bad command line, configuration or output directory.
constexpr int kUsageErrorStatus = 2;
/// Exit status of an internal failure (the pipeline rejecting a valid
/// configuration).
constexpr int kInternalErrorStatus = 1;

/// The largest ring ringattn-gen builds, the schedule passes' limit.
using mlir::ringattn::kMaxRanks;

/// A failure with a one-line message and the exit status it maps to.
struct Failure {
  std::string message;
  int status = kUsageErrorStatus;
};

/// What the command line asks for.
struct Options {
  AttentionConfig config;
  std::string outputDir;
  /// Generate GPU kernels (off with --no-kernels).
  bool kernels = true;
  bool deterministic = false;
  std::string ptxasPath;
  /// How the output flag was spelled (-o or --output), for messages.
  std::string outputFlag = "-o";
  /// The value text of every flag given, by flag name (also marks which
  /// flags were given).
  llvm::StringMap<std::string> given;
};

/// Parses `args` (without the program name) strictly into `options`.
std::optional<Failure> parseFlags(llvm::ArrayRef<llvm::StringRef> args,
                                  Options &options);

/// Checks what the flags say as a whole: required flags, the configuration's
/// invariants, the generator's limits and the output path (nothing is
/// written).
std::optional<Failure> checkOptions(const Options &options);

/// The ptxas to use: --ptxas, else $CUDA_HOME/bin/ptxas, else the default
/// toolkit's.
std::string ptxasPath(const Options &options);

} // namespace ringattn_gen

#endif // RINGATTN_GEN_TOOL_FLAGS_H
