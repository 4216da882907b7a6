//===- CopyEngine.h - the ring's copy-engine transport ----------*- C++ -*-===//
//
// The transport that moves a hop with the GPU's copy engines instead of NCCL
// kernels (RINGATTN_TRANSPORT=ce; docs/ce-transport.md): no SM is taken from
// the attention kernels. Every rank exports one window of device memory (its
// receive slots) and a segment of shared host memory (the flags of the hop
// protocol); the ranks of a ring, all on one host, meet over Unix sockets
// named after the ring's unique id, pass each other the descriptors, and
// map their peers' windows and flags. A hop is a copy into the receiver's
// slot, fenced by two flags:
//
//   receiver, at its receive:  grant  (sender's flags)   := 1
//   sender, at its send:       wait grant == 1, grant := 0, copy,
//                              full   (receiver's flags) := 1
//   receiver, before the wait: wait full == 1, full := 0
//
// so a sender never writes a slot the receiver still reads (the grant is
// posted after everything that read the slot's old contents), every flag is
// back to 0 when a call ends (a captured CUDA graph replays), and every wait
// is on the waiting rank's own flags, which its host can release. The
// sockets stay open for the context's life: a rank whose context fails
// tells its peers (they fail too), a rank that exits is seen by its peers as
// the socket's end.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_RUNTIME_COPYENGINE_H
#define RINGATTN_RUNTIME_COPYENGINE_H

#include "Driver.h"
#include "ringattn/package.h"

#include <cstdint>
#include <vector>

struct ringattn_context;

namespace ringattn::runtime {

struct Tensors;

/// Where a rank's window keeps its receive slots, and its flags segment
/// its flags (the same on every rank of a ring: one package, one batch). A
/// slot is numbered K/V slots first, then dK/dV slots.
struct WindowLayout {
  int cp = 0, kvSlots = 0, dkvSlots = 0;
  int64_t kvBytes = 0;  // one of K or V of a shard, all sequences
  int64_t dkvBytes = 0; // dK then dV, fp32
  int64_t bytes = 0;    // the window, before rounding to the granularity
  int64_t flagBytes = 0;

  WindowLayout() = default;
  WindowLayout(const ringattn_package &package, int64_t kvElements);
  int slots() const { return kvSlots + dkvSlots; }
  /// The slot a send or receive of `buffer` (a ring buffer) lands in.
  int slotOf(ringattn_buffer_ref buffer) const;
  int64_t kvOffset(int slot, int which) const;
  int64_t dkvOffset(int slot) const;
  /// The receiver's flag: the slot holds the sender's data.
  int64_t fullOffset(int slot) const;
  /// The sender's flag: `receiver` may be sent into `slot`.
  int64_t grantOffset(int receiver, int slot) const;
};

/// A rank's flags: host memory (a memfd every rank of the ring maps and
/// registers with CUDA), so that a failed ring's host can release its own
/// waits with a plain store. A device write would queue behind the very
/// waits it is to release.
struct FlagSegment {
  int fd = -1;
  void *host = nullptr;
  CUdeviceptr device = 0; // this process's device address of it
  size_t bytes = 0;
};

/// A rank's side of the copy-engine ring.
struct CopyEngineRing {
  struct Peer {
    CUmemGenericAllocationHandle handle = 0;
    CUdeviceptr base = 0; // this process's mapping of the peer's window
    FlagSegment flags;
    int in = -1;          // the peer's socket to this rank (read)
    int out = -1;         // this rank's socket to the peer (write)
    bool left = false;    // said goodbye (destroyed a healthy context;
                          // set by the watchdog under the context's mutex)
    bool gone = false;    // failed, or exited without a goodbye
  };
  WindowLayout layout;
  CUmemGenericAllocationHandle handle = 0;
  CUdeviceptr base = 0;
  size_t mappedBytes = 0;
  FlagSegment flags;
  std::vector<Peer> peers; // by rank; this rank's own entry unused
  // Receiver slot of every send op, per program (forward, backward).
  std::vector<int> sendSlot[2];
  bool toldPeers = false;
};

/// Joins the ring over the copy engines (creation, cp > 1): exports the
/// window, meets the peers, checks every rank's configuration, maps the
/// peers' windows and points the context's receive slots into its window.
ringattn_status joinCopyEngineRing(ringattn_context &c, const Driver &d,
                                   const ringattn_unique_id &id);

/// Posts one transfer group (ops [first, last) of the program) on `on`.
ringattn_status postCopyEngineGroup(ringattn_context &c, const Driver &d,
                                    bool backward, int first, int last,
                                    const Tensors &t, CUstream on);

/// A call may start only while every peer is still in the ring.
ringattn_status checkCopyEnginePeers(ringattn_context &c);

/// One tick of the ring's health (the watchdog, and destroy while it
/// drains): reads the peers' notices (a failed or exited peer fails the
/// context); once the context has failed, tells the peers and releases this
/// rank's waits that can no longer be met, so its streams drain.
void tendCopyEngine(ringattn_context &c, const Driver &d);

/// Says goodbye (a healthy context) and unmaps and frees everything.
void releaseCopyEngine(ringattn_context &c, const Driver &d);

} // namespace ringattn::runtime

#endif // RINGATTN_RUNTIME_COPYENGINE_H
