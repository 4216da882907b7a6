//===- CopyEngine.cpp - the ring's copy-engine transport -------------------===//
//
// The window, the rendezvous over Unix sockets, the hops and the notices of
// a failed or departed peer (CopyEngine.h has the protocol).
//
//===----------------------------------------------------------------------===//

#include "CopyEngine.h"
#include "Context.h"
#include "Error.h"
#include "Module.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

using namespace ringattn::runtime;

namespace {

constexpr int64_t kAlign = 256;
constexpr uint32_t kHelloMagic = 0x52414345; // "RACE"
constexpr char kGoodbye = 'B';
constexpr char kFailed = 'F';

int64_t alignUp(int64_t value, int64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

/// What a rank sends each peer when it joins, with the descriptors of its
/// window and its flags.
struct Hello {
  uint32_t magic;
  uint32_t cp;
  int64_t windowBytes;
  RankIdentity identity;
};

/// The abstract socket name of `rank` in the ring of `id`.
std::string socketName(const ringattn_unique_id &id, int rank) {
  uint64_t a = 1469598103934665603ull, b = 1099511628211ull * 31;
  for (char ch : id.internal) {
    auto byte = static_cast<unsigned char>(ch);
    a = (a ^ byte) * 1099511628211ull;
    b = (b ^ byte) * 0x100000001b3ull + 7;
  }
  char name[80];
  std::snprintf(name, sizeof(name), "ringattn-%016llx%016llx-%d",
                static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b), rank);
  return name;
}

socklen_t addressOf(const std::string &name, sockaddr_un &address) {
  std::memset(&address, 0, sizeof(address));
  address.sun_family = AF_UNIX;
  // Abstract namespace: a leading NUL, no file, gone with the last socket.
  std::memcpy(address.sun_path + 1, name.data(), name.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 +
                                name.size());
}

ringattn_status socketError(const std::string &what) {
  return fail(RINGATTN_ERROR_IO, what + ": " + std::strerror(errno));
}

int64_t msLeft(Clock::time_point deadline) {
  return std::max<int64_t>(
      0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                               Clock::now())
             .count());
}

ringattn_status tooSlow(ringattn_context &c, const std::string &what) {
  return fail(RINGATTN_ERROR_TIMEOUT,
              "rank " + std::to_string(c.rank) + ": " + what + " within " +
                  std::to_string(c.timeoutMs) + " ms (do all " +
                  std::to_string(c.package->cp) +
                  " ranks take part, with the same id and "
                  "RINGATTN_TRANSPORT=ce?)");
}

/// A socket message of `bytes` at `at`, with room for the two descriptors
/// a hello carries.
struct DescriptorMessage {
  iovec data;
  alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
  msghdr header{};
  DescriptorMessage(void *at, size_t bytes) : data{at, bytes} {
    header.msg_iov = &data;
    header.msg_iovlen = 1;
    header.msg_control = control;
    header.msg_controllen = sizeof(control);
  }
  DescriptorMessage(const DescriptorMessage &) = delete; // points into itself
  DescriptorMessage &operator=(const DescriptorMessage &) = delete;
};

/// Connects to `peer`'s socket (retrying until it listens) and sends the
/// hello with the window's and the flags' descriptors.
ringattn_status greet(ringattn_context &c, const ringattn_unique_id &id,
                      int peer, const Hello &hello, const int (&fds)[2],
                      Clock::time_point deadline, int &out) {
  sockaddr_un address;
  socklen_t length = addressOf(socketName(id, peer), address);
  while (true) {
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
      return socketError("socket");
    if (connect(s, reinterpret_cast<sockaddr *>(&address), length) == 0) {
      out = s;
      break;
    }
    int why = errno;
    close(s);
    if (why != ECONNREFUSED && why != ENOENT && why != EAGAIN) {
      errno = why;
      return socketError("connecting to rank " + std::to_string(peer));
    }
    if (msLeft(deadline) == 0)
      return tooSlow(c, "rank " + std::to_string(peer) + " did not listen");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  DescriptorMessage message(const_cast<Hello *>(&hello), sizeof(hello));
  cmsghdr *header = CMSG_FIRSTHDR(&message.header);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(fds));
  std::memcpy(CMSG_DATA(header), fds, sizeof(fds));
  if (sendmsg(out, &message.header, MSG_NOSIGNAL) !=
      static_cast<ssize_t>(sizeof(hello)))
    return socketError("sending rank " + std::to_string(peer) + " the window");
  return RINGATTN_OK;
}

/// Reads one hello (and its two descriptors) from a peer's connection.
ringattn_status receiveHello(ringattn_context &c, int s,
                             Clock::time_point deadline, Hello &hello,
                             int (&fds)[2]) {
  fds[0] = fds[1] = -1;
  char *into = reinterpret_cast<char *>(&hello);
  size_t have = 0;
  while (have < sizeof(hello)) {
    pollfd waiting{s, POLLIN, 0};
    int ready = poll(&waiting, 1, static_cast<int>(msLeft(deadline)));
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0)
      return tooSlow(c, "a peer did not send its window");
    DescriptorMessage message(into + have, sizeof(hello) - have);
    ssize_t got = recvmsg(s, &message.header, MSG_CMSG_CLOEXEC);
    if (got <= 0)
      return got == 0 ? fail(RINGATTN_ERROR_IO,
                             "a peer closed its connection while joining")
                      : socketError("receiving a peer's window");
    for (cmsghdr *h = CMSG_FIRSTHDR(&message.header); h;
         h = CMSG_NXTHDR(&message.header, h))
      if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
          h->cmsg_len == CMSG_LEN(sizeof(fds)))
        std::memcpy(fds, CMSG_DATA(h), sizeof(fds));
    have += static_cast<size_t>(got);
  }
  if (hello.magic != kHelloMagic)
    return fail(RINGATTN_ERROR_IO,
                "a connection to the ring's socket did not speak ringattn");
  if (fds[0] < 0 || fds[1] < 0)
    return fail(RINGATTN_ERROR_IO, "a peer's window came without its handles");
  return RINGATTN_OK;
}

/// Maps a flag segment (`fd`, `bytes`) into this process and registers it
/// with CUDA; `fd` is kept (closed at release).
ringattn_status mapFlags(const Driver &d, int fd, size_t bytes,
                         FlagSegment &flags) {
  flags.fd = fd;
  flags.bytes = bytes;
  void *host = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (host == MAP_FAILED)
    return socketError("mapping a flag segment");
  flags.host = host;
  RINGATTN_TRY(checkCuda(d.memHostRegister(host, bytes,
                                           CU_MEMHOSTREGISTER_PORTABLE |
                                               CU_MEMHOSTREGISTER_DEVICEMAP),
                         "cuMemHostRegister (a flag segment)"));
  return checkCuda(d.memHostGetDevicePointer(&flags.device, host, 0),
                   "cuMemHostGetDevicePointer");
}

void unmapFlags(const Driver &d, FlagSegment &flags) {
  if (flags.device)
    d.memHostUnregister(flags.host);
  if (flags.host)
    munmap(flags.host, flags.bytes);
  if (flags.fd >= 0)
    close(flags.fd);
  flags = FlagSegment();
}

CUmemAllocationProp windowProperties(CUdevice device) {
  CUmemAllocationProp prop{};
  prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  prop.location.id = device;
  prop.requestedHandleTypes = CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR;
  return prop;
}

/// Maps `handle` (`bytes`) at a fresh address, readable and writable from
/// `device`.
ringattn_status mapWindow(const Driver &d, CUmemGenericAllocationHandle handle,
                          size_t bytes, CUdevice device, CUdeviceptr &base) {
  RINGATTN_TRY(checkCuda(d.memAddressReserve(&base, bytes, 0, 0, 0),
                         "cuMemAddressReserve"));
  if (CUresult r = d.memMap(base, bytes, 0, handle, 0); r != CUDA_SUCCESS) {
    d.memAddressFree(base, bytes);
    base = 0;
    return checkCuda(r, "cuMemMap");
  }
  CUmemAccessDesc access{};
  access.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  access.location.id = device;
  access.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
  if (CUresult r = d.memSetAccess(base, bytes, &access, 1); r != CUDA_SUCCESS) {
    d.memUnmap(base, bytes);
    d.memAddressFree(base, bytes);
    base = 0;
    return checkCuda(r, "cuMemSetAccess");
  }
  return RINGATTN_OK;
}

/// Pairs every send of this rank's programs with the receive it meets: the
/// k-th send from rank r to rank p meets the k-th receive on p from r.
ringattn_status matchSends(ringattn_context &c, CopyEngineRing &ce) {
  const ringattn_package &p = *c.package;
  for (int which = 0; which < 2; ++which) {
    const ringattn_program *programs = which ? p.backward : p.forward;
    const ringattn_program &mine = programs[c.rank];
    ce.sendSlot[which].assign(mine.num_ops, -1);
    std::vector<int> sent(p.cp, 0);
    for (int i = 0; i < mine.num_ops; ++i) {
      const ringattn_op &op = mine.ops[i];
      if (op.kind != RINGATTN_OP_SEND)
        continue;
      const ringattn_program &theirs = programs[op.peer];
      int k = sent[op.peer]++, seen = 0;
      for (int j = 0; j < theirs.num_ops; ++j) {
        const ringattn_op &recv = theirs.ops[j];
        if (recv.kind != RINGATTN_OP_RECV || recv.peer != c.rank ||
            seen++ != k)
          continue;
        bool dkv = op.buffer.kind == RINGATTN_BUFFER_DKV_RING;
        bool into = recv.buffer.kind == RINGATTN_BUFFER_DKV_RING;
        if (dkv == into)
          ce.sendSlot[which][i] = ce.layout.slotOf(recv.buffer);
        break;
      }
      if (ce.sendSlot[which][i] < 0)
        return invalid(std::string("package: the ") +
                       (which ? "backward" : "forward") + " program of rank " +
                       std::to_string(c.rank) + " sends to rank " +
                       std::to_string(op.peer) +
                       " without a matching receive of the same buffer kind");
    }
  }
  return RINGATTN_OK;
}

void notify(CopyEngineRing &ce, char what) {
  for (CopyEngineRing::Peer &peer : ce.peers)
    if (peer.out >= 0)
      send(peer.out, &what, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
}

bool streamsBusy(ringattn_context &c, const Driver &d) {
  for (CUstream s : {c.commStream, c.backgroundStream})
    if (s && d.streamQuery(s) == CUDA_ERROR_NOT_READY)
      return true;
  return false;
}

} // namespace

namespace ringattn::runtime {

WindowLayout::WindowLayout(const ringattn_package &package,
                           int64_t kvElements)
    : cp(static_cast<int>(package.cp)), kvSlots(package.kv_ring_slots),
      dkvSlots(package.dkv_ring_slots),
      kvBytes(alignUp(2 * kvElements, kAlign)),
      dkvBytes(alignUp(8 * kvElements, kAlign)) {
  bytes = 2 * kvSlots * kvBytes + dkvSlots * dkvBytes;
  flagBytes = alignUp(4 * int64_t(slots()) * (cp + 1), 4096);
}

int WindowLayout::slotOf(ringattn_buffer_ref buffer) const {
  return buffer.kind == RINGATTN_BUFFER_DKV_RING ? kvSlots + buffer.slot
                                                 : buffer.slot;
}

int64_t WindowLayout::kvOffset(int slot, int which) const {
  return (2 * int64_t(slot) + which) * kvBytes;
}

int64_t WindowLayout::dkvOffset(int slot) const {
  return 2 * kvSlots * kvBytes + int64_t(slot) * dkvBytes;
}

int64_t WindowLayout::fullOffset(int slot) const { return 4 * int64_t(slot); }

int64_t WindowLayout::grantOffset(int receiver, int slot) const {
  return 4 * (slots() + int64_t(receiver) * slots() + slot);
}

ringattn_status joinCopyEngineRing(ringattn_context &c, const Driver &d,
                                   const ringattn_unique_id &id) {
  c.ce = std::make_unique<CopyEngineRing>();
  CopyEngineRing &ce = *c.ce;
  const ringattn_package &p = *c.package;
  int cp = static_cast<int>(p.cp);
  CUdevice device = c.module->device;
  ce.layout = WindowLayout(p, c.kvElements);
  ce.peers.resize(cp);
  RINGATTN_TRY(matchSends(c, ce));

  // The window: exportable, mapped here, its flags zeroed.
  CUmemAllocationProp prop = windowProperties(device);
  size_t granularity = 0;
  RINGATTN_TRY(checkCuda(
      d.memGetAllocationGranularity(&granularity, &prop,
                                    CU_MEM_ALLOC_GRANULARITY_RECOMMENDED),
      "cuMemGetAllocationGranularity"));
  ce.mappedBytes = static_cast<size_t>(
      alignUp(ce.layout.bytes, static_cast<int64_t>(granularity)));
  RINGATTN_TRY(checkCuda(d.memCreate(&ce.handle, ce.mappedBytes, &prop, 0),
                         "cuMemCreate (the copy-engine window)"));
  RINGATTN_TRY(mapWindow(d, ce.handle, ce.mappedBytes, device, ce.base));
  for (int s = 0; s < ce.layout.kvSlots; ++s)
    for (int which = 0; which < 2; ++which)
      c.kvRing[2 * s + which] = ce.base + ce.layout.kvOffset(s, which);
  for (int s = 0; s < ce.layout.dkvSlots; ++s)
    c.dkvRing[s] = ce.base + ce.layout.dkvOffset(s);
  int windowFd = -1;
  RINGATTN_TRY(checkCuda(
      d.memExportToShareableHandle(&windowFd, ce.handle,
                                   CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR, 0),
      "cuMemExportToShareableHandle"));
  // The flags: zero-filled shared host memory.
  int flagFd = memfd_create("ringattn-flags", MFD_CLOEXEC);
  if (flagFd < 0 || ftruncate(flagFd, ce.layout.flagBytes) != 0) {
    ringattn_status status = socketError("creating the flag segment");
    close(windowFd);
    if (flagFd >= 0)
      close(flagFd);
    return status;
  }
  if (ringattn_status status =
          mapFlags(d, flagFd, static_cast<size_t>(ce.layout.flagBytes),
                   ce.flags);
      status != RINGATTN_OK) {
    close(windowFd);
    return status;
  }
  const int mine[2] = {windowFd, flagFd};

  // Meet the peers: listen, greet each, take each one's greeting.
  Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(c.timeoutMs);
  Hello hello{};
  hello.magic = kHelloMagic;
  hello.cp = static_cast<uint32_t>(cp);
  hello.windowBytes = static_cast<int64_t>(ce.mappedBytes);
  hello.identity = identityOf(c);
  std::vector<RankIdentity> identities(cp);
  identities[c.rank] = hello.identity;
  std::vector<int> fds(cp, -1), flagFds(cp, -1);
  auto closeAll = [&](ringattn_status status) {
    close(windowFd);
    for (int &fd : fds)
      if (fd >= 0)
        close(fd);
    for (int &fd : flagFds)
      if (fd >= 0)
        close(fd);
    return status;
  };
  int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0)
    return closeAll(socketError("socket"));
  sockaddr_un address;
  socklen_t length = addressOf(socketName(id, c.rank), address);
  if (bind(listener, reinterpret_cast<sockaddr *>(&address), length) != 0 ||
      listen(listener, cp) != 0) {
    ringattn_status status =
        errno == EADDRINUSE
            ? fail(RINGATTN_ERROR_INVALID_ARGUMENT,
                   "rank " + std::to_string(c.rank) +
                       " of this ring's id already has a context on this host")
            : socketError("listening for the ring's peers");
    close(listener);
    return closeAll(status);
  }
  ringattn_status status = RINGATTN_OK;
  for (int peer = 0; peer < cp && status == RINGATTN_OK; ++peer)
    if (peer != c.rank)
      status = greet(c, id, peer, hello, mine, deadline, ce.peers[peer].out);
  for (int joined = 1; joined < cp && status == RINGATTN_OK; ++joined) {
    pollfd waiting{listener, POLLIN, 0};
    int ready = poll(&waiting, 1, static_cast<int>(msLeft(deadline)));
    if (ready < 0 && errno == EINTR) {
      --joined;
      continue;
    }
    if (ready <= 0) {
      status = tooSlow(c, "not every peer joined");
      break;
    }
    int s = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (s < 0) {
      status = socketError("accepting a peer");
      break;
    }
    Hello theirs{};
    int fd[2] = {-1, -1};
    status = receiveHello(c, s, deadline, theirs, fd);
    int r = static_cast<int>(theirs.identity.rank);
    if (status == RINGATTN_OK &&
        (theirs.cp != hello.cp || r < 0 || r >= cp || r == c.rank ||
         ce.peers[r].in >= 0))
      status = fail(RINGATTN_ERROR_CONFIG_MISMATCH,
                    "rank " + std::to_string(c.rank) + ": a peer joined as rank " +
                        std::to_string(r) + " of " + std::to_string(theirs.cp) +
                        " (ring of " + std::to_string(cp) +
                        "; each rank joins once with its own rank)");
    if (status != RINGATTN_OK) {
      close(s);
      for (int f : fd)
        if (f >= 0)
          close(f);
      break;
    }
    ce.peers[r].in = s;
    fds[r] = fd[0];
    flagFds[r] = fd[1];
    identities[r] = theirs.identity;
    if (theirs.windowBytes != hello.windowBytes)
      identities[r].configHash = ~hello.identity.configHash; // a mismatch
  }
  close(listener);
  if (status == RINGATTN_OK)
    status = checkIdentities(c, identities);
  // Map the peers' windows (every peer: a receiver writes its grants into
  // the sender's window, a sender its data and flags into the receiver's).
  for (int peer = 0; peer < cp && status == RINGATTN_OK; ++peer) {
    if (peer == c.rank)
      continue;
    CopyEngineRing::Peer &other = ce.peers[peer];
    status = checkCuda(d.memImportFromShareableHandle(
                           &other.handle,
                           reinterpret_cast<void *>(
                               static_cast<uintptr_t>(fds[peer])),
                           CU_MEM_HANDLE_TYPE_POSIX_FILE_DESCRIPTOR),
                       "cuMemImportFromShareableHandle");
    if (status == RINGATTN_OK &&
        (status = mapWindow(d, other.handle, ce.mappedBytes, device,
                            other.base)) != RINGATTN_OK)
      status = fail(status, std::string(ringattn_last_error()) +
                                " (mapping rank " + std::to_string(peer) +
                                "'s window: the copy-engine transport needs "
                                "peer access between every pair of GPUs; "
                                "RINGATTN_TRANSPORT=nccl does not)");
    if (status == RINGATTN_OK) {
      status = mapFlags(d, flagFds[peer],
                        static_cast<size_t>(ce.layout.flagBytes), other.flags);
      flagFds[peer] = -1; // the segment keeps it
    }
  }
  return closeAll(status);
}

ringattn_status postCopyEngineGroup(ringattn_context &c, const Driver &d,
                                    bool backward, int first, int last,
                                    const Tensors &t, CUstream on) {
  CopyEngineRing &ce = *c.ce;
  const WindowLayout &w = ce.layout;
  const ringattn_program &program =
      backward ? c.package->backward[c.rank] : c.package->forward[c.rank];
  auto write = [&](CUdeviceptr flag, uint32_t value) {
    return checkCuda(d.streamWriteValue32(on, flag, value,
                                          CU_STREAM_WRITE_VALUE_DEFAULT),
                     "cuStreamWriteValue32");
  };
  auto take = [&](CUdeviceptr flag) {
    RINGATTN_TRY(checkCuda(
        d.streamWaitValue32(on, flag, 1, CU_STREAM_WAIT_VALUE_EQ),
        "cuStreamWaitValue32"));
    return write(flag, 0);
  };
  auto copy = [&](CUdeviceptr to, const void *from, int64_t bytes) {
    return checkCuda(d.memcpyDtoDAsync(to, reinterpret_cast<CUdeviceptr>(from),
                                       static_cast<size_t>(bytes), on),
                     "cuMemcpyDtoDAsync");
  };
  // Grants first: every rank's sends of the group can then go.
  for (int i = first; i < last; ++i) {
    const ringattn_op &op = program.ops[i];
    if (op.kind == RINGATTN_OP_RECV)
      RINGATTN_TRY(write(ce.peers[op.peer].flags.device +
                             w.grantOffset(c.rank, w.slotOf(op.buffer)),
                         1));
  }
  for (int i = first; i < last; ++i) {
    const ringattn_op &op = program.ops[i];
    if (op.kind != RINGATTN_OP_SEND)
      continue;
    int slot = ce.sendSlot[backward][i];
    CUdeviceptr peer = ce.peers[op.peer].base;
    RINGATTN_TRY(take(ce.flags.device + w.grantOffset(op.peer, slot)));
    int64_t kvBytes = 2 * c.kvElements;
    if (op.buffer.kind == RINGATTN_BUFFER_DKV_RING) {
      RINGATTN_TRY(copy(peer + w.dkvOffset(slot - w.kvSlots),
                        reinterpret_cast<const void *>(c.dkvRing[op.buffer.slot]),
                        4 * kvBytes));
    } else {
      const void *k = t.k, *v = t.v;
      if (op.buffer.kind == RINGATTN_BUFFER_KV_RING) {
        k = reinterpret_cast<const void *>(c.kvRing[2 * op.buffer.slot]);
        v = reinterpret_cast<const void *>(c.kvRing[2 * op.buffer.slot + 1]);
      }
      RINGATTN_TRY(copy(peer + w.kvOffset(slot, 0), k, kvBytes));
      RINGATTN_TRY(copy(peer + w.kvOffset(slot, 1), v, kvBytes));
    }
    RINGATTN_TRY(write(ce.peers[op.peer].flags.device + w.fullOffset(slot), 1));
  }
  for (int i = first; i < last; ++i) {
    const ringattn_op &op = program.ops[i];
    if (op.kind == RINGATTN_OP_RECV)
      RINGATTN_TRY(take(ce.flags.device + w.fullOffset(w.slotOf(op.buffer))));
  }
  return RINGATTN_OK;
}

ringattn_status checkCopyEnginePeers(ringattn_context &c) {
  std::lock_guard<std::mutex> lock(c.mutex); // the watchdog sets `left`
  for (size_t r = 0; r < c.ce->peers.size(); ++r)
    if (c.ce->peers[r].left)
      return fail(RINGATTN_ERROR_CONTEXT_FAILED,
                  "rank " + std::to_string(r) +
                      " has left the ring (destroyed its context)");
  return RINGATTN_OK;
}

void tendCopyEngine(ringattn_context &c, const Driver &d) {
  CopyEngineRing &ce = *c.ce;
  for (size_t r = 0; r < ce.peers.size(); ++r) {
    CopyEngineRing::Peer &peer = ce.peers[r];
    while (peer.in >= 0 && !peer.gone) {
      char notice = 0;
      ssize_t got = recv(peer.in, &notice, 1, MSG_DONTWAIT);
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      if (got < 0 && errno == EINTR)
        continue;
      if (got == 1 && notice == kGoodbye) {
        std::lock_guard<std::mutex> lock(c.mutex);
        peer.left = true;
        continue;
      }
      // A failure notice, or the connection's end without a goodbye.
      peer.gone = true;
      if (!peer.left)
        failContext(c, RINGATTN_ERROR_TIMEOUT,
                    "rank " + std::to_string(r) +
                        (got == 1 ? "'s ring failed" : " exited") +
                        ": the ring cannot progress");
    }
  }
  if (c.error.load() == RINGATTN_OK)
    return;
  if (!ce.toldPeers) {
    notify(ce, kFailed);
    ce.toldPeers = true;
  }
  if (!streamsBusy(c, d))
    return;
  // Release this rank's waits: every wait for data (what comes now is not
  // used: the context has failed), and the waits for a grant from a peer
  // that failed or left (it computes nothing more with its slots). A grant
  // from a live peer is waited for: that peer is told and fails in turn.
  // The flags are reset by the waits they release, so this repeats until
  // the streams drain.
  const WindowLayout &w = ce.layout;
  auto release = [&](int64_t offset, int count) {
    auto *flag = reinterpret_cast<uint32_t *>(
        static_cast<char *>(ce.flags.host) + offset);
    for (int i = 0; i < count; ++i)
      __atomic_store_n(flag + i, 1u, __ATOMIC_RELEASE);
  };
  release(w.fullOffset(0), w.slots());
  for (size_t r = 0; r < ce.peers.size(); ++r)
    if (ce.peers[r].gone || ce.peers[r].left)
      release(w.grantOffset(static_cast<int>(r), 0), w.slots());
}

void releaseCopyEngine(ringattn_context &c, const Driver &d) {
  CopyEngineRing &ce = *c.ce;
  if (c.error.load() == RINGATTN_OK)
    notify(ce, kGoodbye);
  else if (!ce.toldPeers)
    notify(ce, kFailed);
  for (CopyEngineRing::Peer &peer : ce.peers) {
    for (int *fd : {&peer.in, &peer.out})
      if (*fd >= 0) {
        close(*fd);
        *fd = -1;
      }
    if (peer.base) {
      d.memUnmap(peer.base, ce.mappedBytes);
      d.memAddressFree(peer.base, ce.mappedBytes);
    }
    if (peer.handle)
      d.memRelease(peer.handle);
    unmapFlags(d, peer.flags);
  }
  unmapFlags(d, ce.flags);
  if (ce.base) {
    d.memUnmap(ce.base, ce.mappedBytes);
    d.memAddressFree(ce.base, ce.mappedBytes);
  }
  if (ce.handle)
    d.memRelease(ce.handle);
  c.ce.reset();
}

} // namespace ringattn::runtime
