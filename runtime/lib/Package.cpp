//===- Package.cpp - checking a generated package --------------------------===//
//
// A package is generated data, but it is also what a caller hands over: a
// stale, truncated or hand-made one must be refused with a message, never
// read out of bounds. The layout checks run on every sharding call; the
// whole package (kernels, programs, buffer slots, transfers) is checked at
// context creation.
//
//===----------------------------------------------------------------------===//

#include "Package.h"

#include <string>
#include <vector>

using namespace ringattn::runtime;

namespace {

/// The configuration's limits (those ringattn-gen generates).
constexpr int64_t kMaxRanks = 128;
constexpr int64_t kMaxChunksPerRank = 2;

ringattn_status bad(const std::string &message) {
  return invalid("package: " + message);
}

ringattn_status checkProgram(const ringattn_package &p, int rank,
                             const ringattn_program &program,
                             const char *direction) {
  std::string where = std::string(direction) + " program of rank " +
                      std::to_string(rank) + ": ";
  if (program.num_ops < 0 || (program.num_ops > 0 && !program.ops) ||
      program.num_transfers < 0 || program.num_waits < 0)
    return bad(where + "no ops, or a negative count");
  auto checkBuffer = [&](ringattn_buffer_ref b, bool dkv) -> bool {
    switch (b.kind) {
    case RINGATTN_BUFFER_NONE:
      return true;
    case RINGATTN_BUFFER_KV_LOCAL:
      return !dkv && b.slot == 0;
    case RINGATTN_BUFFER_KV_RING:
      return !dkv && b.slot >= 0 && b.slot < p.kv_ring_slots;
    case RINGATTN_BUFFER_DKV_PARTIAL:
      return dkv && b.slot == 0;
    case RINGATTN_BUFFER_DKV_RING:
      return dkv && b.slot >= 0 && b.slot < p.dkv_ring_slots;
    }
    return false;
  };
  auto isDkv = [](ringattn_buffer_ref b) {
    return b.kind == RINGATTN_BUFFER_DKV_PARTIAL ||
           b.kind == RINGATTN_BUFFER_DKV_RING;
  };
  for (int i = 0; i < program.num_ops; ++i) {
    const ringattn_op &op = program.ops[i];
    std::string at = where + "op " + std::to_string(i) + ": ";
    switch (op.kind) {
    case RINGATTN_OP_SEND:
    case RINGATTN_OP_RECV:
      if (op.peer < 0 || op.peer >= p.cp || op.peer == rank)
        return bad(at + "peer " + std::to_string(op.peer) + " out of range");
      if (op.transfer < 0 || op.transfer >= program.num_transfers)
        return bad(at + "transfer id out of range");
      // What travels: K/V (the caller's, or a ring slot) into a K/V ring
      // slot, or a dK/dV accumulator between dK/dV ring slots.
      if (op.buffer.kind == RINGATTN_BUFFER_NONE ||
          op.buffer.kind == RINGATTN_BUFFER_DKV_PARTIAL ||
          (op.kind == RINGATTN_OP_RECV &&
           op.buffer.kind == RINGATTN_BUFFER_KV_LOCAL) ||
          !checkBuffer(op.buffer, isDkv(op.buffer)))
        return bad(at + "bad buffer");
      break;
    case RINGATTN_OP_WAIT:
      if (op.num_waits < 0 || op.first_wait < 0 ||
          (op.num_waits > 0 && !program.waits) ||
          int64_t(op.first_wait) + op.num_waits > program.num_waits)
        return bad(at + "bad wait list");
      for (int w = 0; w < op.num_waits; ++w) {
        int transfer = program.waits[op.first_wait + w];
        if (transfer < 0 || transfer >= program.num_transfers)
          return bad(at + "waits for transfer " + std::to_string(transfer) +
                     " of " + std::to_string(program.num_transfers));
      }
      break;
    case RINGATTN_OP_COMPUTE: {
      if (op.kernel < 0 || op.kernel >= p.num_kernels)
        return bad(at + "kernel index out of range");
      ringattn_kernel_role role = p.kernels[op.kernel].role;
      bool backward = role == RINGATTN_KERNEL_BACKWARD;
      if (role != (std::string(direction) == "forward"
                       ? RINGATTN_KERNEL_FORWARD
                       : RINGATTN_KERNEL_BACKWARD))
        return bad(at + "the kernel's role does not match the program");
      if (op.dq_kernel != -1 &&
          (op.dq_kernel < 0 || op.dq_kernel >= p.num_kernels ||
           p.kernels[op.dq_kernel].role != RINGATTN_KERNEL_BACKWARD_DQ))
        return bad(at + "bad dQ kernel");
      if (op.buffer.kind == RINGATTN_BUFFER_NONE ||
          !checkBuffer(op.buffer, false) ||
          (backward && (op.buffer2.kind == RINGATTN_BUFFER_NONE ||
                        !checkBuffer(op.buffer2, true))))
        return bad(at + "bad buffer");
      break;
    }
    case RINGATTN_OP_ACCUMULATE:
      if (!isDkv(op.buffer) || !isDkv(op.buffer2) ||
          !checkBuffer(op.buffer, true) || !checkBuffer(op.buffer2, true))
        return bad(at + "bad dK/dV buffer");
      break;
    case RINGATTN_OP_FINALIZE:
      if (op.buffer.kind != RINGATTN_BUFFER_NONE &&
          !checkBuffer(op.buffer, true))
        return bad(at + "bad dK/dV buffer");
      break;
    default:
      return bad(at + "unknown op kind " + std::to_string(op.kind));
    }
  }
  return RINGATTN_OK;
}

/// Every send meets a receive of the same kind of buffer: the k-th send
/// from rank r to rank q meets the k-th receive on q from r (NCCL's rule,
/// which the copy-engine transport follows too).
ringattn_status checkPairs(const ringattn_package &p,
                           const ringattn_program *programs,
                           const char *direction) {
  // [from][to]: the buffer kinds (K/V or dK/dV) sent, and received.
  std::vector<std::vector<std::string>> sent(p.cp * p.cp),
      received(p.cp * p.cp);
  for (int r = 0; r < p.cp; ++r)
    for (int i = 0; i < programs[r].num_ops; ++i) {
      const ringattn_op &op = programs[r].ops[i];
      bool dkv = op.buffer.kind == RINGATTN_BUFFER_DKV_RING;
      if (op.kind == RINGATTN_OP_SEND)
        sent[r * p.cp + op.peer].push_back(dkv ? "dK/dV" : "K/V");
      else if (op.kind == RINGATTN_OP_RECV)
        received[op.peer * p.cp + r].push_back(dkv ? "dK/dV" : "K/V");
    }
  for (int from = 0; from < p.cp; ++from)
    for (int to = 0; to < p.cp; ++to) {
      const auto &s = sent[from * p.cp + to], &r = received[from * p.cp + to];
      std::string pair = std::string(direction) + " programs: rank " +
                         std::to_string(from) + " to rank " +
                         std::to_string(to) + ": ";
      if (s.size() != r.size())
        return bad(pair + std::to_string(s.size()) + " sends but " +
                   std::to_string(r.size()) + " receives");
      for (size_t k = 0; k < s.size(); ++k)
        if (s[k] != r[k])
          return bad(pair + "send " + std::to_string(k) + " carries " + s[k] +
                     ", its receive takes " + r[k]);
    }
  return RINGATTN_OK;
}

} // namespace

ringattn_status ringattn::runtime::checkPackageLayout(const ringattn_package *p,
                                                      int rank) {
  if (!p)
    return invalid("package is null");
  if (p->abi != RINGATTN_PACKAGE_ABI)
    return invalid("package ABI " + std::to_string(p->abi) +
                   " differs from the runtime's " +
                   std::to_string(RINGATTN_PACKAGE_ABI) +
                   ": regenerate it with this ringattn-gen");
  if (p->cp < 1 || p->cp > kMaxRanks)
    return bad("cp " + std::to_string(p->cp) + " out of range [1, " +
               std::to_string(kMaxRanks) + "]");
  if (rank < 0 || rank >= p->cp)
    return invalid("rank " + std::to_string(rank) + " out of range [0, " +
                   std::to_string(p->cp) + ")");
  if (p->chunks_per_rank < 1 || p->chunks_per_rank > kMaxChunksPerRank ||
      !p->rank_chunks)
    return bad("chunks_per_rank must be 1 or 2, with a chunk map");
  // local_length = chunks_per_rank * chunk_length and seq = cp *
  // local_length, without overflow.
  if (p->chunk_length < 1 || p->chunk_length > (int64_t(1) << 40) ||
      p->local_length != p->chunks_per_rank * p->chunk_length ||
      p->seq != p->cp * p->local_length)
    return bad("seq, local_length and chunk_length disagree");
  int64_t chunks = p->cp * p->chunks_per_rank;
  std::vector<bool> owned(chunks, false);
  for (int64_t i = 0; i < chunks; ++i) {
    int64_t c = p->rank_chunks[i];
    if (c < 0 || c >= chunks || owned[c])
      return bad("the chunk map is not a permutation of the " +
                 std::to_string(chunks) + " chunks");
    owned[c] = true;
  }
  return RINGATTN_OK;
}

ringattn_status ringattn::runtime::checkPackage(const ringattn_package *p,
                                                int rank) {
  RINGATTN_TRY(checkPackageLayout(p, rank));
  if (p->heads < 1 || p->kv_heads < 1 || p->heads % p->kv_heads != 0 ||
      p->heads > 65535 || (p->head_dim != 64 && p->head_dim != 128) ||
      (p->dtype != RINGATTN_BF16 && p->dtype != RINGATTN_FP16))
    return bad("unsupported heads, head_dim or dtype");
  if (!p->cubin || p->cubin_size == 0)
    return bad("no cubin");
  if (p->num_kernels < 1 || !p->kernels)
    return bad("no kernels");
  for (int i = 0; i < p->num_kernels; ++i)
    if (!p->kernels[i].name || p->kernels[i].role < RINGATTN_KERNEL_FORWARD ||
        p->kernels[i].role > RINGATTN_KERNEL_FINALIZE)
      return bad("kernel " + std::to_string(i) + " has no name or role");
  auto roleAt = [&](int index, ringattn_kernel_role role) {
    return index >= 0 && index < p->num_kernels &&
           p->kernels[index].role == role;
  };
  if (!roleAt(p->preprocess_kernel, RINGATTN_KERNEL_PREPROCESS) ||
      !roleAt(p->accumulate_kernel, RINGATTN_KERNEL_ACCUMULATE) ||
      !roleAt(p->finalize_kernel, RINGATTN_KERNEL_FINALIZE))
    return bad("no preprocess, accumulate or finalize kernel");
  if (p->kv_ring_slots < 1 || p->kv_ring_slots > 8 || p->dkv_ring_slots < 1 ||
      p->dkv_ring_slots > 8)
    return bad("ring slot counts out of range [1, 8]");
  if (!p->forward || !p->backward)
    return bad("no programs");
  for (int r = 0; r < p->cp; ++r) {
    RINGATTN_TRY(checkProgram(*p, r, p->forward[r], "forward"));
    RINGATTN_TRY(checkProgram(*p, r, p->backward[r], "backward"));
  }
  RINGATTN_TRY(checkPairs(*p, p->forward, "forward"));
  RINGATTN_TRY(checkPairs(*p, p->backward, "backward"));
  return RINGATTN_OK;
}

extern "C" ringattn_status
ringattn_package_check(const ringattn_package *package) {
  RINGATTN_TRY(checkPackage(package, 0));
  return succeed();
}
