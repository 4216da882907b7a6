//===- ScheduleToKernels.cpp - compute ops -> rakernel ops -----------------===//
//
// Derives the kernel of every forward compute op and shares equal kernels.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Conversion/Passes.h"
#include "ringattn/Schedule/Layout.h"
#include "ringattn/Target/Hopper/ForwardKernel.h"

#include "mlir/IR/Builders.h"

#include <map>

namespace mlir::ringattn {
#define GEN_PASS_DEF_LOWERSCHEDULETOKERNELS
#include "ringattn/Conversion/Passes.h.inc"
} // namespace mlir::ringattn

using namespace mlir;
using namespace mlir::ringattn;

namespace {

/// A readable, unique name: the pairs, the epilogue and the finalized chunks,
/// e.g. "fwd_q0k0d_q1k0f_q1k1d_init_final".
std::string kernelName(ArrayRef<rakernel::PairAttr> pairs,
                       rakernel::Epilogue epilogue, ArrayRef<int64_t> finalize) {
  std::string name = "fwd";
  for (rakernel::PairAttr pair : pairs)
    name += "_q" + std::to_string(pair.getQ()) + "k" +
            std::to_string(pair.getKv()) +
            (pair.getMask() == MaskKind::diagonal ? "d" : "f");
  name += "_" + rakernel::stringifyEpilogue(epilogue).str();
  for (int64_t chunk : finalize)
    name += "_fin" + std::to_string(chunk);
  return name;
}

struct LowerScheduleToKernelsPass
    : public ringattn::impl::LowerScheduleToKernelsBase<
          LowerScheduleToKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *context = &getContext();
    OpBuilder builder(context);
    std::map<std::string, rakernel::ForwardOp> kernels;
    for (ScheduleOp schedule : module.getBody()->getOps<ScheduleOp>()) {
      if (schedule.getDirection() != Direction::forward)
        continue;
      AttentionConfig config = schedule.getAttentionConfig();
      if (std::string reason = hopper::unsupportedReason(config);
          !reason.empty()) {
        schedule.emitError() << "cannot generate GPU kernels: " << reason;
        return signalPassFailure();
      }
      auto tile = rakernel::TileAttr::getChecked(
          [&] { return schedule.emitError(); }, context, int64_t(blockM),
          int64_t(blockN), int64_t(stages), /*consumers=*/int64_t(blockM) / 64);
      if (!tile)
        return signalPassFailure();
      for (RankOp rank : schedule.getRanks()) {
        SmallVector<ComputeOp> computes(
            rank.getBody().front().getOps<ComputeOp>());
        if (!rank.getBody().front().getOps<CombineOp>().empty()) {
          rank.emitError() << "lowering to kernels needs the combines fused "
                              "into the computes (ringattn-fuse-combine)";
          return signalPassFailure();
        }
        int64_t localChunks = chunksOfRank(config, rank.getRank()).size();
        for (auto [index, compute] : llvm::enumerate(computes)) {
          bool first = index == 0, last = index + 1 == computes.size();
          SmallVector<rakernel::PairAttr> pairs;
          SmallVector<bool> computed(localChunks, false);
          for (PairOp pair : compute.getPairs()) {
            int64_t q = localIndexOfChunk(config, pair.getQ());
            computed[q] = true;
            pairs.push_back(rakernel::PairAttr::get(
                context, q, localIndexOfChunk(config, pair.getKv()),
                pair.getMask()));
          }
          SmallVector<int64_t> finalize;
          if (last)
            for (int64_t c = 0; c < localChunks; ++c)
              if (!computed[c])
                finalize.push_back(c);
          rakernel::Epilogue epilogue =
              first ? (last ? rakernel::Epilogue::init_final
                            : rakernel::Epilogue::init)
                    : (last ? rakernel::Epilogue::merge_final
                            : rakernel::Epilogue::merge);
          std::string name = kernelName(pairs, epilogue, finalize);
          auto it = kernels.find(name);
          if (it == kernels.end()) {
            builder.setInsertionPoint(schedule);
            auto kernel = rakernel::ForwardOp::create(
                builder, schedule.getLoc(), name, schedule.getConfig(),
                builder.getArrayAttr(SmallVector<Attribute>(pairs.begin(),
                                                            pairs.end())),
                ArrayRef<int64_t>(finalize), epilogue, tile);
            it = kernels.emplace(name, kernel).first;
            ++numKernels;
          }
          compute.setKernelAttr(FlatSymbolRefAttr::get(context, name));
        }
      }
    }
  }
};

} // namespace
