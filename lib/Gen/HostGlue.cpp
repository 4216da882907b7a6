//===- HostGlue.cpp - the generated host glue and CMake package ------------===//

#include "ringattn/Gen/HostGlue.h"
#include "ringattn/Schedule/Layout.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <map>

namespace {
struct EmbeddedFile {
  const char *name;
  const char *contents;
  size_t size;
};
#include "RuntimeSources.inc"
} // namespace

using namespace mlir;
using namespace mlir::ringattn;

uint64_t mlir::ringattn::configHash(const AttentionConfig &config) {
  uint64_t hash = 0xcbf29ce484222325ull;
  auto mix = [&](int64_t value) {
    for (int i = 0; i < 8; ++i) {
      hash ^= static_cast<uint64_t>(value >> (8 * i)) & 0xff;
      hash *= 0x100000001b3ull;
    }
  };
  for (int64_t v : {config.cp, config.seq, config.heads, config.kvHeads,
                    config.headDim, static_cast<int64_t>(config.dtype),
                    static_cast<int64_t>(config.layout),
                    static_cast<int64_t>(config.causal)})
    mix(v);
  return hash;
}

namespace {

const char *roleEnum(const std::string &role) {
  static const std::map<std::string, const char *> roles = {
      {"forward", "RINGATTN_KERNEL_FORWARD"},
      {"backward", "RINGATTN_KERNEL_BACKWARD"},
      {"backward_dq", "RINGATTN_KERNEL_BACKWARD_DQ"},
      {"preprocess", "RINGATTN_KERNEL_PREPROCESS"},
      {"accumulate", "RINGATTN_KERNEL_ACCUMULATE"},
      {"finalize", "RINGATTN_KERNEL_FINALIZE"}};
  return roles.at(role);
}

const char *bufferEnum(BufferKind kind) {
  switch (kind) {
  case BufferKind::kv_local:
    return "RINGATTN_BUFFER_KV_LOCAL";
  case BufferKind::kv_ring:
    return "RINGATTN_BUFFER_KV_RING";
  case BufferKind::dkv_partial:
    return "RINGATTN_BUFFER_DKV_PARTIAL";
  case BufferKind::dkv_ring:
    return "RINGATTN_BUFFER_DKV_RING";
  }
  llvm_unreachable("unknown buffer kind");
}

std::string bufferRef(const std::optional<BufferId> &buffer) {
  if (!buffer)
    return "{RINGATTN_BUFFER_NONE, 0}";
  return std::string("{") + bufferEnum(buffer->kind) + ", " +
         std::to_string(buffer->slot) + "}";
}

/// Emits one rank's program; returns the failure reason, if any.
std::optional<std::string>
renderProgram(llvm::raw_ostream &os, const std::string &prefix,
              const RankProgram &program,
              const std::map<std::string, int> &kernelIndex,
              int &maxRingSlots, int &maxDkvSlots, size_t &numWaits) {
  std::vector<int> waits;
  os << "const ringattn_op " << prefix << "_ops[] = {\n";
  int numOps = 0;
  for (const Instr &instr : program.instrs) {
    auto slotsOf = [&](const std::optional<BufferId> &b) {
      if (!b)
        return;
      if (b->kind == BufferKind::kv_ring)
        maxRingSlots = std::max<int>(maxRingSlots, b->slot + 1);
      if (b->kind == BufferKind::dkv_ring)
        maxDkvSlots = std::max<int>(maxDkvSlots, b->slot + 1);
    };
    std::optional<BufferId> buffer, buffer2;
    const char *kind = nullptr;
    int kernel = -1, dqKernel = -1, firstWait = 0, numWaits = 0;
    switch (instr.kind) {
    case InstrKind::Send:
      kind = "RINGATTN_OP_SEND";
      buffer = instr.buffer;
      break;
    case InstrKind::Recv:
      kind = "RINGATTN_OP_RECV";
      buffer = instr.buffer;
      break;
    case InstrKind::Wait:
      kind = "RINGATTN_OP_WAIT";
      firstWait = waits.size();
      numWaits = instr.waits.size();
      llvm::append_range(waits, instr.waits);
      break;
    case InstrKind::Compute: {
      kind = "RINGATTN_OP_COMPUTE";
      buffer = instr.buffer;
      buffer2 = instr.buffer2;
      auto it = kernelIndex.find(instr.kernel);
      if (it == kernelIndex.end())
        return "compute step " + std::to_string(instr.step) + " of rank " +
               std::to_string(program.rank) + " launches no generated kernel";
      kernel = it->second;
      if (!instr.dqKernel.empty())
        dqKernel = kernelIndex.at(instr.dqKernel);
      break;
    }
    case InstrKind::Combine:
      return "rank " + std::to_string(program.rank) +
             " has an unfused combine; the runtime fuses it into the kernels";
    case InstrKind::Accumulate:
      kind = "RINGATTN_OP_ACCUMULATE";
      buffer = instr.buffer;
      buffer2 = instr.buffer2;
      break;
    case InstrKind::Finalize:
      kind = "RINGATTN_OP_FINALIZE";
      if (isa<FinalizeOp>(instr.op) && cast<FinalizeOp>(instr.op).getDkv())
        buffer = instr.buffer;
      break;
    }
    slotsOf(buffer);
    slotsOf(buffer2);
    os << "  {" << kind << ", " << instr.step << ", " << instr.hop << ", "
       << instr.peer << ", "
       << (instr.isPost() ? static_cast<int>(instr.transfer) : -1) << ", "
       << bufferRef(buffer) << ", " << bufferRef(buffer2) << ", " << kernel
       << ", " << dqKernel << ", " << firstWait << ", " << numWaits << "},\n";
    ++numOps;
  }
  os << "};\n";
  os << "const int " << prefix << "_waits[] = {";
  for (int w : waits)
    os << w << ", ";
  os << "-1};\n\n";
  numWaits = waits.size();
  return std::nullopt;
}

} // namespace

std::optional<std::string> mlir::ringattn::renderPackageSource(
    const ScheduleModel &forward, const ScheduleModel &backward,
    const std::vector<KernelEntry> &kernels, const std::string &cubin,
    const std::string &command, std::string &source) {
  const AttentionConfig &config = forward.config;
  llvm::raw_string_ostream os(source);
  os << "// Generated by: " << command << "\n"
     << "// The package of " << config.str()
     << ": kernels (cubin embedded), chunk map and rank programs for the\n"
     << "// ringattn runtime (runtime/include/ringattn/package.h).\n\n"
     << "#include \"ringattn_package.h\"\n\n"
     << "namespace {\n\n";

  // A string literal (compilers read it far faster than a brace list); the
  // terminating NUL is not part of the image.
  os << "const unsigned char kCubin[] =";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string line;
  for (size_t i = 0; i < cubin.size(); ++i) {
    if (i % 32 == 0)
      line = "\n  \"";
    auto byte = static_cast<unsigned char>(cubin[i]);
    line += {'\\', 'x', kHex[byte >> 4], kHex[byte & 15]};
    if (i % 32 == 31 || i + 1 == cubin.size())
      os << line << '"';
  }
  os << ";\n\n";

  std::map<std::string, int> kernelIndex;
  int preprocess = -1, accumulate = -1, finalize = -1;
  os << "const ringattn_kernel kKernels[] = {\n";
  for (auto [index, k] : llvm::enumerate(kernels)) {
    kernelIndex[k.name] = index;
    if (k.role == "preprocess")
      preprocess = index;
    if (k.role == "accumulate")
      accumulate = index;
    if (k.role == "finalize")
      finalize = index;
    os << "  {\"" << k.name << "\", " << roleEnum(k.role) << ", " << k.workItems()
       << ", " << k.block[0] << ", " << k.sharedMemoryBytes << ", " << k.qLen
       << ", " << k.kvLen << ", " << config.heads << ", " << config.kvHeads
       << ", " << config.headDim << ", "
       << (config.dtype == DType::bf16 ? "RINGATTN_BF16" : "RINGATTN_FP16")
       << ", " << k.qRows << ", " << k.kvRows << ", "
       << (k.readsAccumulators ? 1 : 0) << ", " << (k.writesFinal ? 1 : 0)
       << "},\n";
  }
  os << "};\n\n";

  int chunksPerRank = chunksOfRank(config, 0).size();
  os << "const int64_t kRankChunks[] = {";
  for (int64_t r = 0; r < config.cp; ++r)
    for (int64_t c : chunksOfRank(config, r))
      os << c << ", ";
  os << "};\n\n";

  int ringSlots = 0, dkvSlots = 0;
  for (const ScheduleModel *model : {&forward, &backward}) {
    bool isForward = model == &forward;
    std::vector<size_t> waitCounts;
    for (const RankProgram &program : model->ranks) {
      std::string prefix = std::string(isForward ? "kForward" : "kBackward") +
                           std::to_string(program.rank);
      size_t numWaits = 0;
      if (auto error = renderProgram(os, prefix, program, kernelIndex,
                                     ringSlots, dkvSlots, numWaits))
        return error;
      waitCounts.push_back(numWaits);
    }
    os << "const ringattn_program " << (isForward ? "kForward" : "kBackward")
       << "[] = {\n";
    for (const RankProgram &program : model->ranks) {
      std::string prefix = std::string(isForward ? "kForward" : "kBackward") +
                           std::to_string(program.rank);
      os << "  {" << program.instrs.size() << ", " << prefix << "_ops, "
         << prefix << "_waits, " << program.transfers.size() << ", "
         << waitCounts[program.rank] << "},\n";
    }
    os << "};\n\n";
  }

  os << "const ringattn_package kPackage = {\n"
     << "  RINGATTN_PACKAGE_ABI,\n"
     << "  \"" << config.str() << "\",\n"
     << "  " << llvm::format("0x%016llxull", (unsigned long long)configHash(config))
     << ",\n"
     << "  " << config.cp << ", " << config.seq << ", " << config.heads << ", "
     << config.kvHeads << ", " << config.headDim << ",\n"
     << "  " << (config.dtype == DType::bf16 ? "RINGATTN_BF16" : "RINGATTN_FP16")
     << ", " << (config.causal ? 1 : 0) << ",\n"
     << "  " << chunkLength(config) << ", " << localLength(config) << ", "
     << chunksPerRank << ", kRankChunks,\n"
     << "  " << std::max(ringSlots, 1) << ", " << std::max(dkvSlots, 1) << ",\n"
     << "  kCubin, sizeof(kCubin) - 1,\n"
     << "  " << kernels.size() << ", kKernels, " << preprocess << ", "
     << accumulate << ", " << finalize << ",\n"
     << "  kForward, kBackward,\n"
     << "};\n\n"
     << "} // namespace\n\n"
     << "extern \"C\" const ringattn_package *ringattn_generated_package(void) {\n"
     << "  return &kPackage;\n"
     << "}\n";
  return std::nullopt;
}

std::vector<std::pair<std::string, std::string>>
mlir::ringattn::renderPackageBuildFiles() {
  std::string header = R"(/* Generated by ringattn-gen: the package of this output directory. */
#ifndef RINGATTN_GENERATED_PACKAGE_H
#define RINGATTN_GENERATED_PACKAGE_H

#include "ringattn/package.h"
#include "ringattn/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The configuration, kernels and rank programs this directory was generated
 * for; pass it to ringattn_context_create. */
const ringattn_package *ringattn_generated_package(void);

#ifdef __cplusplus
}
#endif

#endif /* RINGATTN_GENERATED_PACKAGE_H */
)";
  std::string cmake = R"(# Generated by ringattn-gen: one target, ringattn::ringattn, holding this
# configuration's kernels and programs and the ringattn runtime. Use it with
# add_subdirectory(<this directory>) or find_package(ringattn PATHS <this
# directory>).
cmake_minimum_required(VERSION 3.20)
project(ringattn_package LANGUAGES C CXX)

if(NOT TARGET ringattn_runtime)
  add_subdirectory(${CMAKE_CURRENT_LIST_DIR}/runtime
                   ${CMAKE_CURRENT_BINARY_DIR}/runtime)
endif()
add_library(ringattn STATIC ${CMAKE_CURRENT_LIST_DIR}/ringattn_package.cpp)
set_target_properties(ringattn PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_include_directories(ringattn PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(ringattn PUBLIC ringattn_runtime)
add_library(ringattn::ringattn ALIAS ringattn)

# The package alone as a loadable module, for Python (ctypes) next to
# libringattn_runtime.so.
option(RINGATTN_PACKAGE_MODULE "Build libringattn_package.so" ON)
if(RINGATTN_PACKAGE_MODULE)
  add_library(ringattn_package MODULE ${CMAKE_CURRENT_LIST_DIR}/ringattn_package.cpp)
  target_include_directories(ringattn_package PRIVATE ${CMAKE_CURRENT_LIST_DIR}
    ${CMAKE_CURRENT_LIST_DIR}/runtime/include)
  set_target_properties(ringattn_package PROPERTIES
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/lib)
endif()
)";
  std::string config = R"(# Generated by ringattn-gen: find_package(ringattn PATHS <this directory>).
if(NOT TARGET ringattn::ringattn)
  add_subdirectory(${CMAKE_CURRENT_LIST_DIR}
                   ${CMAKE_BINARY_DIR}/ringattn-package)
endif()
set(ringattn_FOUND TRUE)
)";
  std::vector<std::pair<std::string, std::string>> files = {
      {"ringattn_package.h", header},
      {"CMakeLists.txt", cmake},
      {"ringattnConfig.cmake", config}};
  for (const EmbeddedFile &file : kEmbeddedFiles)
    files.push_back({"runtime/" + std::string(file.name),
                     std::string(file.contents, file.size)});
  return files;
}
