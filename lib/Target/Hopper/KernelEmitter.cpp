//===- KernelEmitter.cpp - emitting LLVM + NVVM kernel code ----------------===//

#include "KernelEmitter.h"

using namespace mlir;
using namespace mlir::ringattn::hopper;

LLVM::LLVMStructType KernelEmitter::f32Struct(int64_t count) {
  SmallVector<Type> elements(count, f32Type());
  return LLVM::LLVMStructType::getLiteral(b.getContext(), elements);
}

Value KernelEmitter::i32(int64_t value) {
  return arith::ConstantIntOp::create(b, loc, value, 32);
}
Value KernelEmitter::i64(int64_t value) {
  return arith::ConstantIntOp::create(b, loc, value, 64);
}
Value KernelEmitter::f32(double value) {
  return arith::ConstantFloatOp::create(b, loc, b.getF32Type(),
                                        llvm::APFloat(static_cast<float>(value)));
}
Value KernelEmitter::boolean(bool value) {
  return arith::ConstantIntOp::create(b, loc, value ? 1 : 0, 1);
}

Value KernelEmitter::fma(Value x, Value y, Value z) {
  return LLVM::FMAOp::create(b, loc, x, y, z);
}
Value KernelEmitter::exp2(Value x) {
  return LLVM::CallIntrinsicOp::create(b, loc, f32Type(),
                                       b.getStringAttr("llvm.nvvm.ex2.approx.ftz.f"),
                                       ValueRange{x})
      .getResult(0);
}
Value KernelEmitter::log2(Value x) {
  return LLVM::CallIntrinsicOp::create(b, loc, f32Type(),
                                       b.getStringAttr("llvm.nvvm.lg2.approx.ftz.f"),
                                       ValueRange{x})
      .getResult(0);
}

Value KernelEmitter::threadIdX() {
  return NVVM::ThreadIdXOp::create(b, loc, i32Type());
}
Value KernelEmitter::blockIdX() {
  return NVVM::BlockIdXOp::create(b, loc, i32Type());
}
Value KernelEmitter::blockIdY() {
  return NVVM::BlockIdYOp::create(b, loc, i32Type());
}
Value KernelEmitter::blockIdZ() {
  return NVVM::BlockIdZOp::create(b, loc, i32Type());
}

Value KernelEmitter::gep(Value ptr, Type element, Value index) {
  return LLVM::GEPOp::create(b, loc, ptr.getType(), element, ptr,
                             ValueRange{index});
}
Value KernelEmitter::gepBytes(Value ptr, int64_t bytes) {
  if (bytes == 0)
    return ptr;
  return gep(ptr, b.getI8Type(), i32(bytes));
}
Value KernelEmitter::load(Type type, Value ptr) {
  return LLVM::LoadOp::create(b, loc, type, ptr);
}
void KernelEmitter::store(Value value, Value ptr) {
  LLVM::StoreOp::create(b, loc, value, ptr);
}
Value KernelEmitter::sharedAddress(Value sharedPtr) {
  return LLVM::PtrToIntOp::create(b, loc, i32Type(), sharedPtr);
}

Value KernelEmitter::shuffleXor(Value value, int64_t laneMask) {
  return NVVM::ShflOp::create(b, loc, value.getType(), i32(-1), value,
                              i32(laneMask), i32(0x1f), NVVM::ShflKind::bfly,
                              UnitAttr());
}
Value KernelEmitter::electOne() {
  return NVVM::ElectSyncOp::create(b, loc, i1Type(), Value());
}

void KernelEmitter::barrierAll() { NVVM::Barrier0Op::create(b, loc); }
void KernelEmitter::mbarrierInit(Value bar, int64_t count) {
  NVVM::MBarrierInitOp::create(b, loc, bar, i32(count), Value());
}
void KernelEmitter::mbarrierArriveExpectTx(Value bar, int64_t bytes) {
  NVVM::MBarrierArriveExpectTxOp::create(
      b, loc, Type(), bar, i32(bytes),
      NVVM::MemScopeKindAttr::get(b.getContext(), NVVM::MemScopeKind::CTA),
      b.getBoolAttr(false), Value());
}
void KernelEmitter::mbarrierArrive(Value bar) {
  NVVM::MBarrierArriveOp::create(
      b, loc, Type(), bar, Value(),
      NVVM::MemScopeKindAttr::get(b.getContext(), NVVM::MemScopeKind::CTA));
}
void KernelEmitter::mbarrierWait(Value bar, Value phase) {
  // ticks: a suspend-time hint; the op loops until the phase completes.
  NVVM::MBarrierTryWaitParityOp::create(b, loc, bar, phase, i32(0x989680));
}

void KernelEmitter::tmaLoad(Value dst, Value descriptor,
                            ArrayRef<Value> coordinates, Value bar) {
  // The destination is named in the shared::cluster window (a CTA is a
  // cluster of one).
  Value clusterDst =
      LLVM::AddrSpaceCastOp::create(b, loc, ptrType(kSharedCluster), dst);
  NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
      b, loc, clusterDst, descriptor, coordinates, bar, ValueRange{}, Value(),
      Value(), NVVM::TMALoadModeAttr::get(b.getContext(), NVVM::TMALoadMode::TILE),
      b.getBoolAttr(false), NVVM::CTAGroupKindAttr(), Value());
}

Value KernelEmitter::wgmmaDescriptor(Value sharedAddr32, int64_t leadingByteOffset,
                                     int64_t strideByteOffset) {
  // Bits 0-13: address >> 4; 16-29: LBO >> 4; 32-45: SBO >> 4; 62-63: swizzle
  // mode (1 = 128B).
  Value addr = zext64(band(shr(sharedAddr32, i32(4)), i32(0x3FFF)));
  int64_t fixed = (((leadingByteOffset >> 4) & 0x3FFF) << 16) |
                  (((strideByteOffset >> 4) & 0x3FFF) << 32) | (1LL << 62);
  return bor(addr, i64(fixed));
}

Value KernelEmitter::advanceDescriptor(Value descriptor, int64_t bytes) {
  if (bytes == 0)
    return descriptor;
  return add(descriptor, i64(bytes >> 4));
}

Value KernelEmitter::zeros(LLVM::LLVMStructType type) {
  Value zero = f32(0.0);
  SmallVector<Value> values(type.getBody().size(), zero);
  return pack(type, values);
}

Value KernelEmitter::pack(LLVM::LLVMStructType type, ArrayRef<Value> values) {
  Value s = LLVM::UndefOp::create(b, loc, type);
  for (auto [i, v] : llvm::enumerate(values))
    s = LLVM::InsertValueOp::create(b, loc, s, v, i);
  return s;
}

SmallVector<Value> KernelEmitter::unpack(Value s) {
  auto type = cast<LLVM::LLVMStructType>(s.getType());
  SmallVector<Value> values;
  for (int64_t i = 0, e = type.getBody().size(); i < e; ++i)
    values.push_back(extract(s, i));
  return values;
}
