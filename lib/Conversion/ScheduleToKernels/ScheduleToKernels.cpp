//===- ScheduleToKernels.cpp - compute ops -> rakernel ops -----------------===//
//
// Derives the kernel of every forward compute op and shares equal kernels.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Conversion/Passes.h"
#include "ringattn/Schedule/Layout.h"
#include "ringattn/Target/Hopper/ForwardKernel.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

#include <map>

namespace mlir::ringattn {
#define GEN_PASS_DEF_LOWERSCHEDULETOKERNELS
#include "ringattn/Conversion/Passes.h.inc"
} // namespace mlir::ringattn

using namespace mlir;
using namespace mlir::ringattn;

namespace {

/// "_q0k0d_q1k0f": the pairs of a kernel, for its name.
std::string pairsName(ArrayRef<rakernel::PairAttr> pairs) {
  std::string name;
  for (rakernel::PairAttr pair : pairs)
    name += "_q" + std::to_string(pair.getQ()) + "k" +
            std::to_string(pair.getKv()) +
            (pair.getMask() == MaskKind::diagonal ? "d" : "f");
  return name;
}

/// A readable, unique name: the pairs, the epilogue and the finalized chunks,
/// e.g. "fwd_q0k0d_q1k0f_q1k1d_init_final".
std::string kernelName(ArrayRef<rakernel::PairAttr> pairs,
                       rakernel::Epilogue epilogue, ArrayRef<int64_t> finalize) {
  std::string name = "fwd" + pairsName(pairs);
  name += "_" + rakernel::stringifyEpilogue(epilogue).str();
  for (int64_t chunk : finalize)
    name += "_fin" + std::to_string(chunk);
  return name;
}


/// The kernels created so far, by (configuration, name): schedules of other
/// configurations never share a kernel, even where their names agree. New
/// kernels go into the module's symbol table, renamed (a numeric suffix) if
/// the name is taken.
class KernelTable {
public:
  explicit KernelTable(ModuleOp module) : symbols(module) {}

  /// The kernel `name` of `schedule`'s configuration, built by `create` at
  /// the schedule on first use; returns its (possibly renamed) symbol.
  template <typename CreateFn>
  FlatSymbolRefAttr getOrCreate(ScheduleOp schedule, StringRef name,
                                CreateFn create, int64_t &created) {
    std::pair<const void *, std::string> key = {
        schedule.getConfig().getAsOpaquePointer(), name.str()};
    auto it = kernels.find(key);
    if (it == kernels.end()) {
      OpBuilder builder(schedule);
      Operation *kernel = create(builder);
      symbols.insert(kernel);
      it = kernels.emplace(key, kernel).first;
      ++created;
    }
    return FlatSymbolRefAttr::get(SymbolTable::getSymbolName(it->second));
  }

private:
  SymbolTable symbols;
  std::map<std::pair<const void *, std::string>, Operation *> kernels;
};

struct LowerScheduleToKernelsPass
    : public ringattn::impl::LowerScheduleToKernelsBase<
          LowerScheduleToKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    KernelTable kernels(module);
    int64_t created = 0;
    SmallVector<ScheduleOp> schedules(module.getBody()->getOps<ScheduleOp>());
    for (ScheduleOp schedule : schedules) {
      AttentionConfig config = schedule.getAttentionConfig();
      if (std::optional<AttentionConfig::Violation> reason =
              hopper::unsupported(config)) {
        schedule.emitError() << "cannot generate GPU kernels: " << reason->rule;
        return signalPassFailure();
      }
      LogicalResult lowered =
          schedule.getDirection() == Direction::forward
              ? lowerForward(schedule, kernels, created)
              : lowerBackward(schedule, kernels, created);
      if (failed(lowered))
        return signalPassFailure();
    }
    numKernels += created;
  }

  /// The pairs of `compute` in the rank's local numbering; an error for a
  /// hidden pair.
  FailureOr<SmallVector<rakernel::PairAttr>>
  localPairs(ComputeOp compute, const AttentionConfig &config) {
    SmallVector<rakernel::PairAttr> pairs;
    for (PairOp pair : compute.getPairs()) {
      if (pair.getMask() == MaskKind::hidden)
        return pair.emitError() << "lowering to kernels needs the hidden "
                                   "pairs pruned (ringattn-prune-hidden-pairs)";
      pairs.push_back(rakernel::PairAttr::get(
          compute.getContext(), localIndexOfChunk(config, pair.getQ()),
          localIndexOfChunk(config, pair.getKv()), pair.getMask()));
    }
    return pairs;
  }

  LogicalResult lowerForward(ScheduleOp schedule, KernelTable &kernels,
                             int64_t &created) {
    MLIRContext *context = &getContext();
    AttentionConfig config = schedule.getAttentionConfig();
    // The forward's K/V tile: 128 keys at head_dim 128 (three stages fill
    // shared memory); 192 at head_dim 64, where a K/V stage is half as big
    // and the wider tile halves the per-key cost of the row max, the O
    // rescale and the barriers (H200, 2026-12-02: causal 16k forward 484 ->
    // 498 TFLOP/s, bench/results/2026-12-02-h200-wait-pin/).
    int64_t n = blockN ? int64_t(blockN) : (config.headDim <= 64 ? 192 : 128);
    auto tile = rakernel::TileAttr::getChecked(
        [&] { return schedule.emitError(); }, context, int64_t(blockM), n,
        int64_t(stages), /*consumers=*/int64_t(blockM) / 64);
    if (!tile)
      return failure();
    for (RankOp rank : schedule.getRanks()) {
      SmallVector<ComputeOp> computes(rank.getBody().front().getOps<ComputeOp>());
      if (!rank.getBody().front().getOps<CombineOp>().empty())
        return rank.emitError() << "lowering to kernels needs the combines "
                                   "fused into the computes "
                                   "(ringattn-fuse-combine)";
      int64_t localChunks = chunksOfRank(config, rank.getRank()).size();
      for (auto [index, compute] : llvm::enumerate(computes)) {
        bool first = index == 0, last = index + 1 == computes.size();
        FailureOr<SmallVector<rakernel::PairAttr>> pairs =
            localPairs(compute, config);
        if (failed(pairs))
          return failure();
        SmallVector<bool> computed(localChunks, false);
        for (rakernel::PairAttr pair : *pairs)
          computed[pair.getQ()] = true;
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
        std::string name = kernelName(*pairs, epilogue, finalize);
        compute.setKernelAttr(kernels.getOrCreate(
            schedule, name,
            [&](OpBuilder &builder) {
              return rakernel::ForwardOp::create(
                         builder, schedule.getLoc(), name, schedule.getConfig(),
                         builder.getArrayAttr(
                             SmallVector<Attribute>(pairs->begin(), pairs->end())),
                         ArrayRef<int64_t>(finalize), epilogue, tile)
                  .getOperation();
            },
            created));
      }
    }
    return success();
  }

  /// One rakernel.backward per distinct step (plus its dQ kernel if
  /// deterministic) and the three elementwise kernels of the configuration.
  LogicalResult lowerBackward(ScheduleOp schedule, KernelTable &kernels,
                              int64_t &created) {
    MLIRContext *context = &getContext();
    AttentionConfig config = schedule.getAttentionConfig();
    // The main kernel owns 128 K/V rows (two consumer warpgroups) and
    // streams 64-row query tiles; the dQ kernel the other way around. At
    // head_dim 64 the main kernel is software-pipelined by a query tile,
    // which takes a third stage (the next tile's operands arrive while the
    // current tile's are in use).
    auto mainTile = rakernel::TileAttr::get(
        context, 128, 64, /*stages=*/config.headDim <= 64 ? 3 : 2, 2);
    auto dqTile = rakernel::TileAttr::get(context, 128, 64, 2, 2);
    for (RankOp rank : schedule.getRanks()) {
      int64_t localChunks = chunksOfRank(config, rank.getRank()).size();
      for (ComputeOp compute : rank.getBody().front().getOps<ComputeOp>()) {
        FailureOr<SmallVector<rakernel::PairAttr>> pairs =
            localPairs(compute, config);
        if (failed(pairs))
          return failure();
        SmallVector<int64_t> zero;
        for (int64_t c = 0; c < localChunks; ++c)
          if (llvm::none_of(*pairs,
                            [&](rakernel::PairAttr p) { return p.getKv() == c; }))
            zero.push_back(c);
        ArrayAttr pairsAttr = ArrayAttr::get(
            context, SmallVector<Attribute>(pairs->begin(), pairs->end()));
        std::string name = "bwd" + pairsName(*pairs) +
                           (deterministic ? "_det" : "");
        for (int64_t chunk : zero)
          name += "_zero" + std::to_string(chunk);
        compute.setKernelAttr(kernels.getOrCreate(
            schedule, name,
            [&](OpBuilder &builder) {
              return rakernel::BackwardOp::create(
                         builder, schedule.getLoc(), name, schedule.getConfig(),
                         pairsAttr, ArrayRef<int64_t>(zero), deterministic,
                         mainTile)
                  .getOperation();
            },
            created));
        if (!deterministic)
          continue;
        std::string dqName = "dq" + pairsName(*pairs);
        compute.setDqKernelAttr(kernels.getOrCreate(
            schedule, dqName,
            [&](OpBuilder &builder) {
              return rakernel::BackwardDqOp::create(builder, schedule.getLoc(),
                                                    dqName, schedule.getConfig(),
                                                    pairsAttr, dqTile)
                  .getOperation();
            },
            created));
      }
    }
    for (auto kind : {rakernel::ElementwiseKind::preprocess,
                      rakernel::ElementwiseKind::accumulate,
                      rakernel::ElementwiseKind::finalize}) {
      std::string name = "bwd_" + rakernel::stringifyElementwiseKind(kind).str();
      kernels.getOrCreate(
          schedule, name,
          [&](OpBuilder &builder) {
            return rakernel::ElementwiseOp::create(builder, schedule.getLoc(),
                                                   name, schedule.getConfig(),
                                                   kind)
                .getOperation();
          },
          created);
    }
    return success();
  }
};

} // namespace
