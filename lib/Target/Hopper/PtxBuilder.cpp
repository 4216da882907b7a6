//===- PtxBuilder.cpp - the project's inline PTX ---------------------------===//

#include "ringattn/Target/Hopper/PtxBuilder.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::ringattn::hopper;

/// "=f,...,=f,0,1,...": `count` f32 outputs, each tied to an input.
static std::string tiedF32Constraints(int64_t count) {
  std::string out;
  for (int64_t i = 0; i < count; ++i)
    out += (i ? ",=f" : "=f");
  for (int64_t i = 0; i < count; ++i)
    out += "," + std::to_string(i);
  return out;
}

PtxAsm mlir::ringattn::hopper::wgmmaRegisterAAsm(int64_t n, MmaInputType type,
                                                 bool transposeB) {
  int64_t acc = n / 2;
  std::string typeName = type == MmaInputType::bf16 ? "bf16" : "f16";
  std::string text;
  llvm::raw_string_ostream os(text);
  // Operand numbering: outputs $0..$acc-1, tied inputs $acc..$2acc-1, then
  // the A registers, the B descriptor and scale-d.
  int64_t a = 2 * acc, desc = a + 4, scale = desc + 1;
  os << "{\n.reg .pred p;\nsetp.ne.b32 p, $" << scale << ", 0;\n"
     << "wgmma.mma_async.sync.aligned.m64n" << n << "k16.f32." << typeName
     << "." << typeName << " {";
  for (int64_t i = 0; i < acc; ++i)
    os << (i ? ", $" : "$") << i;
  os << "}, {$" << a << ", $" << a + 1 << ", $" << a + 2 << ", $" << a + 3
     << "}, $" << desc << ", p, 1, 1, " << (transposeB ? 1 : 0) << ";\n}";
  return {text, tiedF32Constraints(acc) + ",r,r,r,r,l,r"};
}

PtxAsm mlir::ringattn::hopper::wgmmaWaitTiedAsm(int64_t pending,
                                                int64_t count) {
  return {"wgmma.wait_group.sync.aligned " + std::to_string(pending) + ";",
          tiedF32Constraints(count)};
}

/// Splits LLVM structs of f32 into their elements.
static SmallVector<Value> unpack(OpBuilder &builder, Location loc,
                                 ArrayRef<Value> structs) {
  SmallVector<Value> values;
  for (Value s : structs) {
    auto type = cast<LLVM::LLVMStructType>(s.getType());
    for (int64_t i = 0, e = type.getBody().size(); i < e; ++i)
      values.push_back(LLVM::ExtractValueOp::create(builder, loc, s, i));
  }
  return values;
}

Value mlir::ringattn::hopper::createWgmmaRegisterA(
    OpBuilder &builder, Location loc, Value accumulators,
    ArrayRef<Value> aRegisters, Value bDescriptor, Value scaleD, int64_t n,
    MmaInputType type, bool transposeB) {
  assert(aRegisters.size() == 4 && "wgmma m64k16 takes 4 A registers");
  PtxAsm asmText = wgmmaRegisterAAsm(n, type, transposeB);
  SmallVector<Value> operands = unpack(builder, loc, accumulators);
  llvm::append_range(operands, aRegisters);
  operands.push_back(bDescriptor);
  operands.push_back(scaleD);
  auto op = LLVM::InlineAsmOp::create(
      builder, loc, accumulators.getType(), operands, asmText.text,
      asmText.constraints, /*has_side_effects=*/true, /*is_align_stack=*/false,
      LLVM::tailcallkind::TailCallKind::None, LLVM::AsmDialectAttr{}, ArrayAttr{});
  return op.getResult(0);
}

SmallVector<Value>
mlir::ringattn::hopper::createWgmmaWaitTied(OpBuilder &builder, Location loc,
                                            int64_t pending,
                                            ArrayRef<Value> accumulators) {
  SmallVector<Value> values = unpack(builder, loc, accumulators);
  PtxAsm asmText = wgmmaWaitTiedAsm(pending, values.size());
  SmallVector<Type> elements(values.size(), builder.getF32Type());
  auto resultType = LLVM::LLVMStructType::getLiteral(builder.getContext(),
                                                     elements);
  auto op = LLVM::InlineAsmOp::create(
      builder, loc, resultType, values, asmText.text, asmText.constraints,
      /*has_side_effects=*/true, /*is_align_stack=*/false,
      LLVM::tailcallkind::TailCallKind::None, LLVM::AsmDialectAttr{}, ArrayAttr{});
  // Repack into the callers' struct types, in order.
  SmallVector<Value> results;
  int64_t next = 0;
  for (Value s : accumulators) {
    auto type = cast<LLVM::LLVMStructType>(s.getType());
    Value packed = LLVM::UndefOp::create(builder, loc, type);
    for (int64_t i = 0, e = type.getBody().size(); i < e; ++i) {
      Value v = LLVM::ExtractValueOp::create(builder, loc, op.getResult(0),
                                             next++);
      packed = LLVM::InsertValueOp::create(builder, loc, packed, v, i);
    }
    results.push_back(packed);
  }
  return results;
}
