//===- ScheduleModel.cpp - flattening a schedule ---------------------------===//
//
// Builds the per-rank instruction lists of a ringattn.schedule.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Dialect/RingAttn/Analysis/ScheduleModel.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::ringattn;

std::string BufferId::str() const {
  return (stringifyBufferKind(kind) + "[" + llvm::Twine(slot) + "]").str();
}

std::string Instr::str() const {
  std::string out;
  llvm::raw_string_ostream os(out);
  switch (kind) {
  case InstrKind::Send:
    os << "send " << buffer.str() << " to " << peer << " (hop " << hop << ")";
    break;
  case InstrKind::Recv:
    os << "recv " << buffer.str() << " from " << peer << " (hop " << hop << ")";
    break;
  case InstrKind::Wait:
    os << "wait";
    break;
  case InstrKind::Compute:
    os << "compute step " << step << " kv(" << buffer.str() << ")";
    if (buffer2)
      os << " dkv(" << buffer2->str() << ")";
    break;
  case InstrKind::Combine:
    os << "combine step " << step;
    break;
  case InstrKind::Accumulate:
    os << "accumulate " << buffer.str() << " into " << buffer2->str();
    break;
  case InstrKind::Finalize:
    os << "finalize";
    break;
  }
  return out;
}

ScheduleModel mlir::ringattn::buildScheduleModel(ScheduleOp op) {
  ScheduleModel model;
  model.name = op.getSymName().str();
  model.direction = op.getDirection();
  model.config = op.getAttentionConfig();
  model.op = op;
  for (RankOp rankOp : op.getRanks()) {
    RankProgram &program = model.ranks.emplace_back();
    program.rank = rankOp.getRank();
    llvm::DenseMap<Value, unsigned> transferIds;
    for (Operation &nested : rankOp.getBody().front()) {
      Instr instr{InstrKind::Wait};
      instr.op = &nested;
      llvm::TypeSwitch<Operation *>(&nested)
          .Case([&](SendOp send) {
            instr.kind = InstrKind::Send;
            instr.buffer = BufferId::of(send.getBuffer());
            instr.peer = send.getPeer();
            instr.hop = send.getHop();
          })
          .Case([&](RecvOp recv) {
            instr.kind = InstrKind::Recv;
            instr.buffer = BufferId::of(recv.getBuffer());
            instr.peer = recv.getPeer();
            instr.hop = recv.getHop();
          })
          .Case([&](WaitOp wait) {
            instr.kind = InstrKind::Wait;
            for (Value transfer : wait.getTransfers())
              instr.waits.push_back(transferIds.lookup(transfer));
          })
          .Case([&](ComputeOp compute) {
            instr.kind = InstrKind::Compute;
            instr.step = compute.getStep();
            instr.buffer = BufferId::of(compute.getKv());
            if (auto dkv = compute.getDkv())
              instr.buffer2 = BufferId::of(*dkv);
            instr.fusedCombine = compute.getCombine();
            if (auto kernel = compute.getKernel())
              instr.kernel = kernel->str();
            if (auto dqKernel = compute.getDqKernel())
              instr.dqKernel = dqKernel->str();
            for (PairOp pair : compute.getPairs()) {
              instr.pairs.push_back({static_cast<int64_t>(pair.getQ()),
                                     static_cast<int64_t>(pair.getKv()),
                                     pair.getMask()});
              instr.pairOps.push_back(pair);
            }
          })
          .Case([&](CombineOp combine) {
            instr.kind = InstrKind::Combine;
            instr.step = combine.getStep();
          })
          .Case([&](AccumulateOp accumulate) {
            instr.kind = InstrKind::Accumulate;
            instr.buffer = BufferId::of(accumulate.getSrc());
            instr.buffer2 = BufferId::of(accumulate.getDst());
          })
          .Case([&](FinalizeOp finalize) {
            instr.kind = InstrKind::Finalize;
            if (auto dkv = finalize.getDkv())
              instr.buffer = BufferId::of(*dkv);
          });
      if (instr.isPost()) {
        instr.transfer = program.transfers.size();
        transferIds[nested.getResult(0)] = instr.transfer;
        program.transfers.push_back(program.instrs.size());
      }
      program.instrs.push_back(std::move(instr));
    }
  }
  return model;
}

std::vector<std::vector<double>>
mlir::ringattn::workPerRankAndStep(const ScheduleModel &model) {
  std::vector<std::vector<double>> work(
      model.ranks.size(), std::vector<double>(model.config.cp, 0.0));
  for (const RankProgram &program : model.ranks)
    for (const Instr &instr : program.instrs)
      if (instr.kind == InstrKind::Compute)
        for (const ChunkPair &pair : instr.pairs)
          work[program.rank][instr.step] += pairWork(pair.mask);
  return work;
}
