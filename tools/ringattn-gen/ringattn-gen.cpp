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

namespace {

/// Exit status of a bad command line, configuration or output directory.
constexpr int kUsageErrorStatus = 2;
/// Exit status of an internal failure (the pipeline rejecting a valid
/// configuration).
constexpr int kInternalErrorStatus = 1;

/// The largest ring ringattn-gen builds: the schedules grow as cp^2 ops (cp
/// = 128 takes about 6 s and 300 MB).
constexpr int64_t kMaxRanks = 128;

constexpr const char *kUsage =
    R"(usage: ringattn-gen --cp N --seq N -o DIR [options]

Builds the forward and backward ring-attention schedules of one attention and
their Hopper (sm_90a) GPU kernels, and writes into DIR: kernels.ptx and
kernels.cubin (the kernels), schedule.mlir (the schedules and the kernel-level
ops), manifest.json (layout, per-rank programs, kernels, transfer and buffer
sizes per sequence) and schedule.svg (a picture).

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
  --no-kernels        write the schedules only (any head_dim and dtype)
  --atomic-dq         backward dQ by fp32 atomics in the main kernel instead
                      of a separate dQ kernel: not bit-identical run to run
                      (and, today, slower; the default is deterministic)
  --ptxas PATH        the ptxas to assemble kernels with (default
                      $CUDA_HOME/bin/ptxas, else /usr/local/cuda/bin/ptxas)
  -h, --help          this text

Flags take their value as the next argument or after '=' (--cp=4).
Exit status: 0 written, 2 bad flags or configuration (nothing written),
1 internal error.
)";

/// A failure with a one-line message and the exit status it maps to.
struct Failure {
  std::string message;
  int status = kUsageErrorStatus;
};

/// An integer flag and the AttentionConfig field it sets.
struct IntegerFlag {
  llvm::StringLiteral flag;
  /// The field's name in #ringattn.config, as AttentionConfig::validate()
  /// reports it.
  llvm::StringLiteral configField;
  int64_t AttentionConfig::*member;
};

constexpr IntegerFlag kIntegerFlags[] = {
    {"--cp", "cp", &AttentionConfig::cp},
    {"--seq", "seq", &AttentionConfig::seq},
    {"--heads", "heads", &AttentionConfig::heads},
    {"--kv-heads", "kv_heads", &AttentionConfig::kvHeads},
    {"--head-dim", "head_dim", &AttentionConfig::headDim},
};

/// The integer flag named `flag`.
const IntegerFlag &integerFlagNamed(llvm::StringRef flag) {
  const IntegerFlag *found = llvm::find_if(
      kIntegerFlags, [&](const IntegerFlag &f) { return f.flag == flag; });
  assert(found != std::end(kIntegerFlags) && "not an integer flag");
  return *found;
}

/// What the command line asks for.
struct Options {
  AttentionConfig config;
  std::string outputDir;
  /// Generate GPU kernels (off with --no-kernels).
  bool kernels = true;
  bool atomicDq = false;
  std::string ptxasPath;
  /// How the output flag was spelled (-o or --output), for messages.
  std::string outputFlag = "-o";
  /// The value text of every flag given, by flag name (also marks which
  /// flags were given).
  llvm::StringMap<std::string> given;
};

/// Parses `args` (without the program name) strictly.
std::optional<Failure> parseFlags(llvm::ArrayRef<llvm::StringRef> args,
                                  Options &options) {
  auto fail = [](const llvm::Twine &message) {
    return std::optional<Failure>(Failure{message.str()});
  };
  for (size_t i = 0; i < args.size(); ++i) {
    llvm::StringRef arg = args[i];
    if (!arg.starts_with("-") || arg == "-")
      return fail("unexpected argument '" + arg +
                  "': flags start with '-' (see --help)");
    auto [name, inlineValue] = arg.split('=');
    bool hasInlineValue = arg.contains('=');

    if (name == "--causal" || name == "--no-causal") {
      if (hasInlineValue)
        return fail(name + " takes no value");
      if (options.given.count("--causal"))
        return fail(name + ": the mask is already set by " +
                    options.given["--causal"]);
      options.given["--causal"] = name.str();
      options.config.causal = name == "--causal";
      continue;
    }

    if (name == "--no-kernels" || name == "--atomic-dq") {
      if (hasInlineValue)
        return fail(name + " takes no value");
      if (options.given.count(name))
        return fail(name + ": given twice");
      options.given[name] = "";
      if (name == "--no-kernels")
        options.kernels = false;
      else
        options.atomicDq = true;
      continue;
    }

    const IntegerFlag *integerFlag = llvm::find_if(
        kIntegerFlags, [&](const IntegerFlag &f) { return f.flag == name; });
    bool isOutput = name == "-o" || name == "--output";
    if (integerFlag == std::end(kIntegerFlags) && !isOutput &&
        name != "--layout" && name != "--dtype" && name != "--ptxas")
      return fail(name + ": unknown flag (see --help)");

    // The value: after '=' or the next argument, unless that is a flag
    // (a negative number is a value, rejected later with its rule).
    llvm::StringRef value = inlineValue;
    if (!hasInlineValue) {
      bool nextIsValue =
          i + 1 < args.size() &&
          (!args[i + 1].starts_with("-") ||
           (args[i + 1].size() > 1 && llvm::isDigit(args[i + 1][1])));
      if (!nextIsValue)
        return fail(name + ": missing value (see --help)");
      value = args[++i];
    }
    if (value.empty())
      return fail(name + ": missing value (see --help)");
    llvm::StringRef key = isOutput ? "-o" : name;
    if (options.given.count(key))
      return fail(name + ": given twice");
    options.given[key] = value.str();

    if (integerFlag != std::end(kIntegerFlags)) {
      int64_t number;
      if (value.getAsInteger(10, number)) {
        llvm::StringRef digits = value;
        digits.consume_front("-");
        bool allDigits = !digits.empty() && llvm::all_of(digits, llvm::isDigit);
        return fail(name + " " + value +
                    (allDigits ? ": does not fit in a 64-bit integer"
                               : ": expected an integer"));
      }
      options.config.*(integerFlag->member) = number;
    } else if (name == "--layout") {
      std::optional<Layout> layout = symbolizeLayout(value);
      if (!layout)
        return fail(name + " " + value + ": must be zigzag or contiguous");
      options.config.layout = *layout;
    } else if (name == "--dtype") {
      std::optional<DType> dtype = symbolizeDType(value);
      if (!dtype)
        return fail(name + " " + value + ": must be bf16, fp16 or fp32");
      options.config.dtype = *dtype;
    } else if (name == "--ptxas") {
      options.ptxasPath = value.str();
    } else {
      options.outputDir = value.str();
      options.outputFlag = name.str();
    }
  }
  return std::nullopt;
}

/// "--kv-heads 5", or "--kv-heads 4 (the default)" for a flag not given.
std::string flagWithValue(const Options &options, const IntegerFlag &flag) {
  auto it = options.given.find(flag.flag);
  if (it != options.given.end())
    return (flag.flag + " " + it->second).str();
  return (flag.flag + " " + llvm::Twine(options.config.*(flag.member)) +
          " (the default)")
      .str();
}

/// The ptxas to use: --ptxas, else $CUDA_HOME/bin/ptxas, else the default
/// toolkit's.
std::string ptxasPath(const Options &options) {
  if (!options.ptxasPath.empty())
    return options.ptxasPath;
  if (const char *home = std::getenv("CUDA_HOME"); home && *home)
    return std::string(home) + "/bin/ptxas";
  return "/usr/local/cuda/bin/ptxas";
}

/// Checks what the flags say as a whole: required flags, the configuration's
/// invariants, the generator's limits and the output path.
std::optional<Failure> checkOptions(const Options &options) {
  auto fail = [](const llvm::Twine &message) {
    return std::optional<Failure>(Failure{message.str()});
  };
  if (!options.given.count("--cp"))
    return fail("--cp N is required (the number of ranks in the ring)");
  if (!options.given.count("--seq"))
    return fail("--seq N is required (the total tokens per sequence)");
  if (!options.given.count("-o"))
    return fail("-o DIR is required (the output directory)");

  const AttentionConfig &config = options.config;
  if (std::optional<AttentionConfig::Violation> violation = config.validate()) {
    const IntegerFlag *flag =
        llvm::find_if(kIntegerFlags, [&](const IntegerFlag &f) {
          return f.configField == violation->field;
        });
    std::string subject = flag != std::end(kIntegerFlags)
                              ? flagWithValue(options, *flag)
                              : violation->field;
    return fail(subject + ": " + violation->rule);
  }
  if (config.cp > kMaxRanks)
    return fail(flagWithValue(options, integerFlagNamed("--cp")) +
                ": ringattn-gen builds rings of at most " +
                llvm::Twine(kMaxRanks) + " ranks");
  if (!manifestSizesFit(config))
    return fail(flagWithValue(options, integerFlagNamed("--seq")) + " with " +
                flagWithValue(options, integerFlagNamed("--heads")) + " and " +
                flagWithValue(options, integerFlagNamed("--head-dim")) +
                ": per-sequence buffer sizes overflow 64-bit byte counts "
                "(64 * seq/cp * heads * head_dim must stay below 2^63)");

  if (options.kernels) {
    std::string reason = hopper::unsupportedReason(config);
    if (!reason.empty()) {
      bool dtype = config.headDim == 64 || config.headDim == 128;
      std::string subject =
          dtype ? "--dtype " + stringifyDType(config.dtype).str()
                : flagWithValue(options, integerFlagNamed("--head-dim"));
      return fail(subject + ": " + reason +
                  "; --no-kernels writes the schedules alone");
    }
    if (options.given.count("--ptxas") && options.ptxasPath.empty())
      return fail("--ptxas: missing value (see --help)");
    if (!llvm::sys::fs::can_execute(ptxasPath(options)))
      return fail((options.given.count("--ptxas") ? "--ptxas "
                                                  : "no ptxas at ") +
                  ptxasPath(options) +
                  ": not an executable ptxas (CUDA 12.3 or newer; set "
                  "--ptxas or CUDA_HOME, or use --no-kernels)");
  } else if (options.given.count("--ptxas")) {
    return fail("--ptxas: kernels are off (--no-kernels)");
  } else if (options.given.count("--atomic-dq")) {
    return fail("--atomic-dq: kernels are off (--no-kernels)");
  }

  llvm::sys::fs::file_status status;
  if (!llvm::sys::fs::status(options.outputDir, status) &&
      status.type() != llvm::sys::fs::file_type::directory_file)
    return fail(options.outputFlag + " " + options.outputDir +
                ": exists and is not a directory");
  return std::nullopt;
}

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
    kernelOptions.atomicDq = options.atomicDq;
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
