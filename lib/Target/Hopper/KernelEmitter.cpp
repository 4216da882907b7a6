//===- KernelEmitter.cpp - emitting LLVM + NVVM kernel code ----------------===//

#include "KernelEmitter.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

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

void KernelEmitter::forEachRowInChunk(
    Value firstRow, Value chunkIndex, int64_t chunk,
    llvm::function_ref<void(int64_t half, Value token)> body) {
  for (int64_t h = 0; h < 2; ++h) {
    Value row = add(firstRow, i32(8 * h));
    auto valid = scf::IfOp::create(b, loc, ult(row, i32(chunk)));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&valid.getThenRegion().front());
    body(h, zext64(add(mul(chunkIndex, i32(chunk)), row)));
  }
}

void KernelEmitter::tmaReduceAdd(Value src, Value descriptor,
                                 ArrayRef<Value> coordinates) {
  MLIRContext *context = b.getContext();
  NVVM::CpAsyncBulkTensorReduceOp::create(
      b, loc, descriptor, src,
      NVVM::TMAReduxKindAttr::get(context, NVVM::TMAReduxKind::ADD),
      NVVM::TMAStoreModeAttr::get(context, NVVM::TMAStoreMode::TILE),
      coordinates, Value());
}

void KernelEmitter::bulkCommitGroup() {
  NVVM::CpAsyncBulkCommitGroupOp::create(b, loc);
}

void KernelEmitter::bulkWaitGroup(int64_t pending, bool readOnly) {
  NVVM::CpAsyncBulkWaitGroupOp::create(
      b, loc, b.getI32IntegerAttr(pending),
      readOnly ? b.getUnitAttr() : UnitAttr());
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

namespace {
constexpr const char *kSharedMemoryName = "ringattn_shared";
} // namespace

Value KernelEmitter::dynamicSharedMemory() {
  Operation *module = b.getInsertionBlock()->getParentOp();
  while (module && !module->hasTrait<OpTrait::SymbolTable>())
    module = module->getParentOp();
  if (!SymbolTable::lookupSymbolIn(module, kSharedMemoryName)) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&module->getRegion(0).front());
    LLVM::GlobalOp::create(b, loc, LLVM::LLVMArrayType::get(b.getI8Type(), 0),
                           /*isConstant=*/false, LLVM::Linkage::External,
                           kSharedMemoryName, Attribute(), /*alignment=*/1024,
                           kShared);
  }
  Value symbol =
      LLVM::AddressOfOp::create(b, loc, ptrType(kShared), kSharedMemoryName);
  if (!freshSharedAddress)
    return symbol;
  // LLVM folds every use of the symbol into one long-lived register; once a
  // kernel keeps enough uniform values live, ptxas holds that register, and
  // the wgmma descriptors built from it, in vector registers and moves each
  // descriptor over (R2UR) before its HGMMA. An asm statement at each use
  // gives ptxas a fresh constant to place instead; its side effect keeps LLVM
  // from merging or hoisting the copies. The symbol goes in as an operand
  // the asm does not read: without a use in the IR, LLVM would drop the
  // declaration.
  auto address = LLVM::InlineAsmOp::create(
      b, loc, TypeRange{i64Type()}, ValueRange{symbol},
      (Twine("mov.b64 $0, ") + kSharedMemoryName + ";").str(), "=l,l",
      /*has_side_effects=*/true, /*is_align_stack=*/false,
      LLVM::tailcallkind::TailCallKind::None, LLVM::AsmDialectAttr{},
      ArrayAttr{});
  return LLVM::IntToPtrOp::create(b, loc, ptrType(kShared),
                                  address.getResult(0));
}

LLVM::GlobalOp KernelEmitter::declareI32Table(StringRef name,
                                              ArrayRef<int32_t> values) {
  auto tensorType =
      RankedTensorType::get({static_cast<int64_t>(values.size())}, i32Type());
  auto arrayType = LLVM::LLVMArrayType::get(i32Type(), values.size());
  return LLVM::GlobalOp::create(b, loc, arrayType, /*isConstant=*/true,
                                LLVM::Linkage::Internal, name,
                                DenseElementsAttr::get(tensorType, values),
                                /*alignment=*/4, kGlobal);
}

LLVM::LLVMFuncOp KernelEmitter::declareKernel(StringRef name,
                                              unsigned tensorMaps,
                                              unsigned pointers,
                                              int64_t threads) {
  MLIRContext *context = b.getContext();
  SmallVector<Type> params(tensorMaps, ptrType(kGeneric));
  params.append(pointers, ptrType(kGlobal));
  auto type = LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(context),
                                          params);
  auto func = LLVM::LLVMFuncOp::create(b, loc, name, type);
  func->setAttr("gpu.kernel", UnitAttr::get(context));
  func->setAttr("nvvm.kernel", UnitAttr::get(context));
  func->setAttr("nvvm.reqntid",
                DenseI32ArrayAttr::get(context, {(int32_t)threads, 1, 1}));
  // A register cap at entry, without which ptxas ignores setmaxnreg.
  func->setAttr("nvvm.minctasm", b.getI32IntegerAttr(1));
  auto tensorMap = LLVM::LLVMArrayType::get(b.getI8Type(), 128);
  for (unsigned i = 0; i < tensorMaps; ++i) {
    func.setArgAttr(i, "llvm.byval", TypeAttr::get(tensorMap));
    func.setArgAttr(i, "llvm.align", b.getI64IntegerAttr(64));
    func.setArgAttr(i, "nvvm.grid_constant", UnitAttr::get(context));
  }
  for (unsigned i = tensorMaps; i < tensorMaps + pointers; ++i)
    func.setArgAttr(i, "llvm.noalias", UnitAttr::get(context));
  return func;
}

void KernelEmitter::setMaxRegisters(int64_t count, bool increase) {
  NVVM::SetMaxRegisterOp::create(
      b, loc, b.getI32IntegerAttr(count),
      NVVM::SetMaxRegisterActionAttr::get(
          b.getContext(), increase ? NVVM::SetMaxRegisterAction::increase
                                   : NVVM::SetMaxRegisterAction::decrease));
}

void KernelEmitter::splitRoles(Value warpgroup, int64_t producerRegisters,
                               int64_t consumerRegisters,
                               llvm::function_ref<void()> producer,
                               llvm::function_ref<void()> consumer) {
  auto roles = scf::IfOp::create(b, loc, eq(warpgroup, i32(0)),
                                 /*withElse=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&roles.getThenRegion().front());
  setMaxRegisters(producerRegisters, /*increase=*/false);
  producer();
  b.setInsertionPointToStart(&roles.getElseRegion().front());
  setMaxRegisters(consumerRegisters, /*increase=*/true);
  consumer();
}

void KernelEmitter::namedBarrier(Value id, int64_t threads) {
  NVVM::BarrierOp::create(b, loc, TypeRange{}, id, i32(threads),
                          NVVM::BarrierReductionAttr(), Value());
}

void KernelEmitter::namedBarrierArrive(Value id, int64_t threads) {
  NVVM::BarrierArriveOp::create(b, loc, id, i32(threads));
}

void KernelEmitter::fenceProxyAsyncShared() {
  NVVM::FenceProxyOp::create(
      b, loc, NVVM::ProxyKindAttr::get(b.getContext(), NVVM::ProxyKind::async_shared),
      NVVM::SharedSpaceAttr::get(b.getContext(), NVVM::SharedSpace::shared_cta));
}

void KernelEmitter::atomicAddF32(Value ptr, Value value) {
  LLVM::AtomicRMWOp::create(b, loc, LLVM::AtomicBinOp::fadd, ptr, value,
                            LLVM::AtomicOrdering::monotonic);
}

std::pair<Value, Value> KernelEmitter::sectionedWorkItem(LLVM::GlobalOp table,
                                                        int64_t heads,
                                                        int64_t section) {
  int64_t items =
      cast<LLVM::LLVMArrayType>(table.getGlobalType()).getNumElements();
  Value tableAddress = LLVM::AddressOfOp::create(b, loc, table);
  // One op per statement: argument evaluation order is unspecified in C++,
  // and the PTX should not depend on the host compiler.
  Value y = blockIdY();
  Value x = blockIdX();
  Value index = y, head = x;
  if (section < heads) {
    Value linear = add(mul(y, i32(heads)), x);
    Value perSection = i32(section * items);
    Value sectionIndex = divu(linear, perSection);
    Value first = mul(sectionIndex, i32(section));
    Value inSection = remu(linear, perSection);
    Value width = i32(section);
    index = divu(inSection, width);
    Value inHeads = remu(inSection, width);
    head = add(first, inHeads);
  }
  Value item = load(i32Type(), gep(tableAddress, i32Type(), index));
  return {item, head};
}

void KernelEmitter::atomicAddF32x2(Value ptr, Value first, Value second) {
  // No LLVM atomicrmw form lowers to the vector red: inline PTX on the
  // pointer cast to the global space.
  Value global =
      LLVM::AddrSpaceCastOp::create(b, loc, ptrType(kGlobal), ptr);
  LLVM::InlineAsmOp::create(
      b, loc, TypeRange{}, ValueRange{global, first, second},
      "red.global.add.v2.f32 [$0], {$1, $2};", "l,f,f",
      /*has_side_effects=*/true, /*is_align_stack=*/false,
      LLVM::tailcallkind::TailCallKind::None, LLVM::AsmDialectAttr{},
      ArrayAttr{});
}

void KernelEmitter::wgmmaFence() { NVVM::WgmmaFenceAlignedOp::create(b, loc); }
void KernelEmitter::wgmmaCommit() {
  NVVM::WgmmaGroupSyncAlignedOp::create(b, loc);
}

Value KernelEmitter::wgmmaOverHeadDim(Value acc, Value descA, int64_t aRows,
                                      Value descB, int64_t bRows, int64_t n,
                                      int64_t headDim, bool bf16) {
  for (int64_t kk = 0; kk < headDim / 16; ++kk) {
    // 32 bytes a k16 step within a box, the boxes rows * 128 bytes apart.
    int64_t box = kk / 4, inBox = (kk % 4) * 32;
    Value a = advanceDescriptor(descA, box * aRows * 128 + inBox);
    Value b = advanceDescriptor(descB, box * bRows * 128 + inBox);
    acc = wgmmaShared(acc, a, b, n, bf16, /*overwrite=*/kk == 0,
                      /*transposeA=*/false, /*transposeB=*/false);
  }
  return acc;
}

Value KernelEmitter::wgmmaShared(Value acc, Value descA, Value descB, int64_t n,
                                 bool bf16, bool overwrite, bool transposeA,
                                 bool transposeB) {
  MLIRContext *context = b.getContext();
  auto input = bf16 ? NVVM::WGMMATypes::bf16 : NVVM::WGMMATypes::f16;
  // K-major A is "row", K-major B is "col"; the other layout transposes.
  return NVVM::WgmmaMmaAsyncOp::create(
      b, loc, acc.getType(), acc, descA, descB,
      NVVM::MMAShapeAttr::get(context, 64, n, 16),
      NVVM::WGMMATypesAttr::get(context, input),
      NVVM::WGMMATypesAttr::get(context, input),
      NVVM::WGMMATypesAttr::get(context, NVVM::WGMMATypes::f32),
      NVVM::WGMMAScaleOutAttr::get(context, overwrite
                                                ? NVVM::WGMMAScaleOut::zero
                                                : NVVM::WGMMAScaleOut::one),
      NVVM::WGMMAScaleInAttr::get(context, NVVM::WGMMAScaleIn::one),
      NVVM::WGMMAScaleInAttr::get(context, NVVM::WGMMAScaleIn::one),
      NVVM::MMALayoutAttr::get(context, transposeA ? NVVM::MMALayout::col
                                                   : NVVM::MMALayout::row),
      NVVM::MMALayoutAttr::get(context, transposeB ? NVVM::MMALayout::row
                                                   : NVVM::MMALayout::col),
      NVVM::MMAIntOverflowAttr());
}

Value KernelEmitter::packHalves(Value lo, Value hi, bool bf16) {
  Type half = bf16 ? Type(b.getBF16Type()) : Type(b.getF16Type());
  auto pairType = VectorType::get({2}, f32Type());
  Value pair = LLVM::UndefOp::create(b, loc, pairType);
  pair = LLVM::InsertElementOp::create(b, loc, pair, lo, i32(0));
  pair = LLVM::InsertElementOp::create(b, loc, pair, hi, i32(1));
  Value halves =
      LLVM::FPTruncOp::create(b, loc, VectorType::get({2}, half), pair);
  return LLVM::BitcastOp::create(b, loc, i32Type(), halves);
}

SmallVector<Value> KernelEmitter::packPairs(ArrayRef<Value> values,
                                            bool bf16) {
  assert(values.size() % 2 == 0 && "packing an odd count of halves");
  SmallVector<Value> packed;
  for (size_t i = 0; i < values.size(); i += 2)
    packed.push_back(packHalves(values[i], values[i + 1], bf16));
  return packed;
}
