//===- FlagsFuzzer.cpp - ringattn-gen's flags and configuration checks -----===//
//
// libFuzzer target: the input is a command line, one argument per line. It
// goes through ringattn-gen's own parseFlags and checkOptions; a
// configuration they accept (with a ring of at most 8 ranks) is then built
// into schedules with the schedule pipeline, as ringattn-gen would before
// generating kernels. A refusal is fine; a crash, an assertion, a sanitizer
// report or a pipeline failure on an accepted configuration is a bug.
//
//===----------------------------------------------------------------------===//

#include "Flags.h"

#include "ringattn/Dialect/RingAttn/IR/RingAttn.h"
#include "ringattn/Dialect/RingAttn/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <string>

using namespace mlir;
using namespace mlir::ringattn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  llvm::SmallVector<llvm::StringRef> args;
  llvm::StringRef(text).split(args, '\n', /*MaxSplit=*/64);
  ringattn_gen::Options options;
  if (ringattn_gen::parseFlags(args, options) ||
      ringattn_gen::checkOptions(options))
    return 0;
  if (options.config.cp > 8)
    return 0;
  static MLIRContext *ctx = [] {
    auto *c = new MLIRContext(MLIRContext::Threading::DISABLED);
    c->loadDialect<RingAttnDialect>();
    return c;
  }();
  std::string diagnostics;
  ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &d) {
    diagnostics += d.str() + "\n";
    return success();
  });
  OpBuilder builder(ctx);
  OwningOpRef<ModuleOp> module = ModuleOp::create(builder.getUnknownLoc());
  builder.setInsertionPointToStart(module->getBody());
  AttentionOp::create(builder, builder.getUnknownLoc(), "attn",
                      ConfigAttr::get(ctx, options.config));
  PassManager pm(ctx);
  buildSchedulePipeline(pm);
  if (failed(pm.run(*module))) {
    llvm::errs() << "the pipeline failed on an accepted configuration "
                 << options.config.str() << ": " << diagnostics;
    std::abort();
  }
  return 0;
}
