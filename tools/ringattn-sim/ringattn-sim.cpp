//===- ringattn-sim.cpp - the fp64 CPU simulator driver -------------------===//
//
// Parses a file of ringattn schedules (or '-' for stdin) and simulates every
// ringattn.schedule in it against dense fp64 attention. Op verifiers run on
// parse; the schedule verifier does not, so that a broken schedule reaches
// the numerics. Prints one line per schedule and tensor with its error, the
// issues of the execution, and a PASS or FAIL verdict per schedule and
// overall. Exits 0 if every schedule passes, 1 if one fails, 2 on bad flags
// or unreadable input.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Dialect/RingAttn/IR/RingAttn.h"
#include "ringattn/Simulator/DenseReference.h"
#include "ringattn/Simulator/Simulator.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <random>

using namespace mlir;
using namespace mlir::ringattn;

namespace {

enum ExitCode { kPassed = 0, kFailed = 1, kBadInput = 2 };

/// The most multiply-adds of dense fp64 attention a schedule may need; the
/// simulator does about as many again. About a minute on one core.
constexpr double kMaxMultiplyAdds = 2e10;

llvm::cl::OptionCategory simCategory("ringattn-sim options");

llvm::cl::opt<std::string> inputFilename(llvm::cl::Positional,
                                         llvm::cl::desc("<schedule file|->"),
                                         llvm::cl::Required,
                                         llvm::cl::cat(simCategory));

llvm::cl::opt<int64_t> batchFlag("batch",
                                 llvm::cl::desc("Sequences per run (>= 1)"),
                                 llvm::cl::init(1), llvm::cl::cat(simCategory));

llvm::cl::opt<uint64_t>
    seedFlag("seed",
             llvm::cl::desc("Seed of the random inputs (default: random, "
                            "printed)"),
             llvm::cl::cat(simCategory));

llvm::cl::opt<double> toleranceFlag(
    "tolerance",
    llvm::cl::desc("Largest max relative error that passes (>= 0)"),
    llvm::cl::init(1e-10), llvm::cl::cat(simCategory));

/// `value` in scientific notation with three significant digits: 1.23e-16.
std::string scientific(double value) {
  std::string text;
  llvm::raw_string_ostream(text) << llvm::format("%.2e", value);
  return text;
}

/// Prints `report` as lines prefixed with the schedule's name.
void print(const SimulationReport &report, llvm::raw_ostream &os) {
  std::string prefix = "@" + report.schedule + ": ";
  os << prefix << stringifyDirection(report.direction) << ", "
     << report.config.str() << "\n";
  for (const std::string &issue : report.issues)
    os << prefix << "issue: " << issue << "\n";
  std::string wrong;
  for (const TensorComparison &tensor : report.tensors) {
    os << prefix << tensor.name << " error " << scientific(tensor.error);
    if (!tensor.passed) {
      os << " > tolerance " << scientific(report.options.tolerance) << ", "
         << (std::isnan(tensor.error) ? "first NaN at " : "worst at ")
         << tensor.worst;
      wrong += (wrong.empty() ? "" : ", ") + tensor.name;
    }
    os << "\n";
  }
  if (report.passed) {
    os << prefix << "PASS\n";
    return;
  }
  os << prefix << "FAIL (";
  if (!wrong.empty())
    os << wrong << " wrong" << (report.issues.empty() ? "" : "; ");
  if (!report.issues.empty())
    os << report.issues.size()
       << (report.issues.size() == 1 ? " issue" : " issues");
  os << ")\n";
}

} // namespace

int main(int argc, char **argv) {
  llvm::cl::HideUnrelatedOptions(simCategory);
  if (!llvm::cl::ParseCommandLineOptions(
          argc, argv,
          "ringattn CPU simulator: runs ring schedules on all ranks in fp64 "
          "and compares them with dense attention\n",
          &llvm::errs()))
    return kBadInput;
  if (batchFlag < 1) {
    llvm::errs() << "ringattn-sim: --batch must be at least 1 (got "
                 << batchFlag << ")\n";
    return kBadInput;
  }
  if (!(toleranceFlag >= 0) || std::isinf(toleranceFlag)) {
    llvm::errs() << "ringattn-sim: --tolerance must be a finite number >= 0 "
                    "(got "
                 << toleranceFlag << ")\n";
    return kBadInput;
  }

  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> file =
      openInputFile(inputFilename, &error);
  if (!file) {
    llvm::errs() << "ringattn-sim: " << error << "\n";
    return kBadInput;
  }
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  MLIRContext context;
  context.getOrLoadDialect<RingAttnDialect>();
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module) {
    llvm::errs() << "ringattn-sim: cannot parse '" << inputFilename << "'\n";
    return kBadInput;
  }

  SmallVector<ScheduleOp> schedules;
  module->walk([&](ScheduleOp schedule) { schedules.push_back(schedule); });
  if (schedules.empty()) {
    llvm::errs() << "ringattn-sim: '" << inputFilename
                 << "' holds no ringattn.schedule (run ringattn-opt "
                    "--ringattn-schedule-pipeline on a ringattn.attention "
                    "first)\n";
    return kBadInput;
  }
  for (ScheduleOp schedule : schedules) {
    double work = denseMultiplyAdds(schedule.getAttentionConfig(), batchFlag);
    if (work > kMaxMultiplyAdds) {
      llvm::errs()
          << "ringattn-sim: @" << schedule.getSymName() << " ("
          << schedule.getAttentionConfig().str()
          << ") is too large to simulate in fp64: batch " << batchFlag
          << " needs " << scientific(work) << " multiply-adds, the limit is "
          << scientific(kMaxMultiplyAdds)
          << "; use a smaller seq, fewer heads or a smaller head_dim\n";
      return kBadInput;
    }
  }

  SimulationOptions options;
  options.batch = batchFlag;
  options.seed = seedFlag.getNumOccurrences() ? seedFlag.getValue()
                                              : std::random_device()();
  options.tolerance = toleranceFlag;
  llvm::outs() << "ringattn-sim: seed " << options.seed << ", batch "
               << options.batch << ", tolerance "
               << scientific(options.tolerance) << "\n";
  unsigned failed = 0;
  for (ScheduleOp schedule : schedules) {
    SimulationReport report = simulate(schedule, options);
    print(report, llvm::outs());
    failed += !report.passed;
  }
  std::string total = std::to_string(schedules.size()) +
                      (schedules.size() == 1 ? " schedule" : " schedules");
  if (failed) {
    llvm::outs() << "FAIL: " << failed << " of " << total << " failed\n";
    return kFailed;
  }
  llvm::outs() << "PASS: " << total << " passed\n";
  return kPassed;
}
