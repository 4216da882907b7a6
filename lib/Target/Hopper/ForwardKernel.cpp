//===- ForwardKernel.cpp - the Hopper forward kernel builder ---------------===//
//
// See ForwardKernel.h for the kernel's structure. The builder is organized as
// the kernel runs: prologue (barriers, work-item decode), producer (TMA),
// consumer (QK^T, online softmax, PV per K/V tile) and epilogue (merge into
// the accumulators or write the outputs).
//
//===----------------------------------------------------------------------===//

#include "ringattn/Target/Hopper/ForwardKernel.h"
#include "ringattn/Target/Hopper/PtxBuilder.h"
#include "ringattn/Schedule/Layout.h"

#include "KernelEmitter.h"
#include "TileShape.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::ringattn;
using namespace mlir::ringattn::hopper;

//===----------------------------------------------------------------------===//
// Spec, work items, launch geometry
//===----------------------------------------------------------------------===//

ForwardKernelSpec ForwardKernelSpec::fromOp(rakernel::ForwardOp op) {
  ForwardKernelSpec spec;
  spec.name = op.getSymName().str();
  spec.config = op.getConfig().getConfig();
  for (auto pair : op.getPairs().getAsRange<rakernel::PairAttr>())
    spec.pairs.push_back({pair.getQ(), pair.getKv(), pair.getMask()});
  llvm::append_range(spec.finalizeOnly, op.getFinalize());
  spec.epilogue = op.getEpilogue();
  rakernel::TileAttr tile = op.getTile();
  spec.blockM = tile.getM();
  spec.blockN = tile.getN();
  spec.stages = tile.getStages();
  spec.consumers = tile.getConsumers();
  return spec;
}

std::optional<AttentionConfig::Violation>
mlir::ringattn::hopper::unsupported(const AttentionConfig &config) {
  if (config.headDim != 64 && config.headDim != 128)
    return AttentionConfig::Violation{
        "head_dim", "the Hopper kernels support head_dim 64 and 128 (got " +
                        std::to_string(config.headDim) + ")"};
  if (config.dtype != DType::bf16 && config.dtype != DType::fp16)
    return AttentionConfig::Violation{
        "dtype", "the Hopper kernels support bf16 and fp16 (got " +
                     stringifyDType(config.dtype).str() + ")"};
  return std::nullopt;
}

namespace {

/// The K/V chunks a query chunk visits at a step: full pairs first, then the
/// diagonal one (its masked tiles come last).
std::vector<KvSegment> segmentsOf(const ForwardKernelSpec &spec,
                                  int64_t qChunk) {
  return kvSegmentsOf(spec.pairs, qChunk, /*diagonalLast=*/true);
}

/// The shared-memory map of a forward kernel.
struct Geometry : TileShape {
  explicit Geometry(const ForwardKernelSpec &spec)
      : TileShape(spec.config, spec.blockM, spec.blockN, spec.stages) {
    consumers = spec.consumers;
    qOffset = 0;
    kOffset = qTileBytes;
    vOffset = kOffset + stages * kvTileBytes;
    barrierOffset = vOffset + stages * kvTileBytes;
    sharedBytes = barrierOffset + 8 * (1 + 3 * stages);
    threads = 128 * (1 + consumers);
  }

  int64_t qFullBarrier() const { return barrierOffset; }
  int64_t kFullBarrier() const { return barrierOffset + 8; }
  int64_t vFullBarrier() const { return barrierOffset + 8 * (1 + stages); }
  int64_t emptyBarrier() const { return barrierOffset + 8 * (1 + 2 * stages); }

  int64_t consumers;
  int64_t qOffset, kOffset, vOffset, barrierOffset, sharedBytes, threads;
};

constexpr int64_t kProducerRegisters = 40;
constexpr int64_t kConsumerRegisters = 232;
/// Named barriers 1 and 2: consumer warpgroups 0 and 1, each on its own.
constexpr int64_t kWarpgroupBarrier = 1;
/// Lazy rescale (head_dim 128): a warp keeps its rows' running max until one
/// of them grows by more than this (log2 units), so P <= 2^8 = 256, which
/// bf16 and fp16 hold with their full relative precision.
constexpr float kLazyRescaleLog2 = 8.0f;

} // namespace

std::vector<WorkItem>
mlir::ringattn::hopper::forwardWorkItems(const ForwardKernelSpec &spec) {
  return queryTileItems(
      Geometry(spec), chunksOfRank(spec.config, 0).size(),
      [&](int64_t c) { return segmentsOf(spec, c); },
      [&](int64_t c) { return llvm::is_contained(spec.finalizeOnly, c); });
}

ForwardLaunch mlir::ringattn::hopper::forwardLaunch(const ForwardKernelSpec &spec) {
  Geometry g(spec);
  return {static_cast<int64_t>(forwardWorkItems(spec).size()), g.threads,
          g.sharedBytes, g.headSection()};
}

//===----------------------------------------------------------------------===//
// The builder
//===----------------------------------------------------------------------===//

namespace {

/// The per-CTA values every part of the kernel uses.
struct CtaValues {
  Value tmaQ, tmaK, tmaV, oAcc, lseAcc, out, lseOut;
  Value tid, warpgroup, warpInGroup, lane;
  Value qChunk, qTile, head, kvHead, batch;
  // The K/V tiles of this CTA: segment 0 then segment 1.
  Value tiles0, tiles1, kvChunk0, kvChunk1, diagonal0, diagonal1;
};

class ForwardKernelBuilder {
public:
  ForwardKernelBuilder(OpBuilder &builder, Location loc,
                       const ForwardKernelSpec &spec)
      : e(builder, loc), spec(spec), g(spec) {
    // At head_dim 64 the fresh address measured 1% slower (H200,
    // 2026-12-03: causal 16k forward 1.063 -> 1.053x cuDNN).
    e.freshSharedAddress = g.headDim > 64;
  }

  void build();

private:
  LLVM::GlobalOp declareWorkItems();
  void emitPrologue(Block &entry, LLVM::GlobalOp workItems);
  void decodeSegments();
  /// (K/V chunk, tile index in the chunk, diagonal) of the CTA's tile j.
  std::tuple<Value, Value, Value> tileOf(Value j);
  void emitProducer();
  void emitConsumer();
  /// Issues S = Q K^T of a stage (one wgmma group, not waited for).
  Value emitQK(Value consumer, Value stage);
  Value emitMask(Value s, Value consumer, Value kvTile, Value diagonal);
  /// The online softmax of the CTA's tile j (S waited for): P (f32, in the
  /// accumulator's order), the rescale factor of O, the new running max and
  /// sum.
  struct SoftmaxStep {
    SmallVector<Value> p;
    Value alpha[2], m[2], l[2];
    /// Whether O needs the rescale by alpha (warp-uniform).
    Value rescale;
  };
  SoftmaxStep emitSoftmax(Value s, Value j, Value consumer, ArrayRef<Value> m,
                          ArrayRef<Value> l);
  /// P packed into 16-bit pairs: the register A operand of P V.
  SmallVector<Value> packP(ArrayRef<Value> p);
  /// Issues O += P V of a stage (one wgmma group, not waited for).
  Value emitPV(Value o, ArrayRef<Value> p, Value stage);
  void emitEpilogue(Value consumer, Value o, ArrayRef<Value> m,
                    ArrayRef<Value> l);

  /// Fragment geometry of an m64nN f32 accumulator: element i of a thread
  /// sits in row 16*warp + lane/4 + 8*((i>>1)&1), column
  /// 8*(i>>2) + 2*(lane&3) + (i&1).
  static int64_t rowHalf(int64_t i) { return (i >> 1) & 1; }
  static int64_t columnBase(int64_t i) { return 8 * (i >> 2) + (i & 1); }
  /// Whether O's rescale is skipped while the running max grows little. At
  /// head_dim 128 the rescale's branch sits between the next S's issue and
  /// P V's, and skipping it is worth 1.2-1.4% (H200, 2026-12-02); at 64,
  /// without the warpgroup barrier that orders the P V wait, the branch costs
  /// 14%.
  bool lazyRescale() const { return g.headDim > 64; }

  KernelEmitter e;
  const ForwardKernelSpec &spec;
  Geometry g;
  CtaValues v;
};

LLVM::GlobalOp ForwardKernelBuilder::declareWorkItems() {
  SmallVector<int32_t> packed;
  for (const WorkItem &item : forwardWorkItems(spec))
    packed.push_back(static_cast<int32_t>((item.qChunk << 16) | item.qTile));
  return e.declareI32Table(spec.name + "_work_items", packed);
}

void ForwardKernelBuilder::build() {
  LLVM::GlobalOp workItems = declareWorkItems();
  LLVM::LLVMFuncOp func =
      e.declareKernel(spec.name, /*tensorMaps=*/3, /*pointers=*/4, g.threads);
  Block *entry = func.addEntryBlock(e.b);
  OpBuilder::InsertionGuard guard(e.b);
  e.b.setInsertionPointToStart(entry);
  emitPrologue(*entry, workItems);

  e.splitRoles(v.warpgroup, kProducerRegisters, kConsumerRegisters,
               [&] { emitProducer(); }, [&] { emitConsumer(); });
  LLVM::ReturnOp::create(e.b, e.loc, ValueRange{});
}

void ForwardKernelBuilder::emitPrologue(Block &entry, LLVM::GlobalOp workItems) {
  v.tmaQ = entry.getArgument(0);
  v.tmaK = entry.getArgument(1);
  v.tmaV = entry.getArgument(2);
  v.oAcc = entry.getArgument(3);
  v.lseAcc = entry.getArgument(4);
  v.out = entry.getArgument(5);
  v.lseOut = entry.getArgument(6);
  v.tid = e.threadIdX();
  v.warpgroup = e.shr(v.tid, e.i32(7));
  v.warpInGroup = e.band(e.shr(v.tid, e.i32(5)), e.i32(3));
  v.lane = e.band(v.tid, e.i32(31));

  // Heads run along x, the work items (heaviest first) along y: the block
  // scheduler issues every head's (in an L2 section's) heaviest item before
  // any lighter one.
  auto [item, head] =
      e.sectionedWorkItem(workItems, g.heads, g.headSection());
  v.qChunk = e.shr(item, e.i32(16));
  v.qTile = e.band(item, e.i32(0xFFFF));
  v.head = head;
  v.kvHead = e.divu(v.head, e.i32(g.group));
  v.batch = e.blockIdZ();
  decodeSegments();

  // One thread initializes the barriers; everyone waits for it.
  auto init = scf::IfOp::create(e.b, e.loc, e.eq(v.tid, e.i32(0)));
  {
    OpBuilder::InsertionGuard inner(e.b);
    e.b.setInsertionPointToStart(&init.getThenRegion().front());
    e.mbarrierInit(e.sharedAt(g.qFullBarrier()), 1);
    for (int64_t s = 0; s < g.stages; ++s) {
      e.mbarrierInit(e.sharedAt(g.kFullBarrier() + 8 * s), 1);
      e.mbarrierInit(e.sharedAt(g.vFullBarrier() + 8 * s), 1);
      e.mbarrierInit(e.sharedAt(g.emptyBarrier() + 8 * s), 4 * g.consumers);
    }
    // Make the initialized barriers visible to the TMA unit (async proxy).
    NVVM::FenceMbarrierInitOp::create(e.b, e.loc);
  }
  e.barrierAll();
}

void ForwardKernelBuilder::decodeSegments() {
  // Per local q chunk, its (at most two) segments are compile-time facts;
  // select the CTA's by its q chunk. A diagonal segment's tile count depends
  // on the q tile: (min(qTile*bm + bm, chunk) - 1) / bn + 1.
  Value isBack = e.eq(v.qChunk, e.i32(1));
  Value lastRow = e.sub(e.minu(e.add(e.mul(v.qTile, e.i32(g.bm)), e.i32(g.bm)),
                               e.i32(g.chunk)),
                        e.i32(1));
  Value diagonalTiles = e.add(e.divu(lastRow, e.i32(g.bn)), e.i32(1));
  auto field = [&](int64_t index, auto get) {
    Value perChunk[2];
    for (int64_t c = 0; c < 2; ++c) {
      std::vector<KvSegment> segments = segmentsOf(spec, c);
      perChunk[c] = index < (int64_t)segments.size()
                        ? get(&segments[index])
                        : get(static_cast<const KvSegment *>(nullptr));
    }
    return e.select(isBack, perChunk[1], perChunk[0]);
  };
  auto tiles = [&](const KvSegment *s) {
    if (!s)
      return e.i32(0);
    return s->diagonal ? diagonalTiles : e.i32(g.kvTiles);
  };
  auto kvChunk = [&](const KvSegment *s) { return e.i32(s ? s->kvChunk : 0); };
  auto diagonal = [&](const KvSegment *s) {
    return e.boolean(s && s->diagonal);
  };
  v.tiles0 = field(0, tiles);
  v.tiles1 = field(1, tiles);
  v.kvChunk0 = field(0, kvChunk);
  v.kvChunk1 = field(1, kvChunk);
  v.diagonal0 = field(0, diagonal);
  v.diagonal1 = field(1, diagonal);
}

std::tuple<Value, Value, Value> ForwardKernelBuilder::tileOf(Value j) {
  Value inFirst = e.ult(j, v.tiles0);
  Value kvChunk = e.select(inFirst, v.kvChunk0, v.kvChunk1);
  Value tile = e.select(inFirst, j, e.sub(j, v.tiles0));
  Value diagonal = e.select(inFirst, v.diagonal0, v.diagonal1);
  return {kvChunk, tile, diagonal};
}

void ForwardKernelBuilder::emitProducer() {
  Value total = e.add(v.tiles0, v.tiles1);
  Value leader = arith::AndIOp::create(e.b, e.loc,
                                       e.eq(v.warpInGroup, e.i32(0)),
                                       e.electOne());
  Value active = arith::AndIOp::create(e.b, e.loc, leader,
                                       e.ugt(total, e.i32(0)));
  auto guard = scf::IfOp::create(e.b, e.loc, active);
  OpBuilder::InsertionGuard inner(e.b);
  e.b.setInsertionPointToStart(&guard.getThenRegion().front());

  // Q once.
  Value qRow = e.add(e.mul(v.qChunk, e.i32(g.chunk)), e.mul(v.qTile, e.i32(g.bm)));
  Value qBar = e.sharedAt(g.qFullBarrier());
  e.mbarrierArriveExpectTx(qBar, g.qTileBytes);
  for (int64_t box = 0; box < g.boxes; ++box)
    e.tmaLoad(e.sharedAt(g.qOffset + box * g.bm * 128), v.tmaQ,
              {e.i32(64 * box), v.head, qRow, v.batch}, qBar);

  // K and V tiles through the stage ring.
  auto loop = scf::ForOp::create(e.b, e.loc, e.i32(0), total, e.i32(1));
  e.b.setInsertionPointToStart(loop.getBody());
  Value j = loop.getInductionVar();
  Value stage = e.remu(j, e.i32(g.stages));
  Value phase = e.band(e.divu(j, e.i32(g.stages)), e.i32(1));
  e.mbarrierWait(e.stageAt(g.emptyBarrier(), stage, 8),
                 e.bxor(phase, e.i32(1)));
  auto [kvChunk, tile, diagonal] = tileOf(j);
  (void)diagonal;
  Value kvRow = e.add(e.mul(kvChunk, e.i32(g.chunk)), e.mul(tile, e.i32(g.bn)));
  Value kBar = e.stageAt(g.kFullBarrier(), stage, 8);
  e.mbarrierArriveExpectTx(kBar, g.kvTileBytes);
  Value kStage = e.stageAt(g.kOffset, stage, g.kvTileBytes);
  for (int64_t box = 0; box < g.boxes; ++box)
    e.tmaLoad(e.gepBytes(kStage, box * g.bn * 128), v.tmaK,
              {e.i32(64 * box), v.kvHead, kvRow, v.batch}, kBar);
  Value vBar = e.stageAt(g.vFullBarrier(), stage, 8);
  e.mbarrierArriveExpectTx(vBar, g.kvTileBytes);
  Value vStage = e.stageAt(g.vOffset, stage, g.kvTileBytes);
  for (int64_t box = 0; box < g.boxes; ++box)
    e.tmaLoad(e.gepBytes(vStage, box * g.bn * 128), v.tmaV,
              {e.i32(64 * box), v.kvHead, kvRow, v.batch}, vBar);
}

Value ForwardKernelBuilder::emitQK(Value consumer, Value stage) {
  auto sType = e.f32Struct(g.bn / 2);
  Value qAddr = e.add(e.sharedAddress(e.sharedAt(g.qOffset)),
                      e.mul(consumer, e.i32(64 * 128)));
  Value qDesc = e.wgmmaDescriptor(qAddr, 16, 1024);
  Value kAddr = e.sharedAddress(e.stageAt(g.kOffset, stage, g.kvTileBytes));
  Value kDesc = e.wgmmaDescriptor(kAddr, 16, 1024);
  bool bf16 = spec.config.dtype == DType::bf16;
  e.wgmmaFence();
  Value s = e.wgmmaOverHeadDim(LLVM::UndefOp::create(e.b, e.loc, sType), qDesc,
                               g.bm, kDesc, g.bn, g.bn, g.headDim, bf16);
  e.wgmmaCommit();
  return s;
}

Value ForwardKernelBuilder::emitMask(Value s, Value consumer, Value kvTile,
                                     Value diagonal) {
  // Row (within the chunk) of half h of this thread, and column of element i.
  Value rowBase = e.add(e.add(e.mul(v.qTile, e.i32(g.bm)),
                              e.mul(consumer, e.i32(64))),
                        e.add(e.mul(v.warpInGroup, e.i32(16)),
                              e.shr(v.lane, e.i32(2))));
  Value colBase = e.add(e.mul(kvTile, e.i32(g.bn)),
                        e.mul(e.band(v.lane, e.i32(3)), e.i32(2)));
  Value negInf = e.f32(-INFINITY);
  SmallVector<Value> values = e.unpack(s);
  Value rows[2] = {rowBase, e.add(rowBase, e.i32(8))};
  for (int64_t i = 0, n = values.size(); i < n; ++i) {
    Value col = e.add(colBase, e.i32(columnBase(i)));
    Value pastChunk = e.uge(col, e.i32(g.chunk));
    Value aboveDiagonal =
        arith::AndIOp::create(e.b, e.loc, diagonal, e.ugt(col, rows[rowHalf(i)]));
    Value masked = arith::OrIOp::create(e.b, e.loc, pastChunk, aboveDiagonal);
    values[i] = e.select(masked, negInf, values[i]);
  }
  return e.pack(cast<LLVM::LLVMStructType>(s.getType()), values);
}

Value ForwardKernelBuilder::emitPV(Value o, ArrayRef<Value> p, Value stage) {
  Value vAddr = e.sharedAddress(e.stageAt(g.vOffset, stage, g.kvTileBytes));
  // V is the MN-major (transposed) B operand: 64-column boxes bn*128 bytes
  // apart, 16 key rows (2048 bytes) per k16 step.
  Value vDesc = e.wgmmaDescriptor(vAddr, g.bn * 128, 1024);
  MmaInputType type = spec.config.dtype == DType::bf16 ? MmaInputType::bf16
                                                       : MmaInputType::f16;
  e.wgmmaFence();
  Value one = e.i32(1);
  for (int64_t kk = 0; kk < g.bn / 16; ++kk)
    o = createWgmmaRegisterA(e.b, e.loc, o, p.slice(4 * kk, 4),
                             e.advanceDescriptor(vDesc, kk * 2048), one,
                             g.headDim, type, /*transposeB=*/true);
  e.wgmmaCommit();
  return o;
}

ForwardKernelBuilder::SoftmaxStep
ForwardKernelBuilder::emitSoftmax(Value s, Value j, Value consumer,
                                  ArrayRef<Value> m, ArrayRef<Value> l) {
  Value negInf = e.f32(-INFINITY);
  Value zero = e.f32(0.0);
  Value scaleLog2 = e.f32(g.scaleLog2);
  // Mask tiles that reach past the chunk or above the diagonal.
  auto [kvChunk, kvTile, diagonal] = tileOf(j);
  (void)kvChunk;
  Value colEnd = e.mul(e.add(kvTile, e.i32(1)), e.i32(g.bn));
  Value firstRow = e.add(e.mul(v.qTile, e.i32(g.bm)),
                         e.mul(consumer, e.i32(64)));
  Value needsMask = arith::OrIOp::create(
      e.b, e.loc, e.ugt(colEnd, e.i32(g.chunk)),
      arith::AndIOp::create(e.b, e.loc, diagonal,
                            e.ugt(colEnd, e.add(firstRow, e.i32(1)))));
  auto maskIf = scf::IfOp::create(e.b, e.loc, TypeRange{s.getType()},
                                  needsMask, /*withElse=*/true);
  {
    OpBuilder::InsertionGuard maskGuard(e.b);
    e.b.setInsertionPointToStart(&maskIf.getThenRegion().front());
    scf::YieldOp::create(e.b, e.loc, emitMask(s, consumer, kvTile, diagonal));
    e.b.setInsertionPointToStart(&maskIf.getElseRegion().front());
    scf::YieldOp::create(e.b, e.loc, s);
  }
  s = maskIf.getResult(0);

  // Per row, the running max m (log2 units), the running sum l (this
  // thread's columns only), P = 2^(s*scale*log2e - m).
  SoftmaxStep step;
  SmallVector<Value> sv = e.unpack(s);
  Value rowMax[2] = {negInf, negInf};
  for (int64_t i = 0, n = sv.size(); i < n; ++i)
    rowMax[rowHalf(i)] = e.fmax(rowMax[rowHalf(i)], sv[i]);
  Value mUse[2];
  for (int h = 0; h < 2; ++h) {
    rowMax[h] = e.fmax(rowMax[h], e.shuffleXor(rowMax[h], 1));
    rowMax[h] = e.fmax(rowMax[h], e.shuffleXor(rowMax[h], 2));
    step.m[h] = e.fmax(m[h], e.fmul(rowMax[h], scaleLog2));
  }
  step.rescale = e.boolean(true);
  if (lazyRescale()) {
    // The warp keeps its rows' running max unless one of them grew by more
    // than kLazyRescaleLog2: P = 2^(s - m) is at most 2^kLazyRescaleLog2,
    // and O and l, scaled by the same stale max, need no rescale on most
    // tiles (the epilogue's LSE = m + log2 l holds for any m). The vote makes
    // the decision warp-uniform; a warp owns its 16 rows' m, l and O.
    Value grew[2];
    for (int h = 0; h < 2; ++h)
      grew[h] = e.fcmp(arith::CmpFPredicate::OGT, step.m[h],
                       e.fadd(m[h], e.f32(kLazyRescaleLog2)));
    Value any = arith::OrIOp::create(e.b, e.loc, grew[0], grew[1]);
    step.rescale = NVVM::VoteSyncOp::create(e.b, e.loc, e.i1Type(), e.i32(-1),
                                            any, NVVM::VoteSyncKind::any);
    for (int h = 0; h < 2; ++h)
      step.m[h] = e.select(step.rescale, step.m[h], m[h]);
  }
  for (int h = 0; h < 2; ++h) {
    // A row that has seen no key keeps m = -inf; subtract 0 instead.
    mUse[h] = e.select(e.fcmp(arith::CmpFPredicate::OEQ, step.m[h], negInf),
                       zero, step.m[h]);
    step.alpha[h] = e.exp2(e.fsub(m[h], mUse[h]));
  }
  Value negM[2] = {arith::NegFOp::create(e.b, e.loc, mUse[0]),
                   arith::NegFOp::create(e.b, e.loc, mUse[1])};
  step.p.resize(sv.size());
  Value rowSum[2] = {zero, zero};
  for (int64_t i = 0, n = sv.size(); i < n; ++i) {
    step.p[i] = e.exp2(e.fma(sv[i], scaleLog2, negM[rowHalf(i)]));
    rowSum[rowHalf(i)] = e.fadd(rowSum[rowHalf(i)], step.p[i]);
  }
  for (int h = 0; h < 2; ++h)
    step.l[h] = e.fma(l[h], step.alpha[h], rowSum[h]);
  return step;
}

SmallVector<Value> ForwardKernelBuilder::packP(ArrayRef<Value> p) {
  return e.packPairs(p, spec.config.dtype == DType::bf16);
}

void ForwardKernelBuilder::emitConsumer() {
  // Software-pipelined by one tile: while P V of tile j runs on the tensor
  // cores, the warpgroup computes tile j+1's softmax (its Q K^T issued just
  // before), so the softmax hides under a GEMM instead of stalling it. That
  // holds at head_dim 128, where a named barrier keeps ptxas from hoisting
  // the P V wait (see the loop); at 64 the wait sits above the softmax.
  Value consumer = e.sub(v.warpgroup, e.i32(1));
  Value total = e.add(v.tiles0, v.tiles1);
  auto oType = e.f32Struct(g.headDim / 2);
  Value negInf = e.f32(-INFINITY);
  Value zero = e.f32(0.0);
  auto stageOf = [&](Value j) {
    return std::make_pair(e.remu(j, e.i32(g.stages)),
                          e.band(e.divu(j, e.i32(g.stages)), e.i32(1)));
  };
  // One arrival per consumer warp releases a stage to the producer.
  auto release = [&](Value stage) {
    auto leader = scf::IfOp::create(e.b, e.loc, e.eq(v.lane, e.i32(0)));
    OpBuilder::InsertionGuard guard(e.b);
    e.b.setInsertionPointToStart(&leader.getThenRegion().front());
    e.mbarrierArrive(e.stageAt(g.emptyBarrier(), stage, 8));
  };
  auto rescale = [&](Value o, Value const *alpha) {
    SmallVector<Value> ov = e.unpack(o);
    for (int64_t i = 0, n = ov.size(); i < n; ++i)
      ov[i] = e.fmul(ov[i], alpha[rowHalf(i)]);
    return e.pack(oType, ov);
  };
  // O's rescale, skipped where the softmax kept the warp's running max.
  auto rescaleIf = [&](Value o, Value const *alpha, Value needed) {
    if (!lazyRescale())
      return rescale(o, alpha);
    auto apply = scf::IfOp::create(e.b, e.loc, TypeRange{oType}, needed,
                                   /*withElse=*/true);
    OpBuilder::InsertionGuard guard(e.b);
    e.b.setInsertionPointToStart(&apply.getThenRegion().front());
    scf::YieldOp::create(e.b, e.loc, rescale(o, alpha));
    e.b.setInsertionPointToStart(&apply.getElseRegion().front());
    scf::YieldOp::create(e.b, e.loc, o);
    return apply.getResult(0);
  };

  Type f32 = e.f32Type();
  auto active = scf::IfOp::create(e.b, e.loc, TypeRange{oType, f32, f32, f32, f32},
                                  e.ugt(total, e.i32(0)), /*withElse=*/true);
  {
    OpBuilder::InsertionGuard inner(e.b);
    e.b.setInsertionPointToStart(&active.getThenRegion().front());
    e.mbarrierWait(e.sharedAt(g.qFullBarrier()), e.i32(0));
    // Tile 0: S, then its softmax.
    e.mbarrierWait(e.sharedAt(g.kFullBarrier()), e.i32(0));
    Value s0 = createWgmmaWaitTied(e.b, e.loc, 0,
                                   {emitQK(consumer, e.i32(0))})[0];
    Value m0[2] = {negInf, negInf}, l0[2] = {zero, zero};
    SoftmaxStep first = emitSoftmax(s0, e.i32(0), consumer, m0, l0);

    // O is carried unscaled with the factor of its pending rescale (and
    // whether it is due), applied after the next S is issued in the source.
    // Unconditional, its 64 multiplies are scheduled above that issue all
    // the same by LLVM and ptxas, and pinning them after it measured within
    // noise (bench/results/2026-12-02-h200-forward-probes/); under the lazy
    // rescale's branch they stay below it (SASS, H200, 2026-12-02).
    Value one = e.f32(1.0);
    SmallVector<Value> init = {e.zeros(oType), first.m[0], first.m[1],
                               first.l[0], first.l[1], one, one,
                               e.boolean(false)};
    llvm::append_range(init, packP(first.p));
    auto loop = scf::ForOp::create(e.b, e.loc, e.i32(0),
                                   e.sub(total, e.i32(1)), e.i32(1), init);
    {
      OpBuilder::InsertionGuard body(e.b);
      e.b.setInsertionPointToStart(loop.getBody());
      Value j = loop.getInductionVar();
      ValueRange args = loop.getRegionIterArgs();
      Value o = args[0];
      Value m[2] = {args[1], args[2]}, l[2] = {args[3], args[4]};
      Value alpha[2] = {args[5], args[6]};
      Value needed = args[7];
      SmallVector<Value> p(args.begin() + 8, args.end());
      Value next = e.add(j, e.i32(1));
      auto [stage, phase] = stageOf(j);
      auto [nextStage, nextPhase] = stageOf(next);
      // S of tile j+1, O's pending rescale, then O += P V of tile j: two
      // groups in flight.
      e.mbarrierWait(e.stageAt(g.kFullBarrier(), nextStage, 8), nextPhase);
      Value s = emitQK(consumer, nextStage);
      o = rescaleIf(o, alpha, needed);
      e.mbarrierWait(e.stageAt(g.vFullBarrier(), stage, 8), phase);
      o = emitPV(o, p, stage);
      s = createWgmmaWaitTied(e.b, e.loc, 1, {s})[0];
      SoftmaxStep step = emitSoftmax(s, next, consumer, m, l);
      // At head_dim 128 the warpgroup meets on its own named barrier before
      // waiting for P V: ptxas moves a wgmma wait up to the top of its block
      // (the wait has no register operands to order it), which serializes
      // the softmax above behind P V, and it does not move one across a
      // barrier. Measured (H200, 2026-12-02): causal 16k 685 -> 705 TFLOP/s,
      // non-causal 672 -> 696. At head_dim 64, whose P V is half as long as
      // the softmax, the barrier costs more than the overlap gains (484 ->
      // 399): there the wait stays where ptxas puts it.
      if (g.headDim > 64)
        e.namedBarrier(e.add(consumer, e.i32(kWarpgroupBarrier)), 128);
      o = createWgmmaWaitTied(e.b, e.loc, 0, {o})[0];
      release(stage);
      // Tile j+1's P is packed only now: its 16-bit registers are those P V
      // of tile j reads while it runs. Packed above the wait, they would
      // make ptxas move the wait above the whole softmax.
      SmallVector<Value> nextP = packP(step.p);
      SmallVector<Value> yield = {o,         step.m[0],     step.m[1],
                                  step.l[0], step.l[1],     step.alpha[0],
                                  step.alpha[1], step.rescale};
      llvm::append_range(yield, nextP);
      scf::YieldOp::create(e.b, e.loc, yield);
    }
    // The last tile's P V.
    Value last = e.sub(total, e.i32(1));
    auto [stage, phase] = stageOf(last);
    SmallVector<Value> p(loop.getResults().begin() + 8, loop.getResults().end());
    Value alpha[2] = {loop.getResult(5), loop.getResult(6)};
    Value o = rescaleIf(loop.getResult(0), alpha, loop.getResult(7));
    e.mbarrierWait(e.stageAt(g.vFullBarrier(), stage, 8), phase);
    o = createWgmmaWaitTied(e.b, e.loc, 0, {emitPV(o, p, stage)})[0];
    release(stage);
    scf::YieldOp::create(e.b, e.loc,
                         ValueRange{o, loop.getResult(1), loop.getResult(2),
                                    loop.getResult(3), loop.getResult(4)});

    e.b.setInsertionPointToStart(&active.getElseRegion().front());
    scf::YieldOp::create(e.b, e.loc,
                         ValueRange{e.zeros(oType), negInf, negInf, zero, zero});
  }
  Value m[2] = {active.getResult(1), active.getResult(2)};
  Value l[2] = {active.getResult(3), active.getResult(4)};
  emitEpilogue(consumer, active.getResult(0), m, l);
}

void ForwardKernelBuilder::emitEpilogue(Value consumer, Value o,
                                        ArrayRef<Value> mIn,
                                        ArrayRef<Value> lIn) {
  Value zero = e.f32(0.0), one = e.f32(1.0), negInf = e.f32(-INFINITY);
  Value log2e = e.f32(M_LOG2E), ln2 = e.f32(M_LN2);
  // Complete the row sums across the four lanes sharing a row.
  Value l[2], lse[2], inverse[2];
  for (int h = 0; h < 2; ++h) {
    l[h] = e.fadd(lIn[h], e.shuffleXor(lIn[h], 1));
    l[h] = e.fadd(l[h], e.shuffleXor(l[h], 2));
    Value seen = e.fcmp(arith::CmpFPredicate::OGT, l[h], zero);
    inverse[h] = e.select(seen, e.fdiv(one, l[h]), zero);
    lse[h] = e.select(seen, e.fmul(e.fadd(mIn[h], e.log2(l[h])), ln2), negInf);
  }
  SmallVector<Value> ov = e.unpack(o);
  for (int64_t i = 0, n = ov.size(); i < n; ++i)
    ov[i] = e.fmul(ov[i], inverse[rowHalf(i)]);

  // Rows of this thread within the chunk and within the rank.
  Value rowInChunk =
      e.add(e.add(e.mul(v.qTile, e.i32(g.bm)), e.mul(consumer, e.i32(64))),
            e.add(e.mul(v.warpInGroup, e.i32(16)), e.shr(v.lane, e.i32(2))));
  Value colBase = e.mul(e.band(v.lane, e.i32(3)), e.i32(2));
  Value isRowLeader = e.eq(e.band(v.lane, e.i32(3)), e.i32(0));
  auto f32PairType = VectorType::get({2}, e.f32Type());
  e.forEachRowInChunk(
      rowInChunk, v.qChunk, g.chunk, [&](int64_t h, Value token) {
        Value batch64 = e.zext64(v.batch), head64 = e.zext64(v.head);
        // Element offset of (batch, token, head, 0) in [B, S_local, H, D].
        Value rowOffset = e.tokenMajorOffset(batch64, g.localLen, token,
                                             g.heads, head64, g.headDim);
        // Offset of (batch, head, token) in [B, H, S_local].
        Value lseOffset =
            e.rowVectorOffset(batch64, g.heads, head64, g.localLen, token);
        Value rowLse = lse[h];
        SmallVector<Value> rowValues;
        for (int64_t i = 0, n = ov.size(); i < n; ++i)
          if (rowHalf(i) == h)
            rowValues.push_back(ov[i]);
        if (spec.readsAccumulators()) {
          // L = log(e^La + e^Lb); O = e^(La-L) Oa + e^(Lb-L) Ob, guarding -inf.
          Value la =
              e.load(e.f32Type(), e.gep(v.lseAcc, e.f32Type(), lseOffset));
          Value mx = e.fmax(la, rowLse);
          Value mxUse =
              e.select(e.fcmp(arith::CmpFPredicate::OEQ, mx, negInf), zero, mx);
          Value wa = e.exp2(e.fmul(e.fsub(la, mxUse), log2e));
          Value wb = e.exp2(e.fmul(e.fsub(rowLse, mxUse), log2e));
          Value sum = e.fadd(wa, wb);
          Value any = e.fcmp(arith::CmpFPredicate::OGT, sum, zero);
          Value ca = e.select(any, e.fdiv(wa, sum), zero);
          Value cb = e.select(any, e.fdiv(wb, sum), zero);
          rowLse =
              e.select(any, e.fadd(mxUse, e.fmul(e.log2(sum), ln2)), negInf);
          for (int64_t k = 0, n = rowValues.size(); k < n; k += 2) {
            int64_t col = 8 * (k / 2);
            Value offset =
                e.add(rowOffset, e.zext64(e.add(colBase, e.i32(col))));
            Value accPair =
                e.load(f32PairType, e.gep(v.oAcc, e.f32Type(), offset));
            for (int64_t t = 0; t < 2; ++t) {
              Value a =
                  LLVM::ExtractElementOp::create(e.b, e.loc, accPair, e.i32(t));
              rowValues[k + t] =
                  e.fadd(e.fmul(ca, a), e.fmul(cb, rowValues[k + t]));
            }
          }
        }
        // Store the row's values: pairs of adjacent columns, 8 columns apart.
        Type outElement = spec.config.dtype == DType::bf16
                              ? Type(e.b.getBF16Type())
                              : Type(e.b.getF16Type());
        for (int64_t k = 0, n = rowValues.size(); k < n; k += 2) {
          int64_t col = 8 * (k / 2);
          Value offset = e.add(rowOffset, e.zext64(e.add(colBase, e.i32(col))));
          Value pair = LLVM::UndefOp::create(e.b, e.loc, f32PairType);
          pair = LLVM::InsertElementOp::create(e.b, e.loc, pair, rowValues[k],
                                               e.i32(0));
          pair = LLVM::InsertElementOp::create(e.b, e.loc, pair,
                                               rowValues[k + 1], e.i32(1));
          if (spec.writesFinal()) {
            Value half = LLVM::FPTruncOp::create(
                e.b, e.loc, VectorType::get({2}, outElement), pair);
            e.store(half, e.gep(v.out, outElement, offset));
          } else {
            e.store(pair, e.gep(v.oAcc, e.f32Type(), offset));
          }
        }
        auto leader = scf::IfOp::create(e.b, e.loc, isRowLeader);
        e.b.setInsertionPointToStart(&leader.getThenRegion().front());
        e.store(rowLse, e.gep(spec.writesFinal() ? v.lseOut : v.lseAcc,
                              e.f32Type(), lseOffset));
      });
}

} // namespace

void mlir::ringattn::hopper::buildForwardKernel(OpBuilder &builder,
                                                Location loc,
                                                const ForwardKernelSpec &spec) {
  ForwardKernelBuilder(builder, loc, spec).build();
}
