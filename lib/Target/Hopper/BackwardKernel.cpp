//===- BackwardKernel.cpp - the Hopper backward kernel builders ------------===//
//
// See BackwardKernel.h. The main kernel is organized as it runs: prologue
// (barriers, work-item and segment decode), producer (K/V once, then Q, dO,
// LSE, Delta per query tile), consumer (per query tile: S^T and dP^T, P^T,
// dV, dS^T, dK, dQ) and epilogue (dK, dV stores). The dQ kernel mirrors the
// forward kernel's shape; the elementwise kernels are plain loops.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Target/Hopper/BackwardKernel.h"
#include "ringattn/Schedule/Layout.h"
#include "ringattn/Target/Hopper/PtxBuilder.h"

#include "KernelEmitter.h"
#include "TileShape.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::ringattn;
using namespace mlir::ringattn::hopper;

namespace {

// Register budgets per role (setmaxnreg). A 384-thread CTA starts with 168
// registers a thread (64,512 in all, the most a multiple of 8 allows), and
// setmaxnreg.inc waits until the registers it asks for are free: a budget
// past 128 p + 256 c = 64,512 hangs the consumers at entry (measured). The
// kernels with the dQ writer warp give the producer warpgroup 40 (the writer
// spilled at 24), the others 24 for 240 consumer registers.
constexpr int64_t kProducerRegisters = 24;
constexpr int64_t kConsumerRegisters = 240;
constexpr int64_t kWriterProducerRegisters = 40;
constexpr int64_t kWriterConsumerRegisters = 232;
constexpr int64_t kRegisterFile = 168 * 384;
static_assert(128 * kProducerRegisters + 256 * kConsumerRegisters <= kRegisterFile);
static_assert(128 * kWriterProducerRegisters + 256 * kWriterConsumerRegisters <=
              kRegisterFile);
/// Named barrier of the two consumer warpgroups (0 is __syncthreads).
constexpr int64_t kConsumerBarrier = 1;
/// The dQ staging handshake of consumer c with the dQ writer warp: c's box
/// written (kDqFull + c) and c's box read by the TMA (kDqEmpty + c), each
/// 128 consumer threads and the writer's 32.
constexpr int64_t kDqFull = 4, kDqEmpty = 6, kDqHandshake = 128 + 32;

int64_t alignTo(int64_t value, int64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

/// LSE and Delta ([batch, heads, q_len] fp32) are read through
/// one-dimensional tensor maps over the whole tensor (the runtime's
/// encodeRowVectorMap). A TMA box must start on a 16-byte boundary of its
/// innermost dimension (measured on an H100: any other start is an illegal
/// instruction), and neither a query tile's first row nor, for q_len not a
/// multiple of 4, a head's pitch need be one. So a tile's box starts at its
/// first element rounded down to 4 floats and is kRowVectorSlack floats
/// longer than the tile; the tile's row r sits at `shift + r` in shared
/// memory. Must match kRowVectorSlack in runtime/lib/TensorMap.h.
constexpr int64_t kRowVectorSlack = 4;

/// Bytes one row-vector box brings (the mbarrier's transaction count), and
/// its footprint in shared memory (TMA destinations are 128-byte aligned).
int64_t rowVectorBytes(int64_t rows) { return (rows + kRowVectorSlack) * 4; }
int64_t rowVectorStride(int64_t rows) { return alignTo(rowVectorBytes(rows), 128); }

/// Where a query tile's row vector lies: the box's first element (16-byte
/// aligned) and the tile's first row within the box.
struct RowVectorSpan {
  Value boxStart, shift;
};
RowVectorSpan rowVectorSpan(KernelEmitter &e, int64_t heads, int64_t qLen,
                            Value batch, Value head, Value qRow) {
  // The runtime refuses batch * heads * q_len beyond 2^31 - 1 - slack.
  Value first = e.add(
      e.mul(e.add(e.mul(batch, e.i32(heads)), head), e.i32(qLen)), qRow);
  return {e.band(first, e.i32(-kRowVectorSlack)),
          e.band(first, e.i32(kRowVectorSlack - 1))};
}

std::vector<LocalPair> pairsOf(ArrayAttr pairs) {
  std::vector<LocalPair> result;
  for (auto pair : pairs.getAsRange<rakernel::PairAttr>())
    result.push_back({pair.getQ(), pair.getKv(), pair.getMask()});
  return result;
}

/// Fragment geometry of an m64nN f32 accumulator (see ForwardKernel.cpp):
/// element i of a thread sits in row 16*warp + lane/4 + 8*rowHalf(i), column
/// 8*(i>>2) + 2*(lane&3) + (i&1).
int64_t rowHalf(int64_t i) { return (i >> 1) & 1; }
int64_t columnBase(int64_t i) { return 8 * (i >> 2) + (i & 1); }

/// Fields of the CTA's segment table in shared memory: query chunk,
/// diagonal, first query tile and count, for segments 0 and 1.
enum SegmentField : int64_t {
  kQChunk0,
  kQChunk1,
  kDiagonal0,
  kDiagonal1,
  kStart0,
  kStart1,
  kCount0,
  kCount1,
  // Shared-memory addresses of each consumer warpgroup's operands: its 64 K
  // rows, its 64 V rows, its dQ columns of K (consumer 0, then 1).
  kOperandAddresses,
  kSegmentFields = kOperandAddresses + 6
};

/// A query chunk a K/V chunk is paired with at a step.
struct QuerySegment {
  int64_t qChunk;
  bool diagonal;
};

std::vector<QuerySegment> querySegmentsOf(const std::vector<LocalPair> &pairs,
                                          int64_t kvChunk) {
  std::vector<QuerySegment> segments;
  for (const LocalPair &pair : pairs)
    if (pair.kv == kvChunk)
      segments.push_back({pair.q, pair.mask == MaskKind::diagonal});
  return segments;
}
/// Sizes and the shared-memory map of the main backward kernel.
struct BackwardGeometry : TileShape {
  explicit BackwardGeometry(const BackwardKernelSpec &spec)
      : TileShape(spec.config, spec.blockM, spec.blockN, spec.stages) {
    vectorBytes = rowVectorBytes(bm);
    vectorStride = rowVectorStride(bm);
    stageBytes = alignTo(2 * qTileBytes + 2 * vectorStride, 1024);
    kOffset = 0;
    vOffset = kvTileBytes;
    stageOffset = 2 * kvTileBytes;
    // dS^T, double-buffered, for dQ (the deterministic kernel has no dQ).
    dsOffset = stageOffset + stages * stageBytes;
    dsBytes = spec.deterministic ? 0 : bn * bm * 2;
    // Without the dQ kernel, each consumer's dQ columns of the query tile
    // are staged in fp32 for the bulk reduction: boxes of 32 columns (128
    // bytes, 128B-swizzled) by bm rows.
    dqBoxes = spec.deterministic ? 0 : headDim / 32;
    dqStageOffset = dsOffset + 2 * dsBytes;
    barrierOffset = dqStageOffset + dqBoxes * dqBoxBytes();
    segmentTableOffset = barrierOffset + 8 * (1 + 2 * stages);
    sharedBytes = segmentTableOffset + 4 * kSegmentFields;
    threads = 128 * 3;
  }

  /// First query tile and count a segment visits for K/V tile `kvTile`.
  std::pair<int64_t, int64_t> qTileRange(const QuerySegment &s,
                                         int64_t kvTile) const {
    int64_t start = s.diagonal ? std::min(qTiles, kvTile * bn / bm) : 0;
    return {start, qTiles - start};
  }

  int64_t qOffset(int64_t stage) const { return stageOffset + stage * stageBytes; }
  int64_t dqBoxBytes() const { return bm * 128; }
  int64_t kvFullBarrier() const { return barrierOffset; }
  int64_t qFullBarrier() const { return barrierOffset + 8; }
  int64_t emptyBarrier() const { return barrierOffset + 8 * (1 + stages); }

  int64_t vectorBytes, vectorStride, stageBytes;
  int64_t kOffset, vOffset, stageOffset, dsOffset, dsBytes, barrierOffset;
  int64_t dqBoxes, dqStageOffset;
  int64_t segmentTableOffset, sharedBytes, threads;
};

} // namespace

//===----------------------------------------------------------------------===//
// Specs, work items, launches
//===----------------------------------------------------------------------===//

BackwardKernelSpec BackwardKernelSpec::fromOp(rakernel::BackwardOp op) {
  BackwardKernelSpec spec;
  spec.name = op.getSymName().str();
  spec.config = op.getConfig().getConfig();
  spec.pairs = pairsOf(op.getPairs());
  llvm::append_range(spec.zeroChunks, op.getZero());
  spec.deterministic = op.getDeterministic();
  // The main kernel owns K/V rows (m) and streams query tiles (n).
  spec.blockN = op.getTile().getM();
  spec.blockM = op.getTile().getN();
  spec.stages = op.getTile().getStages();
  return spec;
}

DqKernelSpec DqKernelSpec::fromOp(rakernel::BackwardDqOp op) {
  DqKernelSpec spec;
  spec.name = op.getSymName().str();
  spec.config = op.getConfig().getConfig();
  spec.pairs = pairsOf(op.getPairs());
  spec.blockM = op.getTile().getM();
  spec.blockN = op.getTile().getN();
  spec.stages = op.getTile().getStages();
  return spec;
}

std::vector<KvWorkItem>
mlir::ringattn::hopper::backwardWorkItems(const BackwardKernelSpec &spec) {
  BackwardGeometry g(spec);
  std::vector<KvWorkItem> items;
  int64_t chunks = chunksOfRank(spec.config, 0).size();
  for (int64_t c = 0; c < chunks; ++c) {
    std::vector<QuerySegment> segments = querySegmentsOf(spec.pairs, c);
    if (segments.empty() && !llvm::is_contained(spec.zeroChunks, c))
      continue;
    for (int64_t t = 0; t < g.kvTiles; ++t) {
      int64_t visits = 0;
      for (const QuerySegment &s : segments)
        visits += g.qTileRange(s, t).second;
      items.push_back({c, t, visits * g.group});
    }
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const KvWorkItem &a, const KvWorkItem &b) {
                     return a.qTiles > b.qTiles;
                   });
  return items;
}

ForwardLaunch mlir::ringattn::hopper::backwardLaunch(const BackwardKernelSpec &spec) {
  BackwardGeometry g(spec);
  // The reducing kernel runs a CTA per work item and query head: the grid's
  // y carries group CTAs per K/V head and work item.
  int64_t perItem = spec.deterministic ? 1 : g.group;
  return {static_cast<int64_t>(backwardWorkItems(spec).size()) * perItem,
          g.threads, g.sharedBytes, spec.deterministic ? g.heads : 1};
}

//===----------------------------------------------------------------------===//
// The main backward kernel
//===----------------------------------------------------------------------===//

namespace {

class BackwardKernelBuilder {
public:
  BackwardKernelBuilder(OpBuilder &builder, Location loc,
                        const BackwardKernelSpec &spec)
      : e(builder, loc), spec(spec), g(spec), bf16(spec.config.dtype == DType::bf16) {}

  void build();

private:

  void decode(Block &entry, LLVM::GlobalOp workItems, int64_t items);
  /// Per-iteration facts: query chunk, query tile, head, diagonal.
  struct Visit {
    Value qChunk, qTile, head, diagonal;
  };
  Visit visitOf(Value it);
  void emitProducer();
  /// The dQ writer (the producer warpgroup's second warp): reduces each
  /// consumer's staged dQ box into the accumulator.
  void emitDqWriter();
  void emitConsumer();
  /// The consumer's loop over its query tiles, one at a time: the tile's
  /// gradients between its scores and its dQ, dV, dK products. Returns the
  /// final dK, dV.
  std::pair<Value, Value> emitLoop(Value zero);
  /// The loop software-pipelined by one tile: tile it+1's scores issued
  /// ahead of tile it's dQ, dV, dK and its gradients computed while they
  /// run (needs a third stage: tile it+1's operands arrive while tile it's
  /// are in use).
  std::pair<Value, Value> emitPipelinedLoop(Value zero);
  /// Live registers of the pipelined loop: dK and dV (head_dim / 2 each), S^T
  /// and dP^T (32 each), dQ (head_dim / 4), two P^T and one dS^T (16 each):
  /// 192 at head_dim 64 fit the consumers' 232; 272 at 128 do not.
  bool pipelined() const { return g.headDim <= 64 && g.stages >= 3; }
  /// This warpgroup's shared-memory operand `which`: its K rows (0), V rows
  /// (1), dQ columns of K (2).
  Value operandAddress(int64_t which);
  Value stageBase(Value it);
  Value dsBuffer(Value it);
  /// Waits for query tile `it`'s stage and issues S^T = K Q^T and
  /// dP^T = V dO^T (one wgmma group).
  std::pair<Value, Value> issueScores(Value it);
  /// P^T (f32, in pairs of adjacent columns) and dS^T of a query tile:
  /// packed into 16-bit pairs as they are made, or (`packDs` false, for
  /// registers that wgmmas in flight still read) f32 like P^T.
  struct Gradients {
    SmallVector<Value> p, ds;
  };
  Gradients emitGradients(Value s, Value dp, const Visit &visit, Value it,
                          bool packDs);
  /// Stores dS^T into iteration `it`'s buffer, visible to the tensor cores.
  void storeDs(ArrayRef<Value> ds, Value it);
  /// The consumers' meeting once dS^T is stored.
  void meet();
  /// Issues this warpgroup's dQ columns = dS K (one group).
  Value issueDq(Value it);
  /// Issues dV += P^T dO and dK += dS^T Q (one group), P^T packed in
  /// registers, dS^T too unless `ds` is empty (then from shared memory).
  std::pair<Value, Value> issueDvDk(Value dk, Value dv, ArrayRef<Value> p,
                                    ArrayRef<Value> ds, Value it);
  void releaseStage(Value it);
  /// Whether dQ tiles are staged for the writer warp's reductions: not
  /// where every query tile runs past its chunk (chunk < bm).
  bool stagesDq() const { return !spec.deterministic && g.chunk >= g.bm; }
  /// Whether a query tile runs past its chunk (its dQ rows take atomics).
  Value straddles(Value qFirst) {
    return e.ugt(e.add(qFirst, e.i32(g.bm)), e.i32(g.chunk));
  }
  /// Adds this warpgroup's dQ columns of a query tile to the accumulator.
  void emitDqReduce(Value dq, const Visit &visit);
  /// Stages the warpgroup's dQ columns for the writer warp.
  void emitDqStage(ArrayRef<Value> dqv);
  void emitDqAtomics(ArrayRef<Value> dqv, const Visit &visit);
  void emitEpilogue(Value dk, Value dv);

  KernelEmitter e;
  const BackwardKernelSpec &spec;
  BackwardGeometry g;
  bool bf16;

  Value tmaQ, tmaK, tmaV, tmaDO, tmaLse, tmaDelta, tmaDq, dqAcc, dkOut, dvOut;
  Value tid, warpgroup, warpInGroup, lane;
  Value kvChunk, kvTile, kvHead, batch;
  /// The reducing kernel's query head (one per CTA).
  Value queryHead;
  /// A consumer thread's warpgroup (0 or 1), K/V row of its first fragment
  /// row within the tile, and first fragment column.
  Value consumer, rowInTile, colLane;
  // Segments of this CTA's K/V chunk: query chunk, diagonal, first tile and
  // count for this K/V tile; and the visits per query head.
  // The segment fields are decoded once into shared memory and reloaded per
  // visit, so that they hold no registers across the loops.
  Value perHead, total;
  Value segmentField(SegmentField field) {
    return LLVM::LoadOp::create(
        e.b, e.loc, e.i32Type(),
        e.gep(e.sharedAt(g.segmentTableOffset), e.i32Type(), e.i32(field)),
        /*alignment=*/4, /*isVolatile=*/true);
  }
};

void BackwardKernelBuilder::build() {
  SmallVector<int32_t> packed;
  for (const KvWorkItem &item : backwardWorkItems(spec))
    packed.push_back(static_cast<int32_t>((item.kvChunk << 16) | item.kvTile));
  LLVM::GlobalOp workItems = e.declareI32Table(spec.name + "_work_items", packed);
  LLVM::LLVMFuncOp func =
      e.declareKernel(spec.name, /*tensorMaps=*/7, /*pointers=*/3, g.threads);
  Block *entry = func.addEntryBlock(e.b);
  OpBuilder::InsertionGuard guard(e.b);
  e.b.setInsertionPointToStart(entry);
  decode(*entry, workItems, packed.size());

  bool writer = stagesDq();
  e.splitRoles(
      warpgroup, writer ? kWriterProducerRegisters : kProducerRegisters,
      writer ? kWriterConsumerRegisters : kConsumerRegisters,
      [&] {
        emitProducer();
        if (writer)
          emitDqWriter();
      },
      [&] { emitConsumer(); });
  LLVM::ReturnOp::create(e.b, e.loc, ValueRange{});
}

void BackwardKernelBuilder::decode(Block &entry, LLVM::GlobalOp workItems,
                                   int64_t items) {
  tmaQ = entry.getArgument(0);
  tmaK = entry.getArgument(1);
  tmaV = entry.getArgument(2);
  tmaDO = entry.getArgument(3);
  tmaLse = entry.getArgument(4);
  tmaDelta = entry.getArgument(5);
  tmaDq = entry.getArgument(6); // unused by the deterministic kernel
  dqAcc = entry.getArgument(7);
  dkOut = entry.getArgument(8);
  dvOut = entry.getArgument(9);
  tid = e.threadIdX();
  warpgroup = e.shr(tid, e.i32(7));
  warpInGroup = e.band(e.shr(tid, e.i32(5)), e.i32(3));
  lane = e.band(tid, e.i32(31));

  Value table = LLVM::AddressOfOp::create(e.b, e.loc, workItems);
  Value itemIndex;
  if (spec.deterministic) {
    // K/V heads run along x, the work items (heaviest first) along y: the
    // block scheduler issues every head's heaviest item before any lighter
    // one. A CTA visits its K/V head's query heads one after the other.
    itemIndex = e.blockIdY();
    kvHead = e.blockIdX();
  } else {
    // A CTA per work item and query head, issued query head by query head
    // (each head's items heaviest first): the CTAs running at a time then
    // reduce into one or two heads' dQ, which the L2 holds, where a CTA per
    // K/V head walking its group's query heads spreads them over the
    // group's heads as the CTAs drift apart (measured: the dQ reductions
    // missed the L2). dK and dV are reduced over the group in the epilogue.
    Value linear = e.add(e.mul(e.blockIdY(), e.i32(g.kvHeads)), e.blockIdX());
    itemIndex = e.remu(linear, e.i32(items));
    queryHead = e.divu(linear, e.i32(items));
    kvHead = e.divu(queryHead, e.i32(g.group));
  }
  Value item = e.load(e.i32Type(), e.gep(table, e.i32Type(), itemIndex));
  kvChunk = e.shr(item, e.i32(16));
  kvTile = e.band(item, e.i32(0xFFFF));
  batch = e.blockIdZ();

  // The segments of K/V chunk 0 and 1 are compile-time facts; a diagonal
  // segment starts at query tile kvTile*bn/bm.
  Value isBack = e.eq(kvChunk, e.i32(1));
  Value diagonalStart = e.minu(e.divu(e.mul(kvTile, e.i32(g.bn)), e.i32(g.bm)),
                               e.i32(g.qTiles));
  auto field = [&](int64_t index, auto get) {
    Value perChunk[2];
    for (int64_t c = 0; c < 2; ++c) {
      std::vector<QuerySegment> segments = querySegmentsOf(spec.pairs, c);
      perChunk[c] = get(index < (int64_t)segments.size() ? &segments[index]
                                                         : nullptr);
    }
    return e.select(isBack, perChunk[1], perChunk[0]);
  };
  auto qChunkOf = [&](const QuerySegment *s) { return e.i32(s ? s->qChunk : 0); };
  auto diagonalOf = [&](const QuerySegment *s) {
    return e.boolean(s && s->diagonal);
  };
  auto startOf = [&](const QuerySegment *s) {
    return s && s->diagonal ? diagonalStart : e.i32(0);
  };
  auto countOf = [&](const QuerySegment *s) {
    if (!s)
      return e.i32(0);
    return s->diagonal ? e.sub(e.i32(g.qTiles), diagonalStart) : e.i32(g.qTiles);
  };
  Value count0 = field(0, countOf), count1 = field(1, countOf);
  perHead = e.add(count0, count1);
  total = spec.deterministic ? e.mul(perHead, e.i32(g.group)) : perHead;

  auto init = scf::IfOp::create(e.b, e.loc, e.eq(tid, e.i32(0)));
  {
    OpBuilder::InsertionGuard inner(e.b);
    e.b.setInsertionPointToStart(&init.getThenRegion().front());
    Value kBase = e.sharedAddress(e.sharedAt(g.kOffset));
    Value vBase = e.sharedAddress(e.sharedAt(g.vOffset));
    int64_t dqN = g.headDim / 2;
    auto dqColumns = [&](int64_t consumer) {
      int64_t first = consumer * dqN;
      return e.add(kBase, e.i32(first / 64 * g.bn * 128 + first % 64 * 2));
    };
    Value fields[kSegmentFields] = {
        field(0, qChunkOf), field(1, qChunkOf),
        arith::ExtUIOp::create(e.b, e.loc, e.i32Type(), field(0, diagonalOf)),
        arith::ExtUIOp::create(e.b, e.loc, e.i32Type(), field(1, diagonalOf)),
        field(0, startOf),  field(1, startOf),
        count0,             count1,
        kBase,              vBase,
        dqColumns(0),       e.add(kBase, e.i32(64 * 128)),
        e.add(vBase, e.i32(64 * 128)), dqColumns(1)};
    for (int64_t f = 0; f < kSegmentFields; ++f)
      e.store(fields[f],
              e.gep(e.sharedAt(g.segmentTableOffset), e.i32Type(), e.i32(f)));
    e.mbarrierInit(e.sharedAt(g.kvFullBarrier()), 1);
    for (int64_t s = 0; s < g.stages; ++s) {
      e.mbarrierInit(e.sharedAt(g.qFullBarrier() + 8 * s), 1);
      e.mbarrierInit(e.sharedAt(g.emptyBarrier() + 8 * s), 8);
    }
    NVVM::FenceMbarrierInitOp::create(e.b, e.loc);
  }
  e.barrierAll();
}

BackwardKernelBuilder::Visit BackwardKernelBuilder::visitOf(Value it) {
  // Each segment's tiles first to last; the deterministic kernel's query
  // heads outermost. (Walking every CTA's tiles in one global order, so
  // that the CTAs running at a time share Q, dO and dQ rows in the L2,
  // measured slower on an H100: the dQ reductions then contend for the
  // same lines.)
  Value r = spec.deterministic ? e.remu(it, perHead) : it;
  Value count0 = segmentField(kCount0);
  Value inFirst = e.ult(r, count0);
  Visit visit;
  visit.qChunk = e.select(inFirst, segmentField(kQChunk0),
                          segmentField(kQChunk1));
  visit.qTile = e.select(inFirst, e.add(segmentField(kStart0), r),
                         e.add(segmentField(kStart1), e.sub(r, count0)));
  visit.diagonal = e.ne(e.select(inFirst, segmentField(kDiagonal0),
                                 segmentField(kDiagonal1)),
                        e.i32(0));
  visit.head = spec.deterministic
                   ? e.add(e.mul(kvHead, e.i32(g.group)), e.divu(it, perHead))
                   : queryHead;
  return visit;
}

void BackwardKernelBuilder::emitProducer() {
  Value leader = arith::AndIOp::create(e.b, e.loc, e.eq(warpInGroup, e.i32(0)),
                                       e.electOne());
  Value active = arith::AndIOp::create(e.b, e.loc, leader,
                                       e.ugt(total, e.i32(0)));
  auto guard = scf::IfOp::create(e.b, e.loc, active);
  OpBuilder::InsertionGuard inner(e.b);
  e.b.setInsertionPointToStart(&guard.getThenRegion().front());

  // K and V of this tile, once.
  Value kvRow = e.add(e.mul(kvChunk, e.i32(g.chunk)), e.mul(kvTile, e.i32(g.bn)));
  Value kvBar = e.sharedAt(g.kvFullBarrier());
  e.mbarrierArriveExpectTx(kvBar, 2 * g.kvTileBytes);
  for (int64_t box = 0; box < g.boxes; ++box) {
    SmallVector<Value> coords = {e.i32(64 * box), kvHead, kvRow, batch};
    e.tmaLoad(e.sharedAt(g.kOffset + box * g.bn * 128), tmaK, coords, kvBar);
    e.tmaLoad(e.sharedAt(g.vOffset + box * g.bn * 128), tmaV, coords, kvBar);
  }

  // Q, dO, LSE and Delta of every query tile visited.
  auto loop = scf::ForOp::create(e.b, e.loc, e.i32(0), total, e.i32(1));
  e.b.setInsertionPointToStart(loop.getBody());
  Value it = loop.getInductionVar();
  Value stage = e.remu(it, e.i32(g.stages));
  Value phase = e.band(e.divu(it, e.i32(g.stages)), e.i32(1));
  e.mbarrierWait(e.stageAt(g.emptyBarrier(), stage, 8),
                 e.bxor(phase, e.i32(1)));
  Visit visit = visitOf(it);
  Value qRow = e.add(e.mul(visit.qChunk, e.i32(g.chunk)),
                     e.mul(visit.qTile, e.i32(g.bm)));
  Value bar = e.stageAt(g.qFullBarrier(), stage, 8);
  e.mbarrierArriveExpectTx(bar, 2 * g.qTileBytes + 2 * g.vectorBytes);
  Value base = e.stageAt(g.stageOffset, stage, g.stageBytes);
  for (int64_t box = 0; box < g.boxes; ++box) {
    SmallVector<Value> coords = {e.i32(64 * box), visit.head, qRow, batch};
    e.tmaLoad(e.gepBytes(base, box * g.bm * 128), tmaQ, coords, bar);
    e.tmaLoad(e.gepBytes(base, g.qTileBytes + box * g.bm * 128), tmaDO, coords,
              bar);
  }
  SmallVector<Value> rowCoords = {
      rowVectorSpan(e, g.heads, g.localLen, batch, visit.head, qRow).boxStart};
  e.tmaLoad(e.gepBytes(base, 2 * g.qTileBytes), tmaLse, rowCoords, bar);
  e.tmaLoad(e.gepBytes(base, 2 * g.qTileBytes + g.vectorStride), tmaDelta,
            rowCoords, bar);
}

void BackwardKernelBuilder::emitDqWriter() {
  auto writer = scf::IfOp::create(e.b, e.loc, e.eq(warpInGroup, e.i32(1)));
  OpBuilder::InsertionGuard inner(e.b);
  e.b.setInsertionPointToStart(&writer.getThenRegion().front());
  Value issuer = e.eq(lane, e.i32(0));
  // Each consumer's box starts out empty.
  for (int64_t c = 0; c < 2; ++c)
    e.namedBarrierArrive(e.i32(kDqEmpty + c), kDqHandshake);
  auto loop = scf::ForOp::create(e.b, e.loc, e.i32(0), total, e.i32(1));
  {
    OpBuilder::InsertionGuard body(e.b);
    e.b.setInsertionPointToStart(loop.getBody());
    Visit visit = visitOf(loop.getInductionVar());
    Value qFirst = e.mul(visit.qTile, e.i32(g.bm));
    // The consumers staged this tile unless it runs past its chunk.
    Value staged = g.chunk % g.bm != 0
                       ? e.bxor(straddles(qFirst), e.boolean(true))
                       : e.boolean(true);
    auto reduce = scf::IfOp::create(e.b, e.loc, staged);
    OpBuilder::InsertionGuard stagedGuard(e.b);
    e.b.setInsertionPointToStart(&reduce.getThenRegion().front());
    Value qRow = e.add(e.mul(visit.qChunk, e.i32(g.chunk)), qFirst);
    for (int64_t c = 0; c < 2; ++c) {
      e.namedBarrier(e.i32(kDqFull + c), kDqHandshake);
      auto issue = scf::IfOp::create(e.b, e.loc, issuer);
      {
        OpBuilder::InsertionGuard issueGuard(e.b);
        e.b.setInsertionPointToStart(&issue.getThenRegion().front());
        for (int64_t b = 0; b < g.dqBoxes / 2; ++b) {
          int64_t box = c * g.dqBoxes / 2 + b;
          SmallVector<Value> coords = {e.i32(32 * box), visit.head, qRow, batch};
          e.tmaReduceAdd(e.sharedAt(g.dqStageOffset + box * g.dqBoxBytes()),
                         tmaDq, coords);
        }
        e.bulkCommitGroup();
        e.bulkWaitGroup(0, /*readOnly=*/true);
      }
      NVVM::SyncWarpOp::create(e.b, e.loc, e.i32(-1));
      e.namedBarrierArrive(e.i32(kDqEmpty + c), kDqHandshake);
    }
  }
  // The last reductions must finish before the CTA exits.
  auto drain = scf::IfOp::create(e.b, e.loc, issuer);
  e.b.setInsertionPointToStart(&drain.getThenRegion().front());
  e.bulkWaitGroup(0, /*readOnly=*/false);
}

void BackwardKernelBuilder::emitConsumer() {
  consumer = e.sub(warpgroup, e.i32(1));
  rowInTile = e.add(e.mul(consumer, e.i32(64)),
                    e.add(e.mul(warpInGroup, e.i32(16)), e.shr(lane, e.i32(2))));
  colLane = e.mul(e.band(lane, e.i32(3)), e.i32(2));
  auto accType = e.f32Struct(g.headDim / 2); // dK, dV: m64 x head_dim
  auto active = scf::IfOp::create(e.b, e.loc, TypeRange{accType, accType},
                                  e.ugt(total, e.i32(0)), /*withElse=*/true);
  {
    OpBuilder::InsertionGuard inner(e.b);
    e.b.setInsertionPointToStart(&active.getThenRegion().front());
    e.mbarrierWait(e.sharedAt(g.kvFullBarrier()), e.i32(0));
    auto [dk, dv] = pipelined() ? emitPipelinedLoop(e.zeros(accType))
                                : emitLoop(e.zeros(accType));
    scf::YieldOp::create(e.b, e.loc, ValueRange{dk, dv});
    e.b.setInsertionPointToStart(&active.getElseRegion().front());
    scf::YieldOp::create(e.b, e.loc,
                         ValueRange{e.zeros(accType), e.zeros(accType)});
  }
  emitEpilogue(active.getResult(0), active.getResult(1));
}

std::pair<Value, Value> BackwardKernelBuilder::emitLoop(Value zero) {
  auto loop = scf::ForOp::create(e.b, e.loc, e.i32(0), total, e.i32(1),
                                 ValueRange{zero, zero});
  OpBuilder::InsertionGuard inner(e.b);
  e.b.setInsertionPointToStart(loop.getBody());
  Value it = loop.getInductionVar();
  Value dk = loop.getRegionIterArgs()[0];
  Value dv = loop.getRegionIterArgs()[1];
  Visit visit = visitOf(it);
  auto [s, dp] = issueScores(it);
  SmallVector<Value> scores = createWgmmaWaitTied(e.b, e.loc, 0, {s, dp});
  Gradients grads =
      emitGradients(scores[0], scores[1], visit, it, /*packDs=*/true);
  // dQ first, so that its reduction overlaps dV and dK.
  Value dq;
  if (!spec.deterministic) {
    storeDs(grads.ds, it);
    meet();
    dq = issueDq(it);
  }
  // dS^T from shared memory where it is there anyway for dQ. From registers
  // it measured no faster causal and 3.6% slower non-causal at head_dim 128
  // (H200, 2026-12-02), where its 16 registers beside dQ's 32 made ptxas
  // spill.
  SmallVector<Value> ds;
  if (spec.deterministic)
    ds = grads.ds;
  std::tie(dk, dv) =
      issueDvDk(dk, dv, e.packPairs(grads.p, bf16), ds, it);
  if (dq)
    emitDqReduce(createWgmmaWaitTied(e.b, e.loc, 1, {dq})[0], visit);
  NVVM::WgmmaWaitGroupSyncOp::create(e.b, e.loc, e.b.getI64IntegerAttr(0));
  releaseStage(it);
  scf::YieldOp::create(e.b, e.loc, ValueRange{dk, dv});
  return {loop.getResult(0), loop.getResult(1)};
}

std::pair<Value, Value> BackwardKernelBuilder::emitPipelinedLoop(Value zero) {
  // Tile 0's gradients, then per iteration: S^T and dP^T of tile it+1
  // issued, the consumers' meeting (both have stored tile it's dS^T; the
  // tensor cores have the scores meanwhile), tile it's dQ, dV and dK
  // issued, and tile it+1's gradients computed while those run.
  Value first = e.i32(0);
  auto [s0, dp0] = issueScores(first);
  SmallVector<Value> scores0 = createWgmmaWaitTied(e.b, e.loc, 0, {s0, dp0});
  Gradients grads0 = emitGradients(scores0[0], scores0[1], visitOf(first),
                                   first, /*packDs=*/false);
  SmallVector<Value> ds0 = e.packPairs(grads0.ds, bf16);
  if (!spec.deterministic)
    storeDs(ds0, first);

  // Carried: dK, dV, then tile it's P^T and dS^T (packed, 16-bit pairs).
  int64_t packed = ds0.size();
  SmallVector<Value> init = {zero, zero};
  llvm::append_range(init, e.packPairs(grads0.p, bf16));
  llvm::append_range(init, ds0);
  auto loop = scf::ForOp::create(e.b, e.loc, e.i32(0), e.sub(total, e.i32(1)),
                                 e.i32(1), init);
  {
    OpBuilder::InsertionGuard inner(e.b);
    e.b.setInsertionPointToStart(loop.getBody());
    Value it = loop.getInductionVar();
    Value next = e.add(it, e.i32(1));
    ValueRange args = loop.getRegionIterArgs();
    Value dk = args[0], dv = args[1];
    SmallVector<Value> p(args.begin() + 2, args.begin() + 2 + packed);
    SmallVector<Value> ds(args.begin() + 2 + packed, args.end());
    auto [s, dp] = issueScores(next);
    Value dq;
    if (!spec.deterministic) {
      meet();
      dq = issueDq(it);
    }
    std::tie(dk, dv) = issueDvDk(dk, dv, p, ds, it);
    // Groups in flight, oldest first: scores(it+1), [dQ(it)], dV+dK(it).
    SmallVector<Value> scores =
        createWgmmaWaitTied(e.b, e.loc, dq ? 2 : 1, {s, dp});
    Gradients grads = emitGradients(scores[0], scores[1], visitOf(next), next,
                                    /*packDs=*/false);
    if (dq)
      emitDqReduce(createWgmmaWaitTied(e.b, e.loc, 1, {dq})[0], visitOf(it));
    NVVM::WgmmaWaitGroupSyncOp::create(e.b, e.loc, e.b.getI64IntegerAttr(0));
    // Tile it+1's P^T and dS^T are packed only now: their 16-bit registers
    // are those dV and dK of tile it read while they run (see the forward's
    // packP).
    SmallVector<Value> nextP = e.packPairs(grads.p, bf16);
    SmallVector<Value> nextDs = e.packPairs(grads.ds, bf16);
    // dS^T buffer (it+1)&1 was last read by tile it-1's dQ, which both
    // warpgroups waited for before this iteration's meeting.
    if (dq)
      storeDs(nextDs, next);
    releaseStage(it);
    SmallVector<Value> yield = {dk, dv};
    llvm::append_range(yield, nextP);
    llvm::append_range(yield, nextDs);
    scf::YieldOp::create(e.b, e.loc, yield);
  }

  // The last tile's dV, dK and dQ.
  Value last = e.sub(total, e.i32(1));
  ValueRange results = loop.getResults();
  SmallVector<Value> p(results.begin() + 2, results.begin() + 2 + packed);
  SmallVector<Value> ds(results.begin() + 2 + packed, results.end());
  auto [dk, dv] = issueDvDk(results[0], results[1], p, ds, last);
  if (!spec.deterministic) {
    meet();
    Value dq = issueDq(last);
    emitDqReduce(createWgmmaWaitTied(e.b, e.loc, 0, {dq})[0], visitOf(last));
  }
  NVVM::WgmmaWaitGroupSyncOp::create(e.b, e.loc, e.b.getI64IntegerAttr(0));
  releaseStage(last);
  return {dk, dv};
}

Value BackwardKernelBuilder::operandAddress(int64_t which) {
  // Reloaded where used (see segmentField): no registers held across loops.
  Value index =
      e.add(e.mul(consumer, e.i32(3)), e.i32(kOperandAddresses + which));
  return LLVM::LoadOp::create(
      e.b, e.loc, e.i32Type(),
      e.gep(e.sharedAt(g.segmentTableOffset), e.i32Type(), index),
      /*alignment=*/4, /*isVolatile=*/true);
}

Value BackwardKernelBuilder::stageBase(Value it) {
  return e.stageAt(g.stageOffset, e.remu(it, e.i32(g.stages)), g.stageBytes);
}

std::pair<Value, Value> BackwardKernelBuilder::issueScores(Value it) {
  Value stage = e.remu(it, e.i32(g.stages));
  Value phase = e.band(e.divu(it, e.i32(g.stages)), e.i32(1));
  e.mbarrierWait(e.stageAt(g.qFullBarrier(), stage, 8), phase);
  Value qAddr = e.sharedAddress(stageBase(it));
  Value qDesc = e.wgmmaDescriptor(qAddr, 16, 1024);
  Value doDesc = e.wgmmaDescriptor(e.add(qAddr, e.i32(g.qTileBytes)), 16, 1024);
  Value kDesc = e.wgmmaDescriptor(operandAddress(0), 16, 1024);
  Value vDesc = e.wgmmaDescriptor(operandAddress(1), 16, 1024);
  auto tileType = e.f32Struct(g.bm / 2); // S^T, dP^T: m64 x bm
  e.wgmmaFence();
  Value s = e.wgmmaOverHeadDim(LLVM::UndefOp::create(e.b, e.loc, tileType),
                               kDesc, g.bn, qDesc, g.bm, g.bm, g.headDim, bf16);
  Value dp = e.wgmmaOverHeadDim(LLVM::UndefOp::create(e.b, e.loc, tileType),
                                vDesc, g.bn, doDesc, g.bm, g.bm, g.headDim, bf16);
  e.wgmmaCommit();
  return {s, dp};
}

BackwardKernelBuilder::Gradients
BackwardKernelBuilder::emitGradients(Value s, Value dp, const Visit &visit,
                                     Value it, bool packDs) {
  Value scaleLog2 = e.f32(g.scaleLog2);
  Value log2e = e.f32(M_LOG2E);
  Value negInf = e.f32(-INFINITY);
  Type tileType = s.getType();
  // Mask entries above the diagonal or past the chunk (K/V rows or query
  // columns), as -inf so that P is exactly 0 there.
  Value kvRowBase = e.add(e.mul(kvTile, e.i32(g.bn)), rowInTile);
  Value kvRows[2] = {kvRowBase, e.add(kvRowBase, e.i32(8))};
  Value qFirst = e.mul(visit.qTile, e.i32(g.bm));
  Value wgLastRow = e.add(e.mul(kvTile, e.i32(g.bn)),
                          e.add(e.mul(consumer, e.i32(64)), e.i32(63)));
  Value needsMask = e.ugt(e.add(wgLastRow, e.i32(1)), e.i32(g.chunk));
  needsMask = arith::OrIOp::create(
      e.b, e.loc, needsMask, e.ugt(e.add(qFirst, e.i32(g.bm)), e.i32(g.chunk)));
  needsMask = arith::OrIOp::create(
      e.b, e.loc, needsMask,
      arith::AndIOp::create(e.b, e.loc, visit.diagonal,
                            e.ugt(wgLastRow, qFirst)));
  auto maskIf = scf::IfOp::create(e.b, e.loc, TypeRange{tileType}, needsMask,
                                  /*withElse=*/true);
  {
    OpBuilder::InsertionGuard maskGuard(e.b);
    e.b.setInsertionPointToStart(&maskIf.getThenRegion().front());
    SmallVector<Value> values = e.unpack(s);
    Value colBase = e.add(qFirst, colLane);
    for (int64_t i = 0, n = values.size(); i < n; ++i) {
      Value col = e.add(colBase, e.i32(columnBase(i)));
      Value row = kvRows[rowHalf(i)];
      Value masked = arith::OrIOp::create(
          e.b, e.loc, e.uge(col, e.i32(g.chunk)), e.uge(row, e.i32(g.chunk)));
      masked = arith::OrIOp::create(
          e.b, e.loc, masked,
          arith::AndIOp::create(e.b, e.loc, visit.diagonal, e.ugt(row, col)));
      values[i] = e.select(masked, negInf, values[i]);
    }
    scf::YieldOp::create(e.b, e.loc,
                         e.pack(cast<LLVM::LLVMStructType>(tileType), values));
    e.b.setInsertionPointToStart(&maskIf.getElseRegion().front());
    scf::YieldOp::create(e.b, e.loc, s);
  }
  SmallVector<Value> sv = e.unpack(maskIf.getResult(0));

  // P^T = 2^(S^T scale log2e - LSE log2e) and dS^T = P^T (dP^T - Delta),
  // packed as they are made (LSE and Delta of this thread's 16 query
  // columns; a few registers live at a time).
  Value base = stageBase(it);
  Value qRow = e.add(e.mul(visit.qChunk, e.i32(g.chunk)), qFirst);
  Value shift =
      rowVectorSpan(e, g.heads, g.localLen, batch, visit.head, qRow).shift;
  Value lsePtr = e.gep(e.gepBytes(base, 2 * g.qTileBytes), e.f32Type(), shift);
  Value deltaPtr = e.gep(e.gepBytes(base, 2 * g.qTileBytes + g.vectorStride),
                         e.f32Type(), shift);
  SmallVector<Value> dpv = e.unpack(dp);
  Gradients grads;
  for (int64_t k = 0; k < g.bm / 8; ++k) {
    // Scalar loads: the shift leaves a pair of rows 4-byte aligned only.
    Value lse[2], del[2];
    for (int64_t t = 0; t < 2; ++t) {
      Value index = e.add(colLane, e.i32(8 * k + t));
      lse[t] = e.load(e.f32Type(), e.gep(lsePtr, e.f32Type(), index));
      del[t] = e.load(e.f32Type(), e.gep(deltaPtr, e.f32Type(), index));
    }
    // Elements 4k .. 4k+3: columns (8k + c, 8k + c + 1) of both rows.
    for (int64_t h = 0; h < 2; ++h) {
      Value p[2], ds[2];
      for (int64_t t = 0; t < 2; ++t) {
        int64_t i = 4 * k + 2 * h + t;
        Value l2 = e.fmul(lse[t], log2e);
        p[t] = e.exp2(
            e.fma(sv[i], scaleLog2, arith::NegFOp::create(e.b, e.loc, l2)));
        ds[t] = e.fmul(p[t], e.fsub(dpv[i], del[t]));
      }
      grads.p.append({p[0], p[1]});
      if (packDs)
        grads.ds.push_back(e.packHalves(ds[0], ds[1], bf16));
      else
        grads.ds.append({ds[0], ds[1]});
    }
  }
  return grads;
}

Value BackwardKernelBuilder::dsBuffer(Value it) {
  return e.stageAt(g.dsOffset, e.band(it, e.i32(1)), g.dsBytes);
}

void BackwardKernelBuilder::storeDs(ArrayRef<Value> ds, Value it) {
  // dS^T to shared memory (128B-swizzled [K/V row][query column]): the A
  // operand of dQ (both warpgroups' rows).
  Value buffer = dsBuffer(it);
  Value swizzleRow = e.shr(lane, e.i32(2));
  Value inChunk = e.mul(e.band(lane, e.i32(3)), e.i32(4));
  for (int64_t k = 0, n = ds.size(); k < n; ++k) {
    int64_t i = 2 * k;
    Value row = e.add(rowInTile, e.i32(8 * rowHalf(i)));
    Value chunk16 = e.bxor(e.i32(i >> 2), swizzleRow);
    Value offset = e.add(
        e.add(e.mul(row, e.i32(128)), e.mul(chunk16, e.i32(16))), inChunk);
    e.store(ds[k], e.gep(buffer, e.b.getI8Type(), offset));
  }
  e.fenceProxyAsyncShared();
}

void BackwardKernelBuilder::meet() {
  // dQ reads both warpgroups' dS^T rows: all 256 consumer threads meet.
  e.namedBarrier(e.i32(kConsumerBarrier), 256);
}

Value BackwardKernelBuilder::issueDq(Value it) {
  // dQ[:, columns of this warpgroup] = dS K, both operands MN-major.
  int64_t dqN = g.headDim / 2;
  Value dsDesc = e.wgmmaDescriptor(e.sharedAddress(dsBuffer(it)),
                                   g.bm * 128, 1024);
  Value kDqDesc = e.wgmmaDescriptor(operandAddress(2), g.bn * 128, 1024);
  Value dq = LLVM::UndefOp::create(e.b, e.loc, e.f32Struct(dqN / 2));
  e.wgmmaFence();
  for (int64_t kk = 0; kk < g.bn / 16; ++kk)
    dq = e.wgmmaShared(dq, e.advanceDescriptor(dsDesc, kk * 2048),
                       e.advanceDescriptor(kDqDesc, kk * 2048), dqN, bf16,
                       kk == 0, /*transposeA=*/true, /*transposeB=*/true);
  e.wgmmaCommit();
  return dq;
}

std::pair<Value, Value> BackwardKernelBuilder::issueDvDk(Value dk, Value dv,
                                                         ArrayRef<Value> p,
                                                         ArrayRef<Value> ds,
                                                         Value it) {
  // dV += P^T dO and dK += dS^T Q, one group: P^T from registers (an
  // m64nN accumulator's fragments, packed in pairs, are the A operand's
  // fragments of m64k16), dS^T from registers too or else this warpgroup's
  // rows of the shared copy (K-major); dO and Q the MN-major B operands.
  MmaInputType inputType = bf16 ? MmaInputType::bf16 : MmaInputType::f16;
  Value qAddr = e.sharedAddress(stageBase(it));
  Value doDesc =
      e.wgmmaDescriptor(e.add(qAddr, e.i32(g.qTileBytes)), g.bm * 128, 1024);
  Value qDesc = e.wgmmaDescriptor(qAddr, g.bm * 128, 1024);
  Value dsRowsDesc;
  if (ds.empty())
    dsRowsDesc = e.wgmmaDescriptor(
        e.add(e.sharedAddress(dsBuffer(it)), e.mul(consumer, e.i32(64 * 128))),
        16, 1024);
  Value one = e.i32(1);
  e.wgmmaFence();
  for (int64_t kk = 0; kk < g.bm / 16; ++kk)
    dv = createWgmmaRegisterA(e.b, e.loc, dv, p.slice(4 * kk, 4),
                              e.advanceDescriptor(doDesc, kk * 2048), one,
                              g.headDim, inputType, /*transposeB=*/true);
  for (int64_t kk = 0; kk < g.bm / 16; ++kk)
    dk = ds.empty()
             ? e.wgmmaShared(dk, e.advanceDescriptor(dsRowsDesc, kk * 32),
                             e.advanceDescriptor(qDesc, kk * 2048), g.headDim,
                             bf16, /*overwrite=*/false, /*transposeA=*/false,
                             /*transposeB=*/true)
             : createWgmmaRegisterA(e.b, e.loc, dk, ds.slice(4 * kk, 4),
                                    e.advanceDescriptor(qDesc, kk * 2048), one,
                                    g.headDim, inputType, /*transposeB=*/true);
  e.wgmmaCommit();
  return {dk, dv};
}

void BackwardKernelBuilder::releaseStage(Value it) {
  // Everything reading the stage (dV, dK, dQ) is done: one arrival per warp.
  auto leader = scf::IfOp::create(e.b, e.loc, e.eq(lane, e.i32(0)));
  OpBuilder::InsertionGuard guard(e.b);
  e.b.setInsertionPointToStart(&leader.getThenRegion().front());
  e.mbarrierArrive(e.stageAt(g.emptyBarrier(), e.remu(it, e.i32(g.stages)), 8));
}

void BackwardKernelBuilder::emitDqReduce(Value dq, const Visit &visit) {
  Value qFirst = e.mul(visit.qTile, e.i32(g.bm));
  SmallVector<Value> dqv = e.unpack(dq);
  // A query tile that runs past its chunk (chunk % bm != 0) would add zeros
  // to the next chunk's rows: it takes the per-element atomics instead
  // (every tile where chunk < bm).
  if (!stagesDq()) {
    emitDqAtomics(dqv, visit);
    return;
  }
  if (g.chunk % g.bm != 0) {
    auto atomics = scf::IfOp::create(e.b, e.loc, straddles(qFirst),
                                     /*withElse=*/true);
    OpBuilder::InsertionGuard guard(e.b);
    e.b.setInsertionPointToStart(&atomics.getThenRegion().front());
    emitDqAtomics(dqv, visit);
    e.b.setInsertionPointToStart(&atomics.getElseRegion().front());
    emitDqStage(dqv);
    return;
  }
  emitDqStage(dqv);
}

void BackwardKernelBuilder::emitDqStage(ArrayRef<Value> dqv) {
  // The writer warp reduces the box; wait until it has read the last one.
  e.namedBarrier(e.add(consumer, e.i32(kDqEmpty)), kDqHandshake);

  // Fragment (row, column) pairs into the 128B-swizzled boxes: column c of
  // the warpgroup's dqN lies in box c / 32, 16-byte chunk (c % 32) / 4
  // XOR row % 8. A store's half-warp covers rows r..r+3 (r % 4 = 0), and the
  // swizzle gives rows 2j and 2j+1 the same banks for the same columns: an
  // odd row stores the columns 16 further on (mod 32, fragment pair i ^ 8)
  // at the same time, so the four rows' 32 bytes fall in distinct banks.
  int64_t boxesPerConsumer = g.dqBoxes / 2;
  Value stage =
      e.gep(e.sharedAt(g.dqStageOffset), e.b.getI8Type(),
            e.mul(consumer, e.i32(boxesPerConsumer * g.dqBoxBytes())));
  Value rowInGroup =
      e.add(e.mul(warpInGroup, e.i32(16)), e.shr(lane, e.i32(2)));
  Value swizzleRow = e.band(rowInGroup, e.i32(7));
  Value oddRow = e.ne(e.band(rowInGroup, e.i32(1)), e.i32(0));
  auto pairType = VectorType::get({2}, e.f32Type());
  for (int64_t even = 0, n = dqv.size(); even < n; even += 2) {
    int64_t odd = even ^ 8; // same row half, column group ^ 2
    Value row = e.add(rowInGroup, e.i32(8 * rowHalf(even)));
    Value column = e.add(colLane, e.select(oddRow, e.i32(columnBase(odd)),
                                           e.i32(columnBase(even))));
    Value box = e.shr(column, e.i32(5));
    Value inBox = e.band(column, e.i32(31));
    Value chunk16 = e.bxor(e.shr(inBox, e.i32(2)), swizzleRow);
    Value offset =
        e.add(e.add(e.mul(box, e.i32(g.dqBoxBytes())), e.mul(row, e.i32(128))),
              e.add(e.mul(chunk16, e.i32(16)),
                    e.mul(e.band(inBox, e.i32(3)), e.i32(4))));
    Value pair = LLVM::UndefOp::create(e.b, e.loc, pairType);
    for (int64_t k = 0; k < 2; ++k)
      pair = LLVM::InsertElementOp::create(
          e.b, e.loc, pair, e.select(oddRow, dqv[odd + k], dqv[even + k]),
          e.i32(k));
    e.store(pair, e.gep(stage, e.b.getI8Type(), offset));
  }
  e.fenceProxyAsyncShared();
  e.namedBarrierArrive(e.add(consumer, e.i32(kDqFull)), kDqHandshake);
}

void BackwardKernelBuilder::emitDqAtomics(ArrayRef<Value> dqv,
                                          const Visit &visit) {
  Value qFirst = e.mul(visit.qTile, e.i32(g.bm));
  int64_t dqN = g.headDim / 2;
  Value qRowBase = e.add(
      qFirst, e.add(e.mul(warpInGroup, e.i32(16)), e.shr(lane, e.i32(2))));
  Value colBase = e.zext64(e.add(e.mul(consumer, e.i32(dqN)), colLane));
  Value batch64 = e.zext64(batch), head64 = e.zext64(visit.head);
  e.forEachRowInChunk(
      qRowBase, visit.qChunk, g.chunk, [&](int64_t h, Value token) {
        Value rowOffset = e.tokenMajorOffset(batch64, g.localLen, token,
                                             g.heads, head64, g.headDim);
        // One base pointer per row; the columns are immediate offsets, two
        // adjacent ones (8-byte aligned) per reduction.
        Value rowPtr = e.gep(dqAcc, e.f32Type(), e.add(rowOffset, colBase));
        for (int64_t i = 0, n = dqv.size(); i < n; i += 2)
          if (rowHalf(i) == h)
            e.atomicAddF32x2(e.gep(rowPtr, e.f32Type(), e.i64(columnBase(i))),
                             dqv[i], dqv[i + 1]);
      });
}

void BackwardKernelBuilder::emitEpilogue(Value dk, Value dv) {
  // dK = scale * sum dS^T Q. The deterministic kernel, and the reducing one
  // without grouped query heads (MHA), overwrite the step's fp32 partials;
  // the reducing kernel adds its query head's share to them (the launch
  // zeroes them first). With MHA the adds cost the zeroing and a read of
  // every partial (512 MB at 16k).
  Value scale = e.f32(1.0 / std::sqrt(static_cast<double>(g.headDim)));
  SmallVector<Value> dkv = e.unpack(dk), dvv = e.unpack(dv);
  Value rowBase = e.add(e.mul(kvTile, e.i32(g.bn)), rowInTile);
  auto pairType = VectorType::get({2}, e.f32Type());
  Value batch64 = e.zext64(batch), head64 = e.zext64(kvHead);
  e.forEachRowInChunk(rowBase, kvChunk, g.chunk, [&](int64_t h, Value token) {
    Value rowOffset = e.tokenMajorOffset(batch64, g.localLen, token, g.kvHeads,
                                         head64, g.headDim);
    for (int64_t i = 0, n = dkv.size(); i < n; i += 2) {
      if (rowHalf(i) != h)
        continue;
      Value offset =
          e.add(rowOffset, e.zext64(e.add(colLane, e.i32(columnBase(i)))));
      for (auto [values, out, scaled] : {std::make_tuple(&dkv, dkOut, true),
                                         std::make_tuple(&dvv, dvOut, false)}) {
        Value a = (*values)[i], b = (*values)[i + 1];
        if (scaled) {
          a = e.fmul(a, scale);
          b = e.fmul(b, scale);
        }
        Value ptr = e.gep(out, e.f32Type(), offset);
        if (spec.addsPartials()) {
          e.atomicAddF32x2(ptr, a, b);
          continue;
        }
        Value pair = LLVM::UndefOp::create(e.b, e.loc, pairType);
        pair = LLVM::InsertElementOp::create(e.b, e.loc, pair, a, e.i32(0));
        pair = LLVM::InsertElementOp::create(e.b, e.loc, pair, b, e.i32(1));
        e.store(pair, ptr);
      }
    }
  });
}

} // namespace

void mlir::ringattn::hopper::buildBackwardKernel(
    OpBuilder &builder, Location loc, const BackwardKernelSpec &spec) {
  BackwardKernelBuilder(builder, loc, spec).build();
}

//===----------------------------------------------------------------------===//
// The deterministic dQ kernel
//===----------------------------------------------------------------------===//

namespace {

/// The K/V chunks a query chunk visits in the dQ kernel, in the pairs' order.
std::vector<KvSegment> dqSegmentsOf(const DqKernelSpec &spec, int64_t qChunk) {
  return kvSegmentsOf(spec.pairs, qChunk, /*diagonalLast=*/false);
}

struct DqGeometry : TileShape {
  explicit DqGeometry(const DqKernelSpec &spec)
      : TileShape(spec.config, spec.blockM, spec.blockN, spec.stages) {
    vectorBytes = rowVectorBytes(bm);
    qOffset = 0;
    doOffset = qTileBytes;
    lseOffset = 2 * qTileBytes;
    deltaOffset = lseOffset + rowVectorStride(bm);
    kOffset = alignTo(deltaOffset + rowVectorStride(bm), 1024);
    vOffset = kOffset + stages * kvTileBytes;
    barrierOffset = vOffset + stages * kvTileBytes;
    sharedBytes = barrierOffset + 8 * (1 + 3 * stages);
    threads = 128 * (1 + bm / 64);
  }
  int64_t qFullBarrier() const { return barrierOffset; }
  int64_t kFullBarrier() const { return barrierOffset + 8; }
  int64_t vFullBarrier() const { return barrierOffset + 8 * (1 + stages); }
  int64_t emptyBarrier() const { return barrierOffset + 8 * (1 + 2 * stages); }

  int64_t vectorBytes;
  int64_t qOffset, doOffset, lseOffset, deltaOffset, kOffset, vOffset;
  int64_t barrierOffset, sharedBytes, threads;
};

std::vector<WorkItem> dqWorkItems(const DqKernelSpec &spec) {
  return queryTileItems(
      DqGeometry(spec), chunksOfRank(spec.config, 0).size(),
      [&](int64_t c) { return dqSegmentsOf(spec, c); },
      [](int64_t) { return false; });
}

class DqKernelBuilder {
public:
  DqKernelBuilder(OpBuilder &builder, Location loc, const DqKernelSpec &spec)
      : e(builder, loc), spec(spec), g(spec),
        bf16(spec.config.dtype == DType::bf16) {}
  void build();

private:
  std::tuple<Value, Value, Value> tileOf(Value j) {
    Value inFirst = e.ult(j, tiles0);
    return {e.select(inFirst, kvChunk0, kvChunk1),
            e.select(inFirst, j, e.sub(j, tiles0)),
            e.select(inFirst, diagonal0, diagonal1)};
  }
  void emitProducer();
  void emitConsumer();

  KernelEmitter e;
  const DqKernelSpec &spec;
  DqGeometry g;
  bool bf16;
  Value tmaQ, tmaK, tmaV, tmaDO, tmaLse, tmaDelta, dqAcc;
  Value tid, warpgroup, warpInGroup, lane;
  Value qChunk, qTile, head, kvHead, batch;
  Value tiles0, tiles1, kvChunk0, kvChunk1, diagonal0, diagonal1, total;
};

void DqKernelBuilder::build() {
  SmallVector<int32_t> packed;
  for (const WorkItem &item : dqWorkItems(spec))
    packed.push_back(static_cast<int32_t>((item.qChunk << 16) | item.qTile));
  LLVM::GlobalOp workItems = e.declareI32Table(spec.name + "_work_items", packed);
  LLVM::LLVMFuncOp func =
      e.declareKernel(spec.name, /*tensorMaps=*/6, /*pointers=*/1, g.threads);
  Block *entry = func.addEntryBlock(e.b);
  OpBuilder::InsertionGuard guard(e.b);
  e.b.setInsertionPointToStart(entry);
  tmaQ = entry->getArgument(0);
  tmaK = entry->getArgument(1);
  tmaV = entry->getArgument(2);
  tmaDO = entry->getArgument(3);
  tmaLse = entry->getArgument(4);
  tmaDelta = entry->getArgument(5);
  dqAcc = entry->getArgument(6);
  tid = e.threadIdX();
  warpgroup = e.shr(tid, e.i32(7));
  warpInGroup = e.band(e.shr(tid, e.i32(5)), e.i32(3));
  lane = e.band(tid, e.i32(31));
  auto [item, tileHead] =
      e.sectionedWorkItem(workItems, g.heads, g.headSection());
  qChunk = e.shr(item, e.i32(16));
  qTile = e.band(item, e.i32(0xFFFF));
  head = tileHead;
  kvHead = e.divu(head, e.i32(g.group));
  batch = e.blockIdZ();

  Value isBack = e.eq(qChunk, e.i32(1));
  Value lastRow = e.sub(e.minu(e.add(e.mul(qTile, e.i32(g.bm)), e.i32(g.bm)),
                               e.i32(g.chunk)),
                        e.i32(1));
  Value diagonalTiles = e.add(e.divu(lastRow, e.i32(g.bn)), e.i32(1));
  auto field = [&](int64_t index, auto get) {
    Value perChunk[2];
    for (int64_t c = 0; c < 2; ++c) {
      std::vector<KvSegment> segments = dqSegmentsOf(spec, c);
      perChunk[c] = get(index < (int64_t)segments.size() ? &segments[index]
                                                         : nullptr);
    }
    return e.select(isBack, perChunk[1], perChunk[0]);
  };
  auto tilesOf = [&](const KvSegment *s) {
    if (!s)
      return e.i32(0);
    return s->diagonal ? diagonalTiles : e.i32(g.kvTiles);
  };
  auto chunkOf = [&](const KvSegment *s) { return e.i32(s ? s->kvChunk : 0); };
  auto diagonalOf = [&](const KvSegment *s) { return e.boolean(s && s->diagonal); };
  tiles0 = field(0, tilesOf);
  tiles1 = field(1, tilesOf);
  kvChunk0 = field(0, chunkOf);
  kvChunk1 = field(1, chunkOf);
  diagonal0 = field(0, diagonalOf);
  diagonal1 = field(1, diagonalOf);
  total = e.add(tiles0, tiles1);

  auto init = scf::IfOp::create(e.b, e.loc, e.eq(tid, e.i32(0)));
  {
    OpBuilder::InsertionGuard inner(e.b);
    e.b.setInsertionPointToStart(&init.getThenRegion().front());
    e.mbarrierInit(e.sharedAt(g.qFullBarrier()), 1);
    for (int64_t s = 0; s < g.stages; ++s) {
      e.mbarrierInit(e.sharedAt(g.kFullBarrier() + 8 * s), 1);
      e.mbarrierInit(e.sharedAt(g.vFullBarrier() + 8 * s), 1);
      e.mbarrierInit(e.sharedAt(g.emptyBarrier() + 8 * s), 4 * (g.bm / 64));
    }
    NVVM::FenceMbarrierInitOp::create(e.b, e.loc);
  }
  e.barrierAll();

  e.splitRoles(warpgroup, kProducerRegisters, kConsumerRegisters,
               [&] { emitProducer(); }, [&] { emitConsumer(); });
  LLVM::ReturnOp::create(e.b, e.loc, ValueRange{});
}

void DqKernelBuilder::emitProducer() {
  Value leader = arith::AndIOp::create(e.b, e.loc, e.eq(warpInGroup, e.i32(0)),
                                       e.electOne());
  auto guard = scf::IfOp::create(e.b, e.loc, leader);
  OpBuilder::InsertionGuard inner(e.b);
  e.b.setInsertionPointToStart(&guard.getThenRegion().front());
  Value qRow = e.add(e.mul(qChunk, e.i32(g.chunk)), e.mul(qTile, e.i32(g.bm)));
  Value qBar = e.sharedAt(g.qFullBarrier());
  e.mbarrierArriveExpectTx(qBar, 2 * g.qTileBytes + 2 * g.vectorBytes);
  for (int64_t box = 0; box < g.boxes; ++box) {
    SmallVector<Value> coords = {e.i32(64 * box), head, qRow, batch};
    e.tmaLoad(e.sharedAt(g.qOffset + box * g.bm * 128), tmaQ, coords, qBar);
    e.tmaLoad(e.sharedAt(g.doOffset + box * g.bm * 128), tmaDO, coords, qBar);
  }
  SmallVector<Value> rowCoords = {
      rowVectorSpan(e, g.heads, g.localLen, batch, head, qRow).boxStart};
  e.tmaLoad(e.sharedAt(g.lseOffset), tmaLse, rowCoords, qBar);
  e.tmaLoad(e.sharedAt(g.deltaOffset), tmaDelta, rowCoords, qBar);

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
  Value vBar = e.stageAt(g.vFullBarrier(), stage, 8);
  e.mbarrierArriveExpectTx(kBar, g.kvTileBytes);
  e.mbarrierArriveExpectTx(vBar, g.kvTileBytes);
  Value kStage = e.stageAt(g.kOffset, stage, g.kvTileBytes);
  Value vStage = e.stageAt(g.vOffset, stage, g.kvTileBytes);
  for (int64_t box = 0; box < g.boxes; ++box) {
    SmallVector<Value> coords = {e.i32(64 * box), kvHead, kvRow, batch};
    e.tmaLoad(e.gepBytes(kStage, box * g.bn * 128), tmaK, coords, kBar);
    e.tmaLoad(e.gepBytes(vStage, box * g.bn * 128), tmaV, coords, vBar);
  }
}

void DqKernelBuilder::emitConsumer() {
  Value consumer = e.sub(warpgroup, e.i32(1));
  auto tileType = e.f32Struct(g.bn / 2);
  auto dqType = e.f32Struct(g.headDim / 2);
  Value scaleLog2 = e.f32(g.scaleLog2);
  Value log2e = e.f32(M_LOG2E);
  Value negInf = e.f32(-INFINITY);
  e.mbarrierWait(e.sharedAt(g.qFullBarrier()), e.i32(0));

  Value rows64 = e.mul(consumer, e.i32(64 * 128));
  Value qDesc = e.wgmmaDescriptor(
      e.add(e.sharedAddress(e.sharedAt(g.qOffset)), rows64), 16, 1024);
  Value doDesc = e.wgmmaDescriptor(
      e.add(e.sharedAddress(e.sharedAt(g.doOffset)), rows64), 16, 1024);
  Value rowInTile = e.add(e.mul(consumer, e.i32(64)),
                          e.add(e.mul(warpInGroup, e.i32(16)),
                                e.shr(lane, e.i32(2))));
  Value rowBase = e.add(e.mul(qTile, e.i32(g.bm)), rowInTile);
  Value rows[2] = {rowBase, e.add(rowBase, e.i32(8))};
  Value qRow = e.add(e.mul(qChunk, e.i32(g.chunk)), e.mul(qTile, e.i32(g.bm)));
  Value shift = rowVectorSpan(e, g.heads, g.localLen, batch, head, qRow).shift;
  Value lse2[2], delta[2];
  for (int h = 0; h < 2; ++h) {
    Value index = e.add(shift, e.add(rowInTile, e.i32(8 * h)));
    lse2[h] = e.fmul(e.load(e.f32Type(),
                            e.gep(e.sharedAt(g.lseOffset), e.f32Type(), index)),
                     log2e);
    delta[h] = e.load(e.f32Type(),
                      e.gep(e.sharedAt(g.deltaOffset), e.f32Type(), index));
  }
  Value colLane = e.mul(e.band(lane, e.i32(3)), e.i32(2));
  MmaInputType inputType = bf16 ? MmaInputType::bf16 : MmaInputType::f16;

  auto loop = scf::ForOp::create(e.b, e.loc, e.i32(0), total, e.i32(1),
                                 ValueRange{e.zeros(dqType)});
  {
    OpBuilder::InsertionGuard inner(e.b);
    e.b.setInsertionPointToStart(loop.getBody());
    Value j = loop.getInductionVar();
    Value dq = loop.getRegionIterArgs()[0];
    Value stage = e.remu(j, e.i32(g.stages));
    Value phase = e.band(e.divu(j, e.i32(g.stages)), e.i32(1));
    auto [kvChunk, kvTile, diagonal] = tileOf(j);
    (void)kvChunk;
    Value kAddr = e.sharedAddress(e.stageAt(g.kOffset, stage, g.kvTileBytes));
    Value vAddr = e.sharedAddress(e.stageAt(g.vOffset, stage, g.kvTileBytes));
    Value kDesc = e.wgmmaDescriptor(kAddr, 16, 1024);
    Value vDesc = e.wgmmaDescriptor(vAddr, 16, 1024);
    e.mbarrierWait(e.stageAt(g.kFullBarrier(), stage, 8), phase);
    e.mbarrierWait(e.stageAt(g.vFullBarrier(), stage, 8), phase);
    e.wgmmaFence();
    Value s = e.wgmmaOverHeadDim(LLVM::UndefOp::create(e.b, e.loc, tileType),
                                 qDesc, g.bm, kDesc, g.bn, g.bn, g.headDim, bf16);
    Value dp = e.wgmmaOverHeadDim(LLVM::UndefOp::create(e.b, e.loc, tileType),
                                  doDesc, g.bm, vDesc, g.bn, g.bn, g.headDim,
                                  bf16);
    e.wgmmaCommit();
    SmallVector<Value> waited = createWgmmaWaitTied(e.b, e.loc, 0, {s, dp});
    SmallVector<Value> sv = e.unpack(waited[0]), dpv = e.unpack(waited[1]);

    Value colBase = e.add(e.mul(kvTile, e.i32(g.bn)), colLane);
    SmallVector<Value> packed;
    for (int64_t i = 0, n = sv.size(); i < n; i += 2) {
      Value ds[2];
      for (int64_t t = 0; t < 2; ++t) {
        int64_t k = i + t;
        Value col = e.add(colBase, e.i32(columnBase(k)));
        Value masked = arith::OrIOp::create(
            e.b, e.loc, e.uge(col, e.i32(g.chunk)),
            arith::AndIOp::create(e.b, e.loc, diagonal,
                                  e.ugt(col, rows[rowHalf(k)])));
        Value score = e.select(masked, negInf, sv[k]);
        Value p = e.exp2(e.fma(score, scaleLog2,
                               arith::NegFOp::create(e.b, e.loc, lse2[rowHalf(k)])));
        ds[t] = e.fmul(p, e.fsub(dpv[k], delta[rowHalf(k)]));
      }
      packed.push_back(e.packHalves(ds[0], ds[1], bf16));
    }
    // dQ += dS K (K as the MN-major B operand).
    Value kDescMN = e.wgmmaDescriptor(kAddr, g.bn * 128, 1024);
    e.wgmmaFence();
    for (int64_t kk = 0; kk < g.bn / 16; ++kk)
      dq = createWgmmaRegisterA(e.b, e.loc, dq,
                                ArrayRef<Value>(packed).slice(4 * kk, 4),
                                e.advanceDescriptor(kDescMN, kk * 2048), e.i32(1),
                                g.headDim, inputType, /*transposeB=*/true);
    e.wgmmaCommit();
    dq = createWgmmaWaitTied(e.b, e.loc, 0, {dq})[0];
    auto release = scf::IfOp::create(e.b, e.loc, e.eq(lane, e.i32(0)));
    {
      OpBuilder::InsertionGuard releaseGuard(e.b);
      e.b.setInsertionPointToStart(&release.getThenRegion().front());
      e.mbarrierArrive(e.stageAt(g.emptyBarrier(), stage, 8));
    }
    scf::YieldOp::create(e.b, e.loc, ValueRange{dq});
  }
  // Add this step's dQ into the accumulator: one CTA owns these rows.
  SmallVector<Value> dqv = e.unpack(loop.getResult(0));
  auto pairType = VectorType::get({2}, e.f32Type());
  Value batch64 = e.zext64(batch), head64 = e.zext64(head);
  e.forEachRowInChunk(rows[0], qChunk, g.chunk, [&](int64_t h, Value token) {
    Value rowOffset = e.tokenMajorOffset(batch64, g.localLen, token, g.heads,
                                         head64, g.headDim);
    for (int64_t i = 0, n = dqv.size(); i < n; i += 2) {
      if (rowHalf(i) != h)
        continue;
      Value ptr = e.gep(
          dqAcc, e.f32Type(),
          e.add(rowOffset, e.zext64(e.add(colLane, e.i32(columnBase(i))))));
      Value old = e.load(pairType, ptr);
      Value sum = LLVM::UndefOp::create(e.b, e.loc, pairType);
      for (int64_t t = 0; t < 2; ++t) {
        Value a = LLVM::ExtractElementOp::create(e.b, e.loc, old, e.i32(t));
        sum = LLVM::InsertElementOp::create(e.b, e.loc, sum,
                                            e.fadd(a, dqv[i + t]), e.i32(t));
      }
      e.store(sum, ptr);
    }
  });
}

} // namespace

ForwardLaunch mlir::ringattn::hopper::dqLaunch(const DqKernelSpec &spec) {
  DqGeometry g(spec);
  return {static_cast<int64_t>(dqWorkItems(spec).size()), g.threads,
          g.sharedBytes, g.headSection()};
}

void mlir::ringattn::hopper::buildDqKernel(OpBuilder &builder, Location loc,
                                           const DqKernelSpec &spec) {
  DqKernelBuilder(builder, loc, spec).build();
}

//===----------------------------------------------------------------------===//
// Elementwise kernels
//===----------------------------------------------------------------------===//

namespace {

constexpr int64_t kElementwiseThreads = 256;

/// Elements per sequence of the dK (or dV) buffer and of dQ.
int64_t kvElements(const AttentionConfig &c) {
  return localLength(c) * c.kvHeads * c.headDim;
}
int64_t qElements(const AttentionConfig &c) {
  return localLength(c) * c.heads * c.headDim;
}

} // namespace

ElementwiseLaunch
mlir::ringattn::hopper::elementwiseLaunch(const AttentionConfig &config,
                                          ElementwiseKind kind) {
  int64_t items = 0;
  switch (kind) {
  case ElementwiseKind::preprocess:
    // A thread per 8 elements of a (token, head) row.
    items = localLength(config) * config.heads * (config.headDim / 8);
    break;
  case ElementwiseKind::accumulate:
    items = kvElements(config) / 4;
    break;
  case ElementwiseKind::finalize:
    items = std::max(qElements(config), kvElements(config)) / 4;
    break;
  }
  return {(items + kElementwiseThreads - 1) / kElementwiseThreads,
          kElementwiseThreads};
}

void mlir::ringattn::hopper::buildElementwiseKernel(
    OpBuilder &builder, Location loc, const std::string &name,
    const AttentionConfig &config, ElementwiseKind kind) {
  KernelEmitter e(builder, loc);
  unsigned pointers = kind == ElementwiseKind::preprocess   ? 4
                      : kind == ElementwiseKind::accumulate ? 2
                                                            : 6;
  LLVM::LLVMFuncOp func =
      e.declareKernel(name, /*tensorMaps=*/0, pointers, kElementwiseThreads);
  Block *entry = func.addEntryBlock(e.b);
  OpBuilder::InsertionGuard guard(e.b);
  e.b.setInsertionPointToStart(entry);
  bool bf16 = config.dtype == DType::bf16;
  Type half = bf16 ? Type(e.b.getBF16Type()) : Type(e.b.getF16Type());
  Value index = e.add(e.mul(e.blockIdX(), e.i32(kElementwiseThreads)),
                      e.threadIdX());
  Value batch64 = e.zext64(e.blockIdY());
  auto vec4 = VectorType::get({4}, e.f32Type());
  int64_t localLen = localLength(config), d = config.headDim;

  switch (kind) {
  case ElementwiseKind::preprocess: {
    // Delta[b, h, t] = sum_d dO * O; the dQ accumulator row zeroed. The
    // headDim / 8 threads of a row (aligned lanes of one warp) each take 8
    // consecutive elements, so a warp's loads and stores are contiguous, and
    // sum their products with butterfly shuffles. A thread past the end
    // reads row 0 instead (the shuffles need the whole warp) and stores
    // nothing.
    Value out = entry->getArgument(0), dout = entry->getArgument(1);
    Value delta = entry->getArgument(2), dqAcc = entry->getArgument(3);
    int64_t lanesPerRow = d / 8;
    int64_t rows = localLen * config.heads;
    Value valid = e.ult(index, e.i32(rows * lanesPerRow));
    Value slot = e.select(valid, index, e.i32(0));
    Value offset = e.add(e.mul(batch64, e.i64(rows * d)),
                         e.mul(e.zext64(slot), e.i64(8)));
    auto vec8 = VectorType::get({8}, half);
    auto vec8f = VectorType::get({8}, e.f32Type());
    Value o = LLVM::FPExtOp::create(e.b, loc, vec8f,
                                    e.load(vec8, e.gep(out, half, offset)));
    Value g = LLVM::FPExtOp::create(e.b, loc, vec8f,
                                    e.load(vec8, e.gep(dout, half, offset)));
    Value sum = e.f32(0.0);
    for (int64_t k = 0; k < 8; ++k)
      sum = e.fma(LLVM::ExtractElementOp::create(e.b, loc, o, e.i32(k)),
                  LLVM::ExtractElementOp::create(e.b, loc, g, e.i32(k)), sum);
    for (int64_t mask = 1; mask < lanesPerRow; mask *= 2)
      sum = e.fadd(sum, e.shuffleXor(sum, mask));
    auto store = scf::IfOp::create(e.b, loc, valid);
    e.b.setInsertionPointToStart(&store.getThenRegion().front());
    Value zero4 = LLVM::ZeroOp::create(e.b, loc, vec4);
    e.store(zero4, e.gep(dqAcc, e.f32Type(), offset));
    e.store(zero4, e.gep(dqAcc, e.f32Type(), e.add(offset, e.i64(4))));
    Value row = e.divu(slot, e.i32(lanesPerRow));
    auto leader = scf::IfOp::create(
        e.b, loc, e.eq(e.remu(slot, e.i32(lanesPerRow)), e.i32(0)));
    e.b.setInsertionPointToStart(&leader.getThenRegion().front());
    Value token = e.zext64(e.divu(row, e.i32(config.heads)));
    Value head = e.zext64(e.remu(row, e.i32(config.heads)));
    Value deltaIndex =
        e.rowVectorOffset(batch64, config.heads, head, localLen, token);
    e.store(sum, e.gep(delta, e.f32Type(), deltaIndex));
    break;
  }
  case ElementwiseKind::accumulate: {
    // dst += src over one sequence's dK (grid y: batch and dK/dV halves).
    Value dst = entry->getArgument(0), src = entry->getArgument(1);
    int64_t n4 = kvElements(config) / 4;
    auto valid = scf::IfOp::create(e.b, loc, e.ult(index, e.i32(n4)));
    e.b.setInsertionPointToStart(&valid.getThenRegion().front());
    Value offset = e.add(e.mul(batch64, e.i64(kvElements(config))),
                         e.mul(e.zext64(index), e.i64(4)));
    Value dstPtr = e.gep(dst, e.f32Type(), offset);
    Value a = e.load(vec4, dstPtr);
    Value b = e.load(vec4, e.gep(src, e.f32Type(), offset));
    e.store(LLVM::FAddOp::create(e.b, loc, a, b), dstPtr);
    break;
  }
  case ElementwiseKind::finalize: {
    // dQ = scale * accumulator, dK and dV from the accumulator that came
    // home, all in the input dtype.
    Value dqAcc = entry->getArgument(0), dkHome = entry->getArgument(1);
    Value dvHome = entry->getArgument(2), dqOut = entry->getArgument(3);
    Value dkOut = entry->getArgument(4), dvOut = entry->getArgument(5);
    auto vec4h = VectorType::get({4}, half);
    Value scale = e.f32(1.0 / std::sqrt(static_cast<double>(d)));
    Value scale4 = LLVM::UndefOp::create(e.b, loc, vec4);
    for (int64_t k = 0; k < 4; ++k)
      scale4 = LLVM::InsertElementOp::create(e.b, loc, scale4, scale, e.i32(k));
    auto convert = [&](Value from, Value to, int64_t elements, bool scaled) {
      auto valid = scf::IfOp::create(e.b, loc, e.ult(index, e.i32(elements / 4)));
      OpBuilder::InsertionGuard inner(e.b);
      e.b.setInsertionPointToStart(&valid.getThenRegion().front());
      Value offset = e.add(e.mul(batch64, e.i64(elements)),
                           e.mul(e.zext64(index), e.i64(4)));
      Value v = e.load(vec4, e.gep(from, e.f32Type(), offset));
      if (scaled)
        v = LLVM::FMulOp::create(e.b, loc, v, scale4);
      e.store(LLVM::FPTruncOp::create(e.b, loc, vec4h, v),
              e.gep(to, half, offset));
    };
    convert(dqAcc, dqOut, qElements(config), true);
    convert(dkHome, dkOut, kvElements(config), false);
    convert(dvHome, dvOut, kvElements(config), false);
    break;
  }
  }
  e.b.setInsertionPointToEnd(entry);
  LLVM::ReturnOp::create(e.b, loc, ValueRange{});
}
