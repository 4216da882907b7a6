//===- Manifest.cpp - rendering manifest.json -----------------------------===//
//
// Renders the manifest of a generated package from the ScheduleModels of the
// forward and backward schedules: the configuration and layout, per rank and
// step the chunk pairs and buffers, the work report, each rank's program, the
// transfer volumes and the buffer sizes. nlohmann/json needs exceptions; this
// file is compiled with them and keeps the library out of the header.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Gen/Manifest.h"
#include "ringattn/Dialect/RingAttn/Analysis/ScheduleChecker.h"

#include "llvm/Support/MathExtras.h"

#include <nlohmann/json.hpp>

#include <cassert>
#include <set>

using namespace mlir;
using namespace mlir::ringattn;

using Json = nlohmann::ordered_json;

namespace {

constexpr int64_t kFloat32Bytes = 4;

int64_t outputAccumulatorBytes(const AttentionConfig &config) {
  return localLength(config) * config.heads * config.headDim * kFloat32Bytes;
}

int64_t lseAccumulatorBytes(const AttentionConfig &config) {
  return localLength(config) * config.heads * kFloat32Bytes;
}

int64_t dqAccumulatorBytes(const AttentionConfig &config) {
  return localLength(config) * config.heads * config.headDim * kFloat32Bytes;
}

/// Bytes one transfer of `buffer` carries: a K/V shard in the input dtype or
/// an fp32 dK/dV accumulator.
int64_t transferBytes(const AttentionConfig &config, BufferId buffer) {
  return buffer.holdsKV() ? kvShardBytes(config) : dkvShardBytes(config);
}

Json bufferJson(BufferId buffer) {
  return Json{{"kind", stringifyBufferKind(buffer.kind).str()},
              {"slot", buffer.slot}};
}

Json configJson(const AttentionConfig &config) {
  return Json{{"cp", config.cp},
              {"seq", config.seq},
              {"heads", config.heads},
              {"kv_heads", config.kvHeads},
              {"head_dim", config.headDim},
              {"dtype", stringifyDType(config.dtype).str()},
              {"layout", stringifyLayout(config.layout).str()},
              {"causal", config.causal},
              {"group_size", config.groupSize()},
              {"description", config.str()}};
}

Json layoutJson(const AttentionConfig &config) {
  int64_t length = chunkLength(config);
  Json chunkToRank = Json::array();
  for (int64_t chunk = 0; chunk < numChunks(config); ++chunk)
    chunkToRank.push_back(rankOfChunk(config, chunk));
  Json ranks = Json::array();
  for (int64_t rank = 0; rank < config.cp; ++rank) {
    Json chunks = Json::array(), ranges = Json::array();
    for (int64_t chunk : chunksOfRank(config, rank)) {
      chunks.push_back(chunk);
      ranges.push_back(
          Json{{"begin", chunk * length}, {"end", (chunk + 1) * length}});
    }
    ranks.push_back(
        Json{{"rank", rank}, {"chunks", chunks}, {"position_ranges", ranges}});
  }
  return Json{{"kind", stringifyLayout(config.layout).str()},
              {"num_chunks", numChunks(config)},
              {"chunk_length", length},
              {"local_length", localLength(config)},
              {"chunk_to_rank", chunkToRank},
              {"ranks", ranks}};
}

/// The chunk-pair table of one rank: one entry per ring step, empty where the
/// rank computes nothing.
Json stepsJson(const ScheduleModel &model, const RankProgram &program,
               const std::vector<double> &work) {
  const AttentionConfig &config = model.config;
  bool forward = model.direction == Direction::forward;
  std::vector<const Instr *> computeOfStep(config.cp, nullptr);
  for (const Instr &instr : program.instrs)
    if (instr.kind == InstrKind::Compute)
      computeOfStep[instr.step] = &instr;
  Json steps = Json::array();
  for (int64_t step = 0; step < config.cp; ++step) {
    const Instr *compute = computeOfStep[step];
    Json entry{{"step", step}};
    Json pairs = Json::array();
    if (compute) {
      entry["kv_buffer"] = bufferJson(compute->buffer);
      entry["kv_shard_of_rank"] =
          compute->pairs.empty()
              ? Json(nullptr)
              : Json(rankOfChunk(config, compute->pairs.front().kv));
      for (const ChunkPair &pair : compute->pairs)
        pairs.push_back(Json{{"q", pair.q},
                             {"kv", pair.kv},
                             {"mask", stringifyMaskKind(pair.mask).str()}});
    } else {
      entry["kv_buffer"] = nullptr;
      entry["kv_shard_of_rank"] = nullptr;
    }
    if (forward)
      entry["combine_fused"] = compute && compute->fusedCombine;
    else
      entry["dkv_buffer"] = compute && compute->buffer2
                                ? bufferJson(*compute->buffer2)
                                : Json(nullptr);
    entry["kernel"] =
        compute && !compute->kernel.empty() ? Json(compute->kernel) : Json(nullptr);
    if (!forward)
      entry["dq_kernel"] = compute && !compute->dqKernel.empty()
                               ? Json(compute->dqKernel)
                               : Json(nullptr);
    entry["work"] = work[step];
    entry["pairs"] = pairs;
    steps.push_back(entry);
  }
  return steps;
}

/// One rank's program, op by op. Consecutive posts form one NCCL group.
Json programJson(const AttentionConfig &config, const RankProgram &program) {
  Json ops = Json::array();
  int64_t ncclGroups = 0;
  const Instr *previous = nullptr;
  for (const Instr &instr : program.instrs) {
    Json op;
    switch (instr.kind) {
    case InstrKind::Send:
    case InstrKind::Recv: {
      bool send = instr.kind == InstrKind::Send;
      if (!previous || !previous->isPost())
        ++ncclGroups;
      op = Json{{"kind", send ? "send" : "recv"},
                {"hop", instr.hop},
                {"peer", instr.peer},
                {"buffer", bufferJson(instr.buffer)},
                {"payload", instr.buffer.holdsKV() ? "kv" : "dkv"},
                {"bytes", transferBytes(config, instr.buffer)},
                {"transfer", instr.transfer},
                {"nccl_group", ncclGroups - 1}};
      break;
    }
    case InstrKind::Wait:
      op = Json{{"kind", "wait"}, {"transfers", instr.waits}};
      break;
    case InstrKind::Compute:
      op = Json{{"kind", "compute"},
                {"step", instr.step},
                {"kv", bufferJson(instr.buffer)}};
      if (instr.buffer2)
        op["dkv"] = bufferJson(*instr.buffer2);
      else
        op["combine_fused"] = instr.fusedCombine;
      if (!instr.kernel.empty())
        op["kernel"] = instr.kernel;
      if (!instr.dqKernel.empty())
        op["dq_kernel"] = instr.dqKernel;
      break;
    case InstrKind::Combine:
      op = Json{{"kind", "combine"}, {"step", instr.step}};
      break;
    case InstrKind::Accumulate:
      op = Json{{"kind", "accumulate"},
                {"src", bufferJson(instr.buffer)},
                {"dst", bufferJson(*instr.buffer2)}};
      break;
    case InstrKind::Finalize:
      op = Json{{"kind", "finalize"}};
      if (cast<FinalizeOp>(instr.op).getDkv())
        op["dkv"] = bufferJson(instr.buffer);
      break;
    }
    ops.push_back(op);
    previous = &instr;
  }
  return ops;
}

/// Hops and bytes of one payload (K/V or dK/dV) of a schedule.
Json transferJson(const ScheduleModel &model, bool kv) {
  std::set<int64_t> hops;
  int64_t busiestRankBytes = 0;
  for (const RankProgram &program : model.ranks) {
    int64_t bytes = 0;
    for (const Instr &instr : program.instrs) {
      if (instr.kind != InstrKind::Send || instr.buffer.holdsKV() != kv)
        continue;
      hops.insert(instr.hop);
      bytes += transferBytes(model.config, instr.buffer);
    }
    busiestRankBytes = std::max(busiestRankBytes, bytes);
  }
  return Json{{"hops", hops.size()},
              {"bytes_per_hop",
               kv ? kvShardBytes(model.config) : dkvShardBytes(model.config)},
              {"bytes_sent_per_rank", busiestRankBytes}};
}

Json workJson(const WorkReport &report) {
  return Json{{"units", "full chunk pair 1, diagonal chunk pair 1/2"},
              {"per_rank_and_step", report.work},
              {"balanced", report.balanced},
              {"ring_units", report.ringUnits},
              {"balanced_units", report.balancedUnits},
              {"report", report.lines}};
}

Json scheduleJson(const ScheduleModel &model) {
  WorkReport report = reportWork(model);
  Json transfers{{"kv", transferJson(model, /*kv=*/true)}};
  if (model.direction == Direction::backward)
    transfers["dkv"] = transferJson(model, /*kv=*/false);
  Json ranks = Json::array();
  for (const RankProgram &program : model.ranks)
    ranks.push_back(
        Json{{"rank", program.rank},
             {"steps", stepsJson(model, program, report.work[program.rank])},
             {"program", programJson(model.config, program)}});
  return Json{{"schedule", model.name},
              {"steps", model.config.cp},
              {"transfers", transfers},
              {"work", workJson(report)},
              {"ranks", ranks}};
}

/// Number of slots of `kind` a rank's buffers need (highest slot named + 1)
/// over the given schedules.
int64_t slotsUsed(llvm::ArrayRef<const ScheduleModel *> models, int64_t rank,
                  BufferKind kind) {
  int64_t slots = 0;
  auto see = [&](BufferId buffer) {
    if (buffer.kind == kind)
      slots = std::max<int64_t>(slots, buffer.slot + 1);
  };
  for (const ScheduleModel *model : models)
    for (const Instr &instr : model->ranks[rank].instrs) {
      if (instr.kind == InstrKind::Wait)
        continue;
      if (instr.kind != InstrKind::Combine)
        see(instr.buffer);
      if (instr.buffer2)
        see(*instr.buffer2);
    }
  return slots;
}

Json buffersJson(const ScheduleModel &forward, const ScheduleModel &backward) {
  const AttentionConfig &config = forward.config;
  Json perRank = Json::array();
  for (int64_t rank = 0; rank < config.cp; ++rank) {
    int64_t kvSlots =
        slotsUsed({&forward, &backward}, rank, BufferKind::kv_ring);
    int64_t dkvSlots = slotsUsed({&backward}, rank, BufferKind::dkv_ring);
    int64_t partialSlots =
        slotsUsed({&backward}, rank, BufferKind::dkv_partial);
    int64_t kvBytes = kvSlots * kvShardBytes(config);
    int64_t dkvBytes = dkvSlots * dkvShardBytes(config);
    int64_t partialBytes = partialSlots * dkvShardBytes(config);
    int64_t total = kvBytes + dkvBytes + partialBytes +
                    outputAccumulatorBytes(config) +
                    lseAccumulatorBytes(config) + dqAccumulatorBytes(config);
    perRank.push_back(Json{
        {"rank", rank},
        {"kv_ring", {{"slots", kvSlots}, {"bytes", kvBytes}}},
        {"dkv_ring", {{"slots", dkvSlots}, {"bytes", dkvBytes}}},
        {"dkv_partial", {{"slots", partialSlots}, {"bytes", partialBytes}}},
        {"o_accumulator", outputAccumulatorBytes(config)},
        {"lse_accumulator", lseAccumulatorBytes(config)},
        {"dq_accumulator", dqAccumulatorBytes(config)},
        {"total_bytes", total}});
  }
  return Json{{"kv_shard_bytes", kvShardBytes(config)},
              {"dkv_shard_bytes", dkvShardBytes(config)},
              {"per_rank", perRank}};
}

Json kernelJson(const KernelEntry &kernel) {
  Json pairs = Json::array();
  for (const KernelEntry::Pair &pair : kernel.pairs)
    pairs.push_back(Json{{"q", pair.q}, {"kv", pair.kv}, {"mask", pair.mask}});
  return Json{{"name", kernel.name},
              {"role", kernel.role},
              {"epilogue", kernel.epilogue},
              {"pairs", pairs},
              {"finalize", kernel.finalize},
              {"zero", kernel.zero},
              {"deterministic", kernel.deterministic},
              {"reads_accumulators", kernel.readsAccumulators},
              {"writes_final", kernel.writesFinal},
              {"q_len", kernel.qLen},
              {"kv_len", kernel.kvLen},
              {"q_rows", kernel.qRows},
              {"kv_rows", kernel.kvRows},
              {"stages", kernel.stages},
              {"grid", kernel.grid},
              {"work_items", kernel.workItems()},
              {"head_section", kernel.headSection},
              {"block", kernel.block},
              {"shared_memory_bytes", kernel.sharedMemoryBytes},
              {"registers", kernel.registers},
              {"spill_bytes", kernel.spillBytes},
              {"stack_frame_bytes", kernel.stackFrameBytes},
              {"ptx", kernel.ptxFile},
              {"cubin", kernel.cubinFile}};
}

} // namespace

std::string mlir::ringattn::renderManifest(const ManifestInputs &inputs) {
  const ScheduleModel &forward = *inputs.forward;
  const ScheduleModel &backward = *inputs.backward;
  assert(forward.direction == Direction::forward &&
         backward.direction == Direction::backward &&
         forward.config == backward.config && "a forward/backward pair");
  const AttentionConfig &config = forward.config;
  Json kernels = Json::array();
  for (const KernelEntry &kernel : inputs.kernels)
    kernels.push_back(kernelJson(kernel));
  Json manifest{
      {"format", "ringattn-manifest"},
      // 2: the main backward kernels take dq_acc's tensor map (runtime ABI 3).
      {"version", 3},
      {"generator", "ringattn-gen"},
      {"command", inputs.command},
      {"conventions",
       {{"sizes", "bytes per sequence; batch is a run-time argument: "
                  "multiply by it"},
        {"ranges", "[begin, end): end is exclusive"},
        {"work", "full chunk pair 1 unit, diagonal chunk pair 1/2"},
        {"tensors", "Q, K, V, O, dO, dQ, dK, dV are [B, S_local, H, D]; "
                    "LSE is [B, H, S_local] fp32; S_local is the front chunk "
                    "then the back chunk"},
        {"accumulators", "O, LSE, dQ and the travelling dK/dV are fp32"}}},
      {"config", configJson(config)},
      {"layout", layoutJson(config)},
      {"forward", scheduleJson(forward)},
      {"backward", scheduleJson(backward)},
      {"buffers", buffersJson(forward, backward)},
      {"files", inputs.files},
      {"kernels", kernels}};
  return manifest.dump(2) + "\n";
}

bool mlir::ringattn::manifestSizesFit(const AttentionConfig &config) {
  int64_t bound = localLength(config);
  for (int64_t factor : {config.heads, config.headDim, int64_t(64)})
    if (llvm::MulOverflow(bound, factor, bound))
      return false;
  return true;
}
