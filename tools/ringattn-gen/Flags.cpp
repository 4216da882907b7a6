//===- Flags.cpp - ringattn-gen's command line ------------------------------===//

#include "Flags.h"

#include "ringattn/Dialect/RingAttn/IR/RingAttn.h"
#include "ringattn/Gen/Manifest.h"
#include "ringattn/Target/Hopper/ForwardKernel.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FileSystem.h"

#include <cassert>
#include <cstdlib>

using namespace mlir::ringattn;
using namespace ringattn_gen;

namespace {

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

/// "--kv-heads 5", or "--kv-heads 4 (the default)" for a flag not given.
std::string flagWithValue(const Options &options, const IntegerFlag &flag) {
  auto it = options.given.find(flag.flag);
  if (it != options.given.end())
    return (flag.flag + " " + it->second).str();
  return (flag.flag + " " + llvm::Twine(options.config.*(flag.member)) +
          " (the default)")
      .str();
}

} // namespace

std::optional<Failure> ringattn_gen::parseFlags(llvm::ArrayRef<llvm::StringRef> args,
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

    if (name == "--no-kernels" || name == "--deterministic") {
      if (hasInlineValue)
        return fail(name + " takes no value");
      if (options.given.count(name))
        return fail(name + ": given twice");
      options.given[name] = "";
      if (name == "--no-kernels")
        options.kernels = false;
      else
        options.deterministic = true;
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

/// The ptxas to use: --ptxas, else $CUDA_HOME/bin/ptxas, else the default
/// toolkit's.
std::string ringattn_gen::ptxasPath(const Options &options) {
  if (!options.ptxasPath.empty())
    return options.ptxasPath;
  if (const char *home = std::getenv("CUDA_HOME"); home && *home)
    return std::string(home) + "/bin/ptxas";
  return "/usr/local/cuda/bin/ptxas";
}

/// Checks what the flags say as a whole: required flags, the configuration's
/// invariants, the generator's limits and the output path.
std::optional<Failure> ringattn_gen::checkOptions(const Options &options) {
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
  // The flag (with its value) that sets a configuration field.
  auto subjectOf = [&](const std::string &field) -> std::string {
    if (field == "dtype")
      return "--dtype " + stringifyDType(config.dtype).str();
    const IntegerFlag *flag =
        llvm::find_if(kIntegerFlags, [&](const IntegerFlag &f) {
          return f.configField == field;
        });
    return flag != std::end(kIntegerFlags) ? flagWithValue(options, *flag)
                                           : field;
  };
  if (std::optional<AttentionConfig::Violation> violation = config.validate())
    return fail(subjectOf(violation->field) + ": " + violation->rule);
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
    if (std::optional<AttentionConfig::Violation> reason =
            hopper::unsupported(config))
      return fail(subjectOf(reason->field) + ": " + reason->rule +
                  "; --no-kernels writes the schedules alone");
    if (options.given.count("--ptxas") && options.ptxasPath.empty())
      return fail("--ptxas: missing value (see --help)");
    if (!llvm::sys::fs::can_execute(ptxasPath(options)))
      return fail((options.given.count("--ptxas") ? "--ptxas "
                                                  : "no ptxas at ") +
                  ptxasPath(options) +
                  ": not an executable ptxas (CUDA 12.4 or newer; set "
                  "--ptxas or CUDA_HOME, or use --no-kernels)");
  } else if (options.given.count("--ptxas")) {
    return fail("--ptxas: kernels are off (--no-kernels)");
  } else if (options.given.count("--deterministic")) {
    return fail("--deterministic: kernels are off (--no-kernels)");
  }

  llvm::sys::fs::file_status status;
  if (!llvm::sys::fs::status(options.outputDir, status) &&
      status.type() != llvm::sys::fs::file_type::directory_file)
    return fail(options.outputFlag + " " + options.outputDir +
                ": exists and is not a directory");
  return std::nullopt;
}
