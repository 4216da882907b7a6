//===- ringattn-gen.cpp - the ringattn generator --------------------------===//
//
// ringattn-gen --cp N --seq N [--layout zigzag|contiguous] [--heads N]
//              [--kv-heads N] [--head-dim N] [--dtype bf16|fp16|fp32]
//              [--causal | --no-causal] -o DIR
//
// Builds the forward and backward ring schedules of one attention with the
// schedule pipeline and writes the package into DIR: schedule.mlir,
// manifest.json and schedule.svg. The flags are parsed strictly by hand (not
// llvm::cl, whose errors exit with status 1 in its own words): a bad flag or
// an impossible configuration gives one line naming the flag and the rule and
// exit status 2, and leaves DIR untouched. Every output is rendered in memory
// before anything is created; files are written to temporary names in DIR and
// renamed once all of them are written.
//
//===----------------------------------------------------------------------===//

#include "Flags.h"

#include "ringattn/Dialect/RingAttn/IR/RingAttn.h"
#include "ringattn/Dialect/RingAttn/Transforms/Passes.h"
#include "ringattn/Gen/HostGlue.h"
#include "ringattn/Gen/Kernels.h"
#include "ringattn/Gen/Manifest.h"
#include "ringattn/Gen/SchedulePicture.h"
#include "ringattn/Target/Hopper/ForwardKernel.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cassert>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

using namespace mlir;
using namespace mlir::ringattn;
using namespace ringattn_gen;

namespace {

constexpr const char *kUsage =
    R"(usage: ringattn-gen --cp N --seq N -o DIR [options]

Builds the forward and backward ring-attention schedules of one attention and
their Hopper (sm_90a) GPU kernels, and writes into DIR: kernels.ptx and
kernels.cubin (the kernels); ringattn_package.cpp and .h (the host glue: the
cubin, the kernel table, the chunk map and every rank's programs),
CMakeLists.txt, ringattnConfig.cmake and runtime/ (a CMake package with the
runtime's sources: one target, ringattn::ringattn); schedule.mlir (the
schedules and the kernel-level ops), manifest.json (layout, per-rank
programs, kernels, transfer and buffer sizes per sequence) and schedule.svg
(a picture).

  --cp N              ranks in the ring (required, at most {0})
  --seq N             total tokens per sequence (required)
  --layout L          zigzag (default) or contiguous
  --heads N           query heads (default 32)
  --kv-heads N        K/V heads; must divide --heads (default 4)
  --head-dim N        elements per head (default 128)
  --dtype T           bf16 (default), fp16 or fp32
  --causal            causal mask (default)
  --no-causal         no mask
  -o DIR, --output DIR  output directory (required; created if missing)
  --no-kernels        write the schedules only (any head_dim and dtype; no
                      host glue or package)
  --deterministic     backward bit-identical run to run: dQ by a separate
                      kernel that recomputes the scores (15-20% slower
                      forward+backward) instead of the default's reductions
                      in the L2 (dQ per K/V tile, dK and dV per query head)
  --ptxas PATH        the ptxas to assemble kernels with (default
                      $CUDA_HOME/bin/ptxas, else /usr/local/cuda/bin/ptxas)
  -h, --help          this text

Flags take their value as the next argument or after '=' (--cp=4).
Exit status: 0 written, 2 bad flags or configuration (nothing written),
1 internal error.
)";

/// One file of the package, relative to the output directory.
struct OutputFile {
  std::string name;
  std::string contents;
};

/// Builds the schedules and renders every file of the package in memory.
std::optional<Failure> renderPackage(const Options &options,
                                     llvm::StringRef command,
                                     std::vector<OutputFile> &files) {
  MLIRContext context;
  context.loadDialect<RingAttnDialect>();
  std::string diagnostics;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diagnostic) {
    if (diagnostics.empty())
      diagnostics = diagnostic.str();
    return success();
  });

  OpBuilder builder(&context);
  Location loc = builder.getUnknownLoc();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  builder.setInsertionPointToStart(module->getBody());
  AttentionOp::create(builder, loc, "attn",
                      ConfigAttr::get(&context, options.config));
  PassManager pm(&context);
  buildSchedulePipeline(pm);
  if (failed(pm.run(*module)))
    return Failure{"the schedule pipeline failed on " + options.config.str() +
                       ": " + diagnostics,
                   kInternalErrorStatus};

  std::optional<ScheduleModel> forward, backward;
  for (ScheduleOp schedule : module->getBody()->getOps<ScheduleOp>())
    (schedule.getDirection() == Direction::forward ? forward : backward) =
        buildScheduleModel(schedule);
  if (!forward || !backward)
    return Failure{"the schedule pipeline did not build a forward and a "
                   "backward schedule",
                   kInternalErrorStatus};

  GeneratedKernels kernels;
  if (options.kernels) {
    KernelStageOptions kernelOptions;
    kernelOptions.ptxasPath = ptxasPath(options);
    kernelOptions.deterministic = options.deterministic;
    if (std::optional<std::string> error =
            generateKernels(*module, kernelOptions, kernels))
      return Failure{"generating the kernels of " + options.config.str() +
                         " failed: " + *error,
                     kInternalErrorStatus};
    for (const std::string &warning : kernels.warnings)
      llvm::errs() << "ringattn-gen: warning: " << warning << "\n";
    // The launch table reads the kernel names off the compute ops.
    for (ScheduleOp schedule : module->getBody()->getOps<ScheduleOp>())
      (schedule.getDirection() == Direction::forward ? forward : backward) =
          buildScheduleModel(schedule);
    files.push_back({kernelOptions.ptxFile, kernels.ptx});
    files.push_back({kernelOptions.cubinFile, kernels.cubin});

    // The host glue: what a trainer compiles and links.
    std::string source;
    if (std::optional<std::string> error =
            renderPackageSource(*forward, *backward, kernels.kernels,
                                kernels.cubin, command.str(), source))
      return Failure{"the host glue of " + options.config.str() +
                         " cannot be generated: " + *error,
                     kInternalErrorStatus};
    files.push_back({"ringattn_package.cpp", std::move(source)});
    for (auto &[name, contents] : renderPackageBuildFiles())
      files.push_back({name, std::move(contents)});
  }

  std::string scheduleText = "// Generated by: " + command.str() + "\n";
  llvm::raw_string_ostream scheduleStream(scheduleText);
  module->print(scheduleStream);
  files.push_back({"schedule.mlir", std::move(scheduleText)});
  files.push_back({"schedule.svg", renderSchedulePicture(*forward, *backward)});

  ManifestInputs manifest;
  manifest.forward = &*forward;
  manifest.backward = &*backward;
  manifest.command = command.str();
  manifest.kernels = kernels.kernels;
  for (const OutputFile &file : files)
    manifest.files.push_back(file.name);
  files.push_back({"manifest.json", renderManifest(manifest)});
  return std::nullopt;
}

/// Writes `files` into `dir` (created if missing): each to a temporary name
/// first; the temporaries are renamed only once all of them are written. On
/// failure nothing is left behind, not even the directories created.
std::optional<Failure> writePackage(const Options &options,
                                    llvm::ArrayRef<OutputFile> files) {
  llvm::StringRef dir = options.outputDir;
  std::string subject = options.outputFlag + " " + dir.str();

  llvm::SmallVector<std::string> createdDirs;
  for (llvm::StringRef missing = dir;
       !missing.empty() && !llvm::sys::fs::exists(missing);
       missing = llvm::sys::path::parent_path(missing))
    createdDirs.push_back(missing.str());
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return Failure{subject + ": cannot create the directory: " + ec.message()};

  std::vector<llvm::sys::fs::TempFile> temporaries;
  auto rollBack = [&](const std::string &message) {
    for (llvm::sys::fs::TempFile &temporary : temporaries)
      llvm::consumeError(temporary.discard());
    // Deepest first: a directory goes once it is empty.
    llvm::sort(createdDirs, [](const std::string &a, const std::string &b) {
      return a.size() > b.size();
    });
    for (const std::string &created : createdDirs)
      llvm::sys::fs::remove(created);
    return Failure{subject + ": " + message};
  };
  for (const OutputFile &file : files) {
    // A name with '/' lives in a subdirectory (the runtime's sources).
    llvm::SmallString<128> model(dir);
    llvm::sys::path::append(model, file.name);
    std::string parent = llvm::sys::path::parent_path(model).str();
    for (llvm::StringRef missing = parent;
         !missing.empty() && !llvm::sys::fs::exists(missing);
         missing = llvm::sys::path::parent_path(missing))
      createdDirs.push_back(missing.str());
    if (std::error_code ec = llvm::sys::fs::create_directories(parent))
      return rollBack("cannot create " + parent + ": " + ec.message());
    model = parent;
    llvm::sys::path::append(model, "." + llvm::sys::path::filename(file.name) +
                                       ".tmp-%%%%%%");
    llvm::Expected<llvm::sys::fs::TempFile> temporary =
        llvm::sys::fs::TempFile::create(model);
    if (!temporary)
      return rollBack("cannot write into the directory: " +
                      llvm::toString(temporary.takeError()));
    temporaries.push_back(std::move(*temporary));
    llvm::raw_fd_ostream stream(temporaries.back().FD,
                                /*shouldClose=*/false);
    stream << file.contents;
    stream.flush();
    if (stream.has_error()) {
      std::string reason = stream.error().message();
      stream.clear_error();
      return rollBack("cannot write " + file.name + ": " + reason);
    }
  }
  for (auto [index, file] : llvm::enumerate(files)) {
    llvm::SmallString<128> path(dir);
    llvm::sys::path::append(path, file.name);
    if (llvm::Error error = temporaries[index].keep(path)) {
      std::string reason = llvm::toString(std::move(error));
      for (llvm::sys::fs::TempFile &rest :
           llvm::drop_begin(temporaries, index + 1))
        llvm::consumeError(rest.discard());
      return Failure{subject + ": cannot rename into " + file.name + ": " +
                     reason};
    }
  }
  return std::nullopt;
}

/// The command line as recorded in the outputs: the tool's name, then the
/// arguments.
std::string commandLine(llvm::ArrayRef<llvm::StringRef> args) {
  std::string command = "ringattn-gen";
  for (llvm::StringRef arg : args)
    command += " " + arg.str();
  return command;
}

int reportFailure(const Failure &failure) {
  llvm::errs() << "ringattn-gen: error: " << failure.message << "\n";
  return failure.status;
}

} // namespace

int main(int argc, char **argv) {
  auto start = std::chrono::steady_clock::now();
  std::vector<llvm::StringRef> args(argv + 1, argv + argc);
  if (llvm::any_of(args, [](llvm::StringRef arg) {
        return arg == "--help" || arg == "-h";
      })) {
    llvm::outs() << llvm::formatv(kUsage, kMaxRanks);
    return 0;
  }

  Options options;
  if (std::optional<Failure> failure = parseFlags(args, options))
    return reportFailure(*failure);
  if (std::optional<Failure> failure = checkOptions(options))
    return reportFailure(*failure);
  std::vector<OutputFile> files;
  if (std::optional<Failure> failure =
          renderPackage(options, commandLine(args), files))
    return reportFailure(*failure);
  if (std::optional<Failure> failure = writePackage(options, files))
    return reportFailure(*failure);

  double elapsedMs = std::chrono::duration<double, std::milli>(
                         std::chrono::steady_clock::now() - start)
                         .count();
  // Top-level names; a subdirectory once, with its file count.
  llvm::SmallVector<std::string> written;
  llvm::StringMap<int> subdirFiles;
  for (const OutputFile &file : files) {
    auto [head, rest] = llvm::StringRef(file.name).split('/');
    if (!rest.empty() && subdirFiles[head]++)
      continue;
    llvm::SmallString<128> path(options.outputDir);
    llvm::sys::path::append(path, head);
    written.push_back(path.str().str() + (rest.empty() ? "" : "/"));
  }
  for (std::string &name : written)
    if (name.back() == '/')
      name += llvm::formatv(" ({0} files)",
                            subdirFiles[llvm::sys::path::filename(
                                llvm::StringRef(name).drop_back())])
                  .str();
  llvm::outs() << "ringattn-gen: wrote " << llvm::join(written, ", ") << " for "
               << options.config.str()
               << llvm::formatv(" in {0:F1} ms\n", elapsedMs);
  return 0;
}
