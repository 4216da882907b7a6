//===- KernelEmitter.h - emitting LLVM + NVVM kernel code -------*- C++ -*-===//
//
// Small helpers over an OpBuilder that emit the arith, scf, llvm and nvvm ops
// of a Hopper kernel body: constants, integer and float math, special
// registers, shared-memory pointers, mbarriers, TMA and wgmma descriptors.
// Private to lib/Target/Hopper.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_LIB_TARGET_HOPPER_KERNELEMITTER_H
#define RINGATTN_LIB_TARGET_HOPPER_KERNELEMITTER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

namespace mlir::ringattn::hopper {

/// Address spaces of NVPTX.
enum AddressSpace : unsigned {
  kGeneric = 0,
  kGlobal = 1,
  kShared = 3,
  kSharedCluster = 7
};

class KernelEmitter {
public:
  KernelEmitter(OpBuilder &builder, Location loc) : b(builder), loc(loc) {}

  OpBuilder &b;
  Location loc;

  // Types.
  Type i1Type() { return b.getI1Type(); }
  Type i32Type() { return b.getI32Type(); }
  Type i64Type() { return b.getI64Type(); }
  Type f32Type() { return b.getF32Type(); }
  Type ptrType(unsigned space) {
    return LLVM::LLVMPointerType::get(b.getContext(), space);
  }
  LLVM::LLVMStructType f32Struct(int64_t count);

  // Constants.
  Value i32(int64_t value);
  Value i64(int64_t value);
  Value f32(double value);
  Value boolean(bool value);

  // Integer math.
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value divu(Value x, Value y) { return arith::DivUIOp::create(b, loc, x, y); }
  Value remu(Value x, Value y) { return arith::RemUIOp::create(b, loc, x, y); }
  Value shl(Value x, Value y) { return arith::ShLIOp::create(b, loc, x, y); }
  Value shr(Value x, Value y) { return arith::ShRUIOp::create(b, loc, x, y); }
  Value band(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value bor(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value bxor(Value x, Value y) { return arith::XOrIOp::create(b, loc, x, y); }
  Value minu(Value x, Value y) { return arith::MinUIOp::create(b, loc, x, y); }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value eq(Value x, Value y) { return cmp(arith::CmpIPredicate::eq, x, y); }
  Value ne(Value x, Value y) { return cmp(arith::CmpIPredicate::ne, x, y); }
  Value ult(Value x, Value y) { return cmp(arith::CmpIPredicate::ult, x, y); }
  Value ugt(Value x, Value y) { return cmp(arith::CmpIPredicate::ugt, x, y); }
  Value uge(Value x, Value y) { return cmp(arith::CmpIPredicate::uge, x, y); }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }
  Value zext64(Value x) { return arith::ExtUIOp::create(b, loc, i64Type(), x); }
  Value trunc32(Value x) {
    return arith::TruncIOp::create(b, loc, i32Type(), x);
  }

  // Float math.
  Value fadd(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value fsub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value fmul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value fdiv(Value x, Value y) { return arith::DivFOp::create(b, loc, x, y); }
  Value fmax(Value x, Value y) {
    return arith::MaxNumFOp::create(b, loc, x, y);
  }
  Value fcmp(arith::CmpFPredicate p, Value x, Value y) {
    return arith::CmpFOp::create(b, loc, p, x, y);
  }
  Value fma(Value x, Value y, Value z);
  /// 2^x, ex2.approx.ftz (x = -inf gives 0).
  Value exp2(Value x);
  /// log2(x), lg2.approx.ftz.
  Value log2(Value x);

  // Special registers.
  Value threadIdX();
  Value blockIdX();
  Value blockIdY();
  Value blockIdZ();

  // Memory.
  Value gep(Value ptr, Type element, Value index);
  Value gepBytes(Value ptr, int64_t bytes);
  Value load(Type type, Value ptr);
  void store(Value value, Value ptr);
  /// Element offset (i64) of (batch, token, head, 0) in a token-major
  /// [batch, tokens, heads, headDim] tensor; batch, token, head are i64.
  Value tokenMajorOffset(Value batch, int64_t tokens, Value token,
                         int64_t heads, Value head, int64_t headDim) {
    return mul(add(mul(add(mul(batch, i64(tokens)), token), i64(heads)), head),
               i64(headDim));
  }
  /// Element offset (i64) of (batch, head, token) in [batch, heads, tokens].
  Value rowVectorOffset(Value batch, int64_t heads, Value head, int64_t tokens,
                        Value token) {
    return add(mul(add(mul(batch, i64(heads)), head), i64(tokens)), token);
  }
  /// For each of a thread's two accumulator rows (firstRow, firstRow + 8,
  /// within a chunk of `chunk` tokens) that lies inside the chunk:
  /// body(half, token) inside an scf.if, token (i64) the row's index among
  /// the rank's tokens (chunkIndex * chunk + row).
  void forEachRowInChunk(
      Value firstRow, Value chunkIndex, int64_t chunk,
      llvm::function_ref<void(int64_t half, Value token)> body);
  /// The 32-bit shared-window address of a shared pointer.
  Value sharedAddress(Value sharedPtr);

  // Warp-level.
  /// Butterfly shuffle of an f32 across the full warp.
  Value shuffleXor(Value value, int64_t laneMask);
  /// One lane of the executing warp (elect.sync).
  Value electOne();

  // Synchronization.
  void barrierAll();
  void mbarrierInit(Value bar, int64_t count);
  void mbarrierArriveExpectTx(Value bar, int64_t bytes);
  void mbarrierArrive(Value bar);
  void mbarrierWait(Value bar, Value phase);

  // TMA and wgmma.
  void tmaLoad(Value dst, Value descriptor, ArrayRef<Value> coordinates,
               Value bar);
  /// Adds the box at `src` (shared memory, in the map's swizzled layout) to
  /// the global tensor at `coordinates`, element-wise in the L2
  /// (cp.reduce.async.bulk.tensor .add, in this thread's bulk group).
  void tmaReduceAdd(Value src, Value descriptor, ArrayRef<Value> coordinates);
  /// Closes this thread's bulk group (cp.async.bulk.commit_group).
  void bulkCommitGroup();
  /// Waits until at most `pending` of this thread's bulk groups are still
  /// reading their shared-memory sources (`readOnly`) or still running.
  void bulkWaitGroup(int64_t pending, bool readOnly);
  /// A wgmma shared-memory matrix descriptor with 128-byte swizzling.
  Value wgmmaDescriptor(Value sharedAddr32, int64_t leadingByteOffset,
                        int64_t strideByteOffset);
  /// `descriptor` advanced by `bytes` (a multiple of 16).
  Value advanceDescriptor(Value descriptor, int64_t bytes);

  // Kernel scaffolding.
  /// The dynamic shared memory (declared once per gpu.module, 1024-aligned).
  /// With freshSharedAddress, each call materializes the address anew, so
  /// kernels take it at each use (sharedAt, stageAt) rather than once.
  Value dynamicSharedMemory();
  /// Whether dynamicSharedMemory() gives a fresh copy of the address per
  /// call. The head_dim-128 forward gains from it (H200, 2026-12-03: causal
  /// 32k forward 1.073 -> 1.095x cuDNN, non-causal 16k 1.072 -> 1.083); the
  /// backward kernels lose (causal 16k forward+backward 1.051 -> 1.026), so
  /// they keep one value.
  bool freshSharedAddress = false;
  /// The dynamic shared memory at byte `offset`.
  Value sharedAt(int64_t offset) {
    return gepBytes(dynamicSharedMemory(), offset);
  }
  /// Per-stage shared memory: byte `base` + `stage` * `stride`.
  Value stageAt(int64_t base, Value stage, int64_t stride) {
    return gep(sharedAt(base), b.getI8Type(), mul(stage, i32(stride)));
  }
  /// A constant i32 table in global memory.
  LLVM::GlobalOp declareI32Table(StringRef name, ArrayRef<int32_t> values);
  /// A kernel taking `tensorMaps` CUtensorMaps by value (128 bytes, 64-byte
  /// aligned, grid constants), then `pointers` global pointers, launched with
  /// `threads` threads (a register cap at entry, so setmaxnreg is honoured).
  LLVM::LLVMFuncOp declareKernel(StringRef name, unsigned tensorMaps,
                                 unsigned pointers, int64_t threads);
  /// setmaxnreg, executed by a whole warpgroup.
  void setMaxRegisters(int64_t count, bool increase);
  /// The warp-specialized split of every Hopper kernel here: warpgroup 0
  /// produces with its registers lowered to `producerRegisters`, the others
  /// consume with theirs raised to `consumerRegisters` (setmaxnreg runs in
  /// every thread of a warpgroup: one branch per role).
  void splitRoles(Value warpgroup, int64_t producerRegisters,
                  int64_t consumerRegisters, llvm::function_ref<void()> producer,
                  llvm::function_ref<void()> consumer);
  /// `bar.sync id, threads`: a named barrier among `threads` threads.
  void namedBarrier(Value id, int64_t threads);
  /// `bar.arrive id, threads`: counts this thread in without waiting.
  void namedBarrierArrive(Value id, int64_t threads);
  /// Orders this thread's shared-memory stores before later async-proxy
  /// (wgmma, TMA) reads of them.
  void fenceProxyAsyncShared();
  /// Atomic fp32 add to global memory (red.global.add.f32).
  void atomicAddF32(Value ptr, Value value);
  /// Atomic add of two adjacent fp32 values to global memory, 8-byte
  /// aligned (red.global.add.v2.f32).
  void atomicAddF32x2(Value ptr, Value first, Value second);

  /// A tiled CTA's work item (loaded from `table`, one per grid row) and
  /// head: the grid runs `heads` along x and the table's items along y;
  /// consecutive CTAs (x fastest) take the heads of one section of
  /// `section` heads, item by item, then the next section's (see
  /// TileShape::headSection). One section is the grid's own order.
  std::pair<Value, Value> sectionedWorkItem(LLVM::GlobalOp table,
                                            int64_t heads, int64_t section);

  // wgmma.
  void wgmmaFence();
  void wgmmaCommit();
  /// One wgmma m64nNk16 with both operands in shared memory: `acc` (an f32
  /// struct of N/2) plus A (descA) times B (descB). `overwrite` ignores acc
  /// (scale-d 0); `transposeA`/`transposeB` read an MN-major operand.
  Value wgmmaShared(Value acc, Value descA, Value descB, int64_t n,
                    bool bf16, bool overwrite, bool transposeA,
                    bool transposeB);
  /// `acc` = A B^T over the head dimension, both operands K-major and
  /// 128B-swizzled in 64-column boxes of `aRows` and `bRows` rows: a wgmma
  /// m64nNk16 per 16 columns, the first overwriting (neither fenced nor
  /// committed here).
  Value wgmmaOverHeadDim(Value acc, Value descA, int64_t aRows, Value descB,
                         int64_t bRows, int64_t n, int64_t headDim, bool bf16);
  /// Two f32 values as one register of 16-bit pairs (bf16 or f16).
  Value packHalves(Value lo, Value hi, bool bf16);
  /// packHalves over consecutive pairs of `values` (an even count).
  SmallVector<Value> packPairs(ArrayRef<Value> values, bool bf16);

  // Structs.
  Value zeros(LLVM::LLVMStructType type);
  Value extract(Value s, int64_t index) {
    return LLVM::ExtractValueOp::create(b, loc, s, index);
  }
  Value pack(LLVM::LLVMStructType type, ArrayRef<Value> values);
  SmallVector<Value> unpack(Value s);
};

} // namespace mlir::ringattn::hopper

#endif // RINGATTN_LIB_TARGET_HOPPER_KERNELEMITTER_H
