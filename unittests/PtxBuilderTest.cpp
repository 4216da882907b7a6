//===- PtxBuilderTest.cpp - the Hopper builder's helpers -------------------===//
//
// The pieces of the Hopper kernel builder that can be checked without a GPU:
// the inline PTX (text, operand numbering and constraints of the
// register-A wgmma and of the tied wait, and the llvm.inline_asm ops built
// from them), the `ptxas -v` log parser, and the launch geometry of a forward
// kernel (work items, grid, threads, shared memory).
//
//===----------------------------------------------------------------------===//

#include "ringattn/Dialect/Kernel/IR/Kernel.h"
#include "ringattn/Dialect/RingAttn/IR/RingAttn.h"
#include "ringattn/Target/Hopper/Compile.h"
#include "ringattn/Target/Hopper/ForwardKernel.h"
#include "ringattn/Target/Hopper/PtxBuilder.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>

using namespace mlir;
using namespace mlir::ringattn;
using namespace mlir::ringattn::hopper;

namespace {

//===----------------------------------------------------------------------===//
// Inline PTX text
//===----------------------------------------------------------------------===//

/// "$first, $first+1, ..., $last": an operand list as the builder writes it.
std::string operandList(int64_t first, int64_t last) {
  std::string out;
  for (int64_t i = first; i <= last; ++i)
    out += (i == first ? "$" : ", $") + std::to_string(i);
  return out;
}

/// `count` "=f" outputs, then `count` inputs tied to them ("0".."count-1").
std::string tiedConstraints(int64_t count) {
  std::string out;
  for (int64_t i = 0; i < count; ++i)
    out += i ? ",=f" : "=f";
  for (int64_t i = 0; i < count; ++i)
    out += "," + std::to_string(i);
  return out;
}

TEST(PtxBuilder, RegisterAWgmmaN64Bf16Transposed) {
  // Written out in full once: 32 accumulators ($0-$31 out, $32-$63 tied
  // in), A in $64-$67, the B descriptor $68, scale-d $69.
  PtxAsm asmText = wgmmaRegisterAAsm(64, MmaInputType::bf16, true);
  EXPECT_EQ(asmText.text,
            "{\n"
            ".reg .pred p;\n"
            "setp.ne.b32 p, $69, 0;\n"
            "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 "
            "{$0, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
            "$15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, "
            "$28, $29, $30, $31}, {$64, $65, $66, $67}, $68, p, 1, 1, 1;\n"
            "}");
  EXPECT_EQ(asmText.constraints,
            "=f,=f,=f,=f,=f,=f,=f,=f,=f,=f,=f,=f,=f,=f,=f,=f,"
            "=f,=f,=f,=f,=f,=f,=f,=f,=f,=f,=f,=f,=f,=f,=f,=f,"
            "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,"
            "16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,"
            "r,r,r,r,l,r");
}

TEST(PtxBuilder, RegisterAWgmmaEveryShapeTypeAndLayout) {
  for (int64_t n : {64, 128, 256}) {
    for (MmaInputType type : {MmaInputType::bf16, MmaInputType::f16}) {
      for (bool transposeB : {false, true}) {
        SCOPED_TRACE("n = " + std::to_string(n) + ", " +
                     (type == MmaInputType::bf16 ? "bf16" : "f16") +
                     (transposeB ? ", B transposed" : ""));
        int64_t acc = n / 2;
        std::string typeName = type == MmaInputType::bf16 ? "bf16" : "f16";
        std::string expected =
            "{\n.reg .pred p;\nsetp.ne.b32 p, $" + std::to_string(2 * acc + 5) +
            ", 0;\nwgmma.mma_async.sync.aligned.m64n" + std::to_string(n) +
            "k16.f32." + typeName + "." + typeName + " {" +
            operandList(0, acc - 1) + "}, {" +
            operandList(2 * acc, 2 * acc + 3) + "}, $" +
            std::to_string(2 * acc + 4) + ", p, 1, 1, " +
            (transposeB ? "1" : "0") + ";\n}";
        PtxAsm asmText = wgmmaRegisterAAsm(n, type, transposeB);
        EXPECT_EQ(asmText.text, expected);
        EXPECT_EQ(asmText.constraints, tiedConstraints(acc) + ",r,r,r,r,l,r");
        // One constraint per operand: outputs, tied inputs, 4 A, B, scale-d.
        EXPECT_EQ(std::count(asmText.constraints.begin(),
                             asmText.constraints.end(), ',') +
                      1,
                  2 * acc + 6);
      }
    }
  }
  // Spot checks of the numbering at the largest shape.
  PtxAsm n256 = wgmmaRegisterAAsm(256, MmaInputType::f16, false);
  EXPECT_NE(n256.text.find("setp.ne.b32 p, $261, 0;"), std::string::npos);
  EXPECT_NE(n256.text.find("m64n256k16.f32.f16.f16 {$0, $1,"),
            std::string::npos);
  EXPECT_NE(n256.text.find("$126, $127}, {$256, $257, $258, $259}, $260, p, "
                           "1, 1, 0;"),
            std::string::npos);
}

TEST(PtxBuilder, TiedWait) {
  PtxAsm wait = wgmmaWaitTiedAsm(0, 4);
  EXPECT_EQ(wait.text, "wgmma.wait_group.sync.aligned 0;");
  EXPECT_EQ(wait.constraints, "=f,=f,=f,=f,0,1,2,3");
  PtxAsm pending = wgmmaWaitTiedAsm(1, 64);
  EXPECT_EQ(pending.text, "wgmma.wait_group.sync.aligned 1;");
  EXPECT_EQ(pending.constraints, tiedConstraints(64));
  EXPECT_EQ(pending.constraints.substr(0, 6), "=f,=f,");
  EXPECT_EQ(pending.constraints.substr(pending.constraints.size() - 9),
            ",61,62,63");
}

//===----------------------------------------------------------------------===//
// llvm.inline_asm ops built from them
//===----------------------------------------------------------------------===//

class InlineAsmOps : public ::testing::Test {
protected:
  InlineAsmOps() : builder(&context), loc(UnknownLoc::get(&context)) {
    context.loadDialect<LLVM::LLVMDialect>();
    module = ModuleOp::create(loc);
  }
  ~InlineAsmOps() override { module->erase(); }

  LLVM::LLVMStructType f32Struct(int64_t count) {
    return LLVM::LLVMStructType::getLiteral(
        &context, SmallVector<Type>(count, builder.getF32Type()));
  }

  /// Starts `llvm.func @f(argTypes)` and returns its entry block.
  Block *function(ArrayRef<Type> argTypes) {
    builder.setInsertionPointToEnd(module.getBody());
    auto type = LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(&context),
                                            argTypes);
    auto func = LLVM::LLVMFuncOp::create(builder, loc, "f", type);
    Block *entry = func.addEntryBlock(builder);
    builder.setInsertionPointToStart(entry);
    return entry;
  }

  void finish() {
    LLVM::ReturnOp::create(builder, loc, ValueRange{});
    EXPECT_TRUE(succeeded(verify(module)));
  }

  MLIRContext context;
  OpBuilder builder;
  Location loc;
  ModuleOp module;
};

TEST_F(InlineAsmOps, RegisterAWgmma) {
  for (int64_t n : {64, 128, 256}) {
    SCOPED_TRACE("n = " + std::to_string(n));
    module.getBody()->clear();
    auto accType = f32Struct(n / 2);
    Type i32 = builder.getI32Type(), i64 = builder.getI64Type();
    Block *entry = function({accType, i32, i32, i32, i32, i64, i32});
    SmallVector<Value> a = {entry->getArgument(1), entry->getArgument(2),
                            entry->getArgument(3), entry->getArgument(4)};
    Value result = createWgmmaRegisterA(
        builder, loc, entry->getArgument(0), a, entry->getArgument(5),
        entry->getArgument(6), n, MmaInputType::f16, /*transposeB=*/true);
    finish();

    auto op = result.getDefiningOp<LLVM::InlineAsmOp>();
    ASSERT_TRUE(op);
    EXPECT_EQ(result.getType(), Type(accType));
    EXPECT_EQ(op->getNumResults(), 1u);
    // The accumulators one by one, then A, the descriptor and scale-d.
    ASSERT_EQ(op.getOperands().size(), static_cast<size_t>(n / 2 + 6));
    for (int64_t i = 0; i < n / 2; ++i) {
      auto extract = op.getOperands()[i].getDefiningOp<LLVM::ExtractValueOp>();
      ASSERT_TRUE(extract);
      EXPECT_EQ(extract.getContainer(), entry->getArgument(0));
      EXPECT_EQ(extract.getPosition()[0], i);
    }
    for (int64_t i = 0; i < 4; ++i)
      EXPECT_EQ(op.getOperands()[n / 2 + i], a[i]);
    EXPECT_EQ(op.getOperands()[n / 2 + 4], entry->getArgument(5));
    EXPECT_EQ(op.getOperands()[n / 2 + 5], entry->getArgument(6));
    PtxAsm expected = wgmmaRegisterAAsm(n, MmaInputType::f16, true);
    EXPECT_EQ(op.getAsmString(), expected.text);
    EXPECT_EQ(op.getConstraints(), expected.constraints);
    EXPECT_TRUE(op.getHasSideEffects());
  }
}

TEST_F(InlineAsmOps, TiedWaitOverTwoAccumulators) {
  auto four = f32Struct(4), two = f32Struct(2);
  Block *entry = function({four, two});
  SmallVector<Value> results = createWgmmaWaitTied(
      builder, loc, /*pending=*/0, {entry->getArgument(0), entry->getArgument(1)});
  finish();

  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].getType(), Type(four));
  EXPECT_EQ(results[1].getType(), Type(two));

  // One wait over all six registers.
  LLVM::InlineAsmOp wait;
  int64_t waits = 0;
  module.walk([&](LLVM::InlineAsmOp op) {
    wait = op;
    ++waits;
  });
  ASSERT_EQ(waits, 1);
  EXPECT_EQ(wait.getAsmString(), "wgmma.wait_group.sync.aligned 0;");
  EXPECT_EQ(wait.getConstraints(), "=f,=f,=f,=f,=f,=f,0,1,2,3,4,5");
  EXPECT_EQ(wait.getOperands().size(), 6u);
  EXPECT_EQ(wait.getRes().getType(), Type(f32Struct(6)));

  // Each result is repacked, in order, from the wait's results: the second
  // struct's elements are the wait's elements 4 and 5.
  std::vector<int64_t> positions;
  Value packed = results[1];
  while (auto insert = packed.getDefiningOp<LLVM::InsertValueOp>()) {
    auto extract = insert.getValue().getDefiningOp<LLVM::ExtractValueOp>();
    ASSERT_TRUE(extract);
    EXPECT_EQ(extract.getContainer(), wait.getRes());
    positions.insert(positions.begin(), extract.getPosition()[0]);
    packed = insert.getContainer();
  }
  EXPECT_EQ(positions, (std::vector<int64_t>{4, 5}));
  // The wait's inputs are the callers' elements, in order.
  auto last = wait.getOperands()[5].getDefiningOp<LLVM::ExtractValueOp>();
  ASSERT_TRUE(last);
  EXPECT_EQ(last.getContainer(), entry->getArgument(1));
  EXPECT_EQ(last.getPosition()[0], 1);
}

//===----------------------------------------------------------------------===//
// ptxas -v
//===----------------------------------------------------------------------===//

TEST(PtxasLog, ResourcesAndProblems) {
  std::string log =
      "ptxas info    : 0 bytes gmem\n"
      "ptxas info    : Compiling entry function 'fwd_a' for 'sm_90a'\n"
      "ptxas info    : Function properties for fwd_a\n"
      "    0 bytes stack frame, 8 bytes spill stores, 8 bytes spill loads\n"
      "ptxas info    : Used 168 registers, used 1 barriers\n"
      "ptxas warning : (C7515) Potential Performance Loss: wgmma.mma_async "
      "instructions are serialized due to insufficient register resources "
      "for the wgmma pipeline in the function 'fwd_a'\n"
      "ptxas info    : Compiling entry function 'fwd_b' for 'sm_90a'\n"
      "ptxas info    : Function properties for fwd_b\n"
      "    16 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
      "ptxas info    : Used 90 registers, used 1 barriers, 560 bytes cmem[0]\n"
      "ptxas warning : (C7508) Potential Performance Loss: setmaxnreg "
      "ignored; unable to determine register count at entry\n";
  PtxasResult result = parsePtxasLog(log);
  EXPECT_EQ(result.log, log);
  ASSERT_EQ(result.kernels.size(), 2u);

  const KernelResources &a = result.kernels.at("fwd_a");
  EXPECT_EQ(a.registers, 168);
  EXPECT_EQ(a.spillStores, 8);
  EXPECT_EQ(a.spillLoads, 8);
  EXPECT_EQ(a.stackFrame, 0);
  const KernelResources &b = result.kernels.at("fwd_b");
  EXPECT_EQ(b.registers, 90);
  EXPECT_EQ(b.spillStores, 0);
  EXPECT_EQ(b.spillLoads, 0);
  EXPECT_EQ(b.stackFrame, 16);

  // The spills of fwd_a (named), its serialized wgmma, fwd_b's ignored
  // setmaxnreg; fwd_b's stack frame alone is no problem.
  ASSERT_EQ(result.problems.size(), 3u);
  EXPECT_EQ(result.problems[0], "fwd_a:     0 bytes stack frame, 8 bytes "
                                "spill stores, 8 bytes spill loads");
  EXPECT_NE(result.problems[1].find("(C7515)"), std::string::npos);
  EXPECT_NE(result.problems[2].find("(C7508)"), std::string::npos);
}

TEST(PtxasLog, CleanLog) {
  PtxasResult result = parsePtxasLog(
      "ptxas info    : Compiling entry function 'k' for 'sm_90a'\n"
      "ptxas info    : Function properties for k\n"
      "    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
      "ptxas info    : Used 168 registers, used 1 barriers\n");
  ASSERT_EQ(result.kernels.count("k"), 1u);
  EXPECT_EQ(result.kernels.at("k").registers, 168);
  EXPECT_TRUE(result.problems.empty());
  EXPECT_TRUE(parsePtxasLog("").kernels.empty());
}

//===----------------------------------------------------------------------===//
// Work items and launch geometry
//===----------------------------------------------------------------------===//

AttentionConfig makeConfig(int64_t cp, int64_t seq, int64_t headDim,
                           Layout layout = Layout::zigzag, bool causal = true) {
  AttentionConfig config;
  config.cp = cp;
  config.seq = seq;
  config.heads = 8;
  config.kvHeads = 2;
  config.headDim = headDim;
  config.layout = layout;
  config.causal = causal;
  return config;
}

ForwardKernelSpec makeSpec(AttentionConfig config,
                           std::vector<LocalPair> pairs, int64_t blockM = 128,
                           int64_t blockN = 128, int64_t stages = 2) {
  ForwardKernelSpec spec;
  spec.name = "k";
  spec.config = config;
  spec.pairs = std::move(pairs);
  spec.blockM = blockM;
  spec.blockN = blockN;
  spec.stages = stages;
  spec.consumers = blockM / 64;
  return spec;
}

/// Every (q chunk, tile) of `chunks` exactly once, most K/V tiles first.
void expectCoverage(const std::vector<WorkItem> &items,
                    const std::vector<int64_t> &chunks, int64_t tilesPerChunk) {
  std::set<std::pair<int64_t, int64_t>> seen;
  for (const WorkItem &item : items)
    EXPECT_TRUE(seen.insert({item.qChunk, item.qTile}).second)
        << "(" << item.qChunk << ", " << item.qTile << ") twice";
  EXPECT_EQ(items.size(), chunks.size() * tilesPerChunk);
  for (int64_t c : chunks)
    for (int64_t t = 0; t < tilesPerChunk; ++t)
      EXPECT_TRUE(seen.count({c, t})) << "(" << c << ", " << t << ") missing";
  EXPECT_TRUE(std::is_sorted(items.begin(), items.end(),
                             [](const WorkItem &x, const WorkItem &y) {
                               return x.kvTiles > y.kvTiles;
                             }));
}

/// K/V tiles by (q chunk, tile).
std::map<std::pair<int64_t, int64_t>, int64_t>
tilesOf(const std::vector<WorkItem> &items) {
  std::map<std::pair<int64_t, int64_t>, int64_t> tiles;
  for (const WorkItem &item : items)
    tiles[{item.qChunk, item.qTile}] = item.kvTiles;
  return tiles;
}

TEST(ForwardWorkItems, DiagonalTilesWithATail) {
  // cp = 1, 1000 tokens: chunks of 500, 4 query tiles of 128 (the last one
  // 116 rows). The diagonal of tile t reaches K/V tile t; the back chunk
  // also sees all 4 tiles of the front chunk.
  ForwardKernelSpec spec =
      makeSpec(makeConfig(1, 1000, 64), {{0, 0, MaskKind::diagonal},
                                         {1, 0, MaskKind::full},
                                         {1, 1, MaskKind::diagonal}});
  std::vector<WorkItem> items = forwardWorkItems(spec);
  expectCoverage(items, {0, 1}, 4);
  auto tiles = tilesOf(items);
  for (int64_t t = 0; t < 4; ++t) {
    EXPECT_EQ((tiles[{0, t}]), t + 1);
    EXPECT_EQ((tiles[{1, t}]), 4 + t + 1);
  }
  // The heaviest first: the back chunk's last tile, then down.
  EXPECT_EQ(items.front().qChunk, 1);
  EXPECT_EQ(items.front().qTile, 3);
  EXPECT_EQ(items.back().qChunk, 0);
  EXPECT_EQ(items.back().qTile, 0);
}

TEST(ForwardWorkItems, DiagonalWithSmallerQueryTiles) {
  // 64-row query tiles against 128-key tiles: two query tiles per K/V tile.
  ForwardKernelSpec spec = makeSpec(makeConfig(1, 1000, 128),
                                    {{0, 0, MaskKind::diagonal}},
                                    /*blockM=*/64, /*blockN=*/128);
  std::vector<WorkItem> items = forwardWorkItems(spec);
  expectCoverage(items, {0}, 8);
  auto tiles = tilesOf(items);
  std::vector<int64_t> expected = {1, 1, 2, 2, 3, 3, 4, 4};
  for (int64_t t = 0; t < 8; ++t)
    EXPECT_EQ((tiles[{0, t}]), expected[t]) << "tile " << t;
}

TEST(ForwardWorkItems, FinalizeOnlyChunks) {
  // The last step of a rank that computes only its back chunk: the front
  // chunk's tiles are work items too, with no K/V tile, last.
  ForwardKernelSpec spec = makeSpec(
      makeConfig(4, 32768, 128),
      {{1, 0, MaskKind::full}, {1, 1, MaskKind::full}});
  spec.finalizeOnly = {0};
  spec.epilogue = rakernel::Epilogue::merge_final;
  std::vector<WorkItem> items = forwardWorkItems(spec);
  expectCoverage(items, {0, 1}, 32);
  for (const WorkItem &item : items)
    EXPECT_EQ(item.kvTiles, item.qChunk == 1 ? 64 : 0);
  EXPECT_EQ(items[31].qChunk, 1);
  EXPECT_EQ(items[32].qChunk, 0);

  // Without finalize, a chunk with no pair has no work item.
  spec.finalizeOnly.clear();
  spec.epilogue = rakernel::Epilogue::merge;
  items = forwardWorkItems(spec);
  expectCoverage(items, {1}, 32);
}

TEST(ForwardWorkItems, ContiguousAndNonCausal) {
  // Contiguous: one chunk per rank (of 2048 tokens: 16 tiles).
  ForwardKernelSpec contiguous =
      makeSpec(makeConfig(2, 4096, 128, Layout::contiguous),
               {{0, 0, MaskKind::full}});
  std::vector<WorkItem> items = forwardWorkItems(contiguous);
  expectCoverage(items, {0}, 16);
  for (const WorkItem &item : items)
    EXPECT_EQ(item.kvTiles, 16);

  // Non-causal zigzag: every query tile sees both K/V chunks in full.
  ForwardKernelSpec full = makeSpec(
      makeConfig(2, 4096, 128, Layout::zigzag, /*causal=*/false),
      {{0, 0, MaskKind::full},
       {0, 1, MaskKind::full},
       {1, 0, MaskKind::full},
       {1, 1, MaskKind::full}});
  items = forwardWorkItems(full);
  expectCoverage(items, {0, 1}, 8);
  for (const WorkItem &item : items)
    EXPECT_EQ(item.kvTiles, 16);
}

TEST(ForwardLaunch, GridThreadsAndSharedMemory) {
  // Shared memory: Q (m rows) and `stages` K and V tiles (n rows each) of
  // head_dim 16-bit values, then 1 + 3 * stages mbarriers of 8 bytes.
  auto expectedShared = [](int64_t m, int64_t n, int64_t stages,
                           int64_t headDim) {
    return (m + 2 * stages * n) * headDim * 2 + 8 * (1 + 3 * stages);
  };
  std::vector<LocalPair> pairs = {{0, 0, MaskKind::diagonal},
                                  {1, 0, MaskKind::full},
                                  {1, 1, MaskKind::diagonal}};

  ForwardLaunch d128 = forwardLaunch(makeSpec(makeConfig(1, 4096, 128), pairs));
  EXPECT_EQ(d128.gridX, 32);
  EXPECT_EQ(d128.blockThreads, 384);
  EXPECT_EQ(d128.sharedBytes, expectedShared(128, 128, 2, 128));
  EXPECT_EQ(d128.sharedBytes, 163896);

  ForwardLaunch d64 = forwardLaunch(
      makeSpec(makeConfig(1, 1000, 64), pairs, /*blockM=*/64, /*blockN=*/64,
               /*stages=*/1));
  EXPECT_EQ(d64.gridX, 16);
  EXPECT_EQ(d64.blockThreads, 256);
  EXPECT_EQ(d64.sharedBytes, expectedShared(64, 64, 1, 64));
  EXPECT_EQ(d64.sharedBytes, 24608);

  ForwardLaunch wide = forwardLaunch(
      makeSpec(makeConfig(1, 4096, 128), pairs, /*blockM=*/192,
               /*blockN=*/64, /*stages=*/3));
  EXPECT_EQ(wide.gridX, 2 * 11);
  EXPECT_EQ(wide.blockThreads, 512);
  EXPECT_EQ(wide.sharedBytes, expectedShared(192, 64, 3, 128));
}

TEST(ForwardKernel, UnsupportedConfigurations) {
  auto unsupportedReason = [](const AttentionConfig &config) {
    std::optional<AttentionConfig::Violation> v = unsupported(config);
    return v ? v->field + ": " + v->rule : std::string();
  };
  EXPECT_EQ(unsupportedReason(makeConfig(1, 4096, 128)), "");
  AttentionConfig fp16 = makeConfig(1, 4096, 64);
  fp16.dtype = DType::fp16;
  EXPECT_EQ(unsupportedReason(fp16), "");
  EXPECT_EQ(unsupportedReason(makeConfig(1, 4096, 96)),
            "head_dim: the Hopper kernels support head_dim 64 and 128 (got 96)");
  AttentionConfig fp32 = makeConfig(1, 4096, 128);
  fp32.dtype = DType::fp32;
  EXPECT_EQ(unsupportedReason(fp32),
            "dtype: the Hopper kernels support bf16 and fp16 (got fp32)");
  // One-token chunks: LSE and Delta boxes need no row pitch.
  EXPECT_EQ(unsupportedReason(makeConfig(2, 4, 128)), "");
}

TEST(ForwardKernel, SpecFromOp) {
  MLIRContext context;
  context.loadDialect<RingAttnDialect, rakernel::RAKernelDialect>();
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(
      R"mlir(
      rakernel.forward @fin config #ringattn.config<cp = 2, seq = 1000,
          heads = 16, kv_heads = 1, head_dim = 64, dtype = bf16,
          layout = zigzag, causal = true>
        pairs [#rakernel.pair<q = 1, kv = 0, full>,
               #rakernel.pair<q = 1, kv = 1, full>]
        finalize [0] epilogue merge_final
        tile <m = 64, n = 32, stages = 3, consumers = 1>
      )mlir",
      &context);
  ASSERT_TRUE(module);
  auto op = *module->getBody()->getOps<rakernel::ForwardOp>().begin();
  ForwardKernelSpec spec = ForwardKernelSpec::fromOp(op);
  EXPECT_EQ(spec.name, "fin");
  EXPECT_EQ(spec.config.cp, 2);
  EXPECT_EQ(spec.config.headDim, 64);
  EXPECT_EQ(spec.config.kvHeads, 1);
  ASSERT_EQ(spec.pairs.size(), 2u);
  EXPECT_EQ(spec.pairs[1].q, 1);
  EXPECT_EQ(spec.pairs[1].kv, 1);
  EXPECT_EQ(spec.pairs[1].mask, MaskKind::full);
  EXPECT_EQ(spec.finalizeOnly, std::vector<int64_t>{0});
  EXPECT_EQ(spec.epilogue, rakernel::Epilogue::merge_final);
  EXPECT_TRUE(spec.readsAccumulators());
  EXPECT_TRUE(spec.writesFinal());
  EXPECT_EQ(spec.blockM, 64);
  EXPECT_EQ(spec.blockN, 32);
  EXPECT_EQ(spec.stages, 3);
  EXPECT_EQ(spec.consumers, 1);
  // Chunks of 250: 4 query tiles each; the back chunk sees 8 K/V tiles of 32
  // per K/V chunk.
  std::vector<WorkItem> items = forwardWorkItems(spec);
  expectCoverage(items, {0, 1}, 4);
  EXPECT_EQ(items.front().kvTiles, 16);
  EXPECT_EQ(items.back().kvTiles, 0);
}

} // namespace
