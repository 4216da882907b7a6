//===- IRFuzzer.cpp - mutated ringattn IR through the passes ---------------===//
//
// libFuzzer target: the input is MLIR text. It is parsed with the ringattn
// and rakernel dialects; if it parses and verifies, the schedule pipeline and
// the lowering to kernel ops run on it. Any diagnostic is fine; a crash, an
// assertion, a sanitizer report, a leak or a hang is a bug. Rings above 8
// ranks are skipped (the schedules grow as cp^2; that is not a hang).
//
//===----------------------------------------------------------------------===//

#include "ringattn/Conversion/Passes.h"
#include "ringattn/Dialect/Kernel/IR/Kernel.h"
#include "ringattn/Dialect/RingAttn/IR/RingAttn.h"
#include "ringattn/Dialect/RingAttn/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace mlir;

namespace {

MLIRContext &context() {
  static MLIRContext *ctx = [] {
    DialectRegistry registry;
    registry.insert<ringattn::RingAttnDialect, rakernel::RAKernelDialect>();
    auto *c = new MLIRContext(registry, MLIRContext::Threading::DISABLED);
    c->loadAllAvailableDialects();
    c->allowUnregisteredDialects(false);
    return c;
  }();
  return *ctx;
}

/// Whether every ring in `module` is small enough to fuzz quickly.
bool smallRings(ModuleOp module) {
  bool small = true;
  module->walk([&](Operation *op) {
    for (NamedAttribute attr : op->getAttrs())
      if (auto config = dyn_cast<ringattn::ConfigAttr>(attr.getValue()))
        small &= config.getConfig().cp <= 8;
  });
  return small;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MLIRContext &ctx = context();
  ScopedDiagnosticHandler quiet(&ctx, [](Diagnostic &) { return success(); });
  // The MLIR lexer reads the byte after the buffer (it expects a NUL, as
  // files and std::strings have); libFuzzer's input has none.
  std::string text(reinterpret_cast<const char *>(data), size);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &ctx);
  if (!module || failed(verify(*module)) || !smallRings(*module))
    return 0;
  PassManager pm(&ctx);
  ringattn::buildSchedulePipeline(pm);
  pm.addPass(ringattn::createLowerScheduleToKernels());
  (void)pm.run(*module);
  return 0;
}
