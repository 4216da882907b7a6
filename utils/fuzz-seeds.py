#!/usr/bin/env python3
"""Seed corpora of the three fuzz targets, made from the lit tests.

    utils/fuzz-seeds.py OUTDIR

writes OUTDIR/ir (every .mlir input under test/, one file per
`// -----` split, CHECK and RUN comments dropped), OUTDIR/flags (every
ringattn-gen command line of test/ringattn-gen, one argument per line, as
FlagsFuzzer.cpp reads them, and each integer flag at the edges of 64 bits) and OUTDIR/api (one structured input per call of
runtime/fuzz/ApiFuzzer.cpp, encoded the way its FuzzedDataProvider reads
them back: well-formed kernels and a consistent two-rank package, from which
the mutations start). utils/check-hardened.sh runs it.
"""

import hashlib
import pathlib
import re
import shlex
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
TEST = ROOT / "test"


def write(directory, name, data):
    directory.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    digest = hashlib.sha1(data).hexdigest()[:12]
    (directory / f"{name}-{digest}").write_bytes(data)


# ----------------------------------------------------------------------------
# IR: the .mlir tests.
# ----------------------------------------------------------------------------

COMMENT = re.compile(r"^\s*//")


def ir_seeds(out):
    count = 0
    for path in sorted(TEST.rglob("*.mlir")):
        if "GPU" in path.parts:
            continue
        text = path.read_text()
        for i, split in enumerate(re.split(r"^// -----\s*$", text, flags=re.M)):
            body = "\n".join(l for l in split.splitlines()
                             if not COMMENT.match(l)).strip()
            if body:
                write(out, f"{path.stem}.{i}", body + "\n")
                count += 1
    return count


# ----------------------------------------------------------------------------
# Flags: ringattn-gen's command lines in the lit tests.
# ----------------------------------------------------------------------------

def run_lines(path):
    """The RUN commands of a lit test, continuation lines joined."""
    command = ""
    for line in path.read_text().splitlines():
        m = re.match(r"^#\s*RUN:\s?(.*)$", line)
        if not m:
            continue
        part = m.group(1)
        if part.endswith("\\"):
            command += part[:-1] + " "
            continue
        yield command + part
        command = ""


def flag_seeds(out):
    count = 0
    for path in sorted((TEST / "ringattn-gen").glob("*.test")):
        for command in run_lines(path):
            try:
                words = shlex.split(command)
            except ValueError:
                continue
            # `ringattn-gen ARGS` or `%{fail} ARGS` (expect_usage_error.py).
            starts = [i for i, w in enumerate(words)
                      if w in ("ringattn-gen", "%{fail}")]
            for start in starts:
                args = []
                for w in words[start + 1:]:
                    if w in ("|", ">", "2>", "&&", ";") or w.startswith(">"):
                        break
                    args.append(w.replace("%t", "/nonexistent/ringattn-fuzz"))
                write(out, path.stem, "\n".join(args))
                count += 1
    # Every integer flag at the edges of 64 bits (the checks multiply them).
    base = {"--cp": "4", "--seq": "64", "--heads": "8", "--kv-heads": "2",
            "--head-dim": "64"}
    for flag in base:
        for edge in ("-9223372036854775808", "-1", "0", "4611686018427387904",
                     "9223372036854775807"):
            args = []
            for name, value in base.items():
                args += [name, edge if name == flag else value]
            for layout in ("zigzag", "contiguous"):
                write(out, "edges", "\n".join(
                    args + ["--layout", layout, "--no-kernels", "-o",
                            "/nonexistent/ringattn-fuzz"]))
                count += 1
    return count


# ----------------------------------------------------------------------------
# API: FuzzedDataProvider inputs for ApiFuzzer.cpp.
# ----------------------------------------------------------------------------

class Provider:
    """Builds an input that FuzzedDataProvider reads back as the values given:
    integers are taken from the end of the data, most significant byte
    first."""

    def __init__(self):
        self.front = b""
        self.tail = []

    def string(self, value):
        """ConsumeRandomLengthString: from the front, up to a backslash
        followed by another byte."""
        self.front += value.replace(b"\\", b"\\\\") + b"\\x"

    def integer(self, value, lo, hi, bits=32):
        span = hi - lo
        assert lo <= value <= hi
        raw = value - lo
        nbytes, offset = 0, 0
        while offset < bits and (span >> offset) > 0:
            nbytes += 1
            offset += 8
        self.tail += list(raw.to_bytes(nbytes, "big"))

    def int64(self, value):
        self.integer(value, -(1 << 63), (1 << 63) - 1, 64)

    def boolean(self, value):
        self.tail.append(1 if value else 0)

    def data(self):
        return self.front + bytes(reversed(self.tail))


def pointer(p, kind):
    """0: null, 1: an aligned buffer, 2: misaligned."""
    p.integer(kind, 0, 2)
    if kind == 2:
        p.integer(1, 1, 15)


def kernel(p, role, head_dim=128):
    p.boolean(True)  # name "k"
    p.integer(role, -1, 6)
    tiled = role in (0, 1, 2)
    for value in (32, 384 if tiled else 256, 100000 if tiled else 0,
                  4096, 4096, 8, 2):
        p.int64(value)  # grid_x, block, shared_bytes, q_len, kv_len, heads, kv_heads
    if head_dim == 128:
        p.boolean(True)
    else:
        p.boolean(False)
        p.int64(head_dim)
    p.integer(0, -1, 2)  # bf16
    p.int64(128 if tiled else 0)
    p.int64(128 if tiled else 0)
    p.boolean(False)  # reads_accumulators
    p.boolean(True)  # writes_final


def op(p, kind, step=-1, hop=-1, peer=-1, transfer=-1, buffer=(-1, 0),
       buffer2=(-1, 0), kernel_index=-1, dq_kernel=-1, first_wait=-1,
       num_waits=-1):
    p.integer(kind, -1, 6)
    p.integer(step, -1, 9)
    p.integer(hop, -1, 9)
    p.integer(peer, -1, 9)
    p.integer(transfer, -1, 9)
    p.integer(buffer[0], -2, 4)
    p.integer(buffer[1], -1, 9)
    p.integer(buffer2[0], -2, 4)
    p.integer(buffer2[1], -1, 9)
    p.integer(kernel_index, -1, 7)
    p.integer(dq_kernel, -2, 7)
    p.integer(first_wait, -1, 9)
    p.integer(num_waits, -1, 9)


SEND, RECV, WAIT, COMPUTE, ACCUMULATE, FINALIZE = range(6)
KV_LOCAL, KV_RING, DKV_PARTIAL, DKV_RING = range(4)


def program(p, rank, backward):
    """A two-rank program: post the hop, compute locally, wait, compute on
    the received K/V (as ringattn-gen's packages do, in miniature)."""
    peer = 1 - rank
    kernel_index = 1 if backward else 0
    ops = [
        dict(kind=SEND, hop=0, peer=peer, transfer=0, buffer=(KV_LOCAL, 0)),
        dict(kind=RECV, hop=0, peer=peer, transfer=1, buffer=(KV_RING, 0)),
        dict(kind=COMPUTE, step=0, buffer=(KV_LOCAL, 0),
             buffer2=(DKV_PARTIAL, 0) if backward else (-1, 0),
             kernel_index=kernel_index),
        dict(kind=WAIT, first_wait=0, num_waits=2),
        dict(kind=COMPUTE, step=1, buffer=(KV_RING, 0),
             buffer2=(DKV_RING, 0) if backward else (-1, 0),
             kernel_index=kernel_index),
        dict(kind=FINALIZE, buffer=(DKV_RING, 0) if backward else (-1, 0)),
    ]
    p.integer(len(ops), 0, 8)
    for o in ops:
        op(p, **o)
    waits = [1, 0]
    p.integer(len(waits), 0, 6)
    for w in waits:
        p.integer(w, -1, 9)
    p.integer(2, -1, 9)  # num_transfers


def package(p):
    """A consistent package: cp=2, zigzag chunks, one kernel per role."""
    p.boolean(True)  # abi
    p.integer(2, -1, 9, 64)  # cp
    p.integer(2, 0, 3)  # chunks_per_rank
    p.integer(64, -2, 64, 64)  # chunk_length
    p.boolean(True)  # local_length = chunks_per_rank * chunk_length
    p.boolean(True)  # seq = cp * local_length
    p.integer(8, -1, 70000, 64)  # heads
    p.integer(2, -1, 64, 64)  # kv_heads
    p.boolean(True)  # head_dim 64
    p.integer(0, -1, 2)  # bf16
    for chunk in (0, 3, 1, 2):
        p.integer(chunk, -1, 4, 64)
    p.boolean(True)  # rank_chunks
    p.integer(2, -1, 9)  # kv_ring_slots
    p.integer(2, -1, 9)  # dkv_ring_slots
    p.boolean(True)  # cubin_size
    roles = [0, 1, 3, 4, 5]  # forward, backward, preprocess, accumulate, finalize
    p.integer(len(roles), 0, 6)
    for role in roles:
        kernel(p, role)
    p.integer(2, -1, 6)  # preprocess_kernel
    p.integer(3, -1, 6)  # accumulate_kernel
    p.integer(4, -1, 6)  # finalize_kernel
    for i in range(4):  # forward ranks 0, 1, then backward ranks 0, 1
        program(p, i % 2, backward=i >= 2)
    p.boolean(True)  # forward


def api_seeds(out):
    count = 0

    def emit(name, build):
        nonlocal count
        p = Provider()
        p.integer(2, -1, 70000, 64)  # batch
        build(p)
        write(out, name, p.data())
        count += 1

    def launch_forward(p):
        p.integer(0, 0, 9)
        kernel(p, 0)
        for kind in (1, 1, 1, 1, 1, 1, 1):  # q k v o_acc lse_acc out lse
            pointer(p, kind)
        for b in (True, True, True):
            p.boolean(b)

    def launch_forward_misaligned(p):
        p.integer(0, 0, 9)
        kernel(p, 0, head_dim=64)
        for kind in (1, 2, 1, 0, 1, 1, 1):
            pointer(p, kind)
        for b in (True, True, True):
            p.boolean(b)

    def launch_backward(p):
        p.integer(1, 0, 9)
        kernel(p, 1)
        for kind in (1,) * 9:
            pointer(p, kind)

    def launch_helpers(p):
        p.integer(2, 0, 9)
        kernel(p, 3)
        for kind in (1,) * 4 + (1,) * 2 + (1,) * 6:
            pointer(p, kind)

    def package_check(p):
        p.integer(3, 0, 9)
        package(p)

    def position_ids(p):
        p.integer(4, 0, 9)
        package(p)
        p.integer(1, -1, 9)  # rank
        p.integer(128, 0, 1024, 64)  # count = local_length

    def shard(p):
        p.integer(5, 0, 9)
        package(p)
        p.integer(0, -1, 9)
        p.int64(256)  # row_bytes
        p.boolean(True)
        pointer(p, 1)
        pointer(p, 1)

    def create(p):
        p.integer(6, 0, 9)
        package(p)
        p.integer(0, -1, 9)  # rank
        p.boolean(True)  # id
        p.integer(10, -1, 10, 64)  # timeout_ms
        p.boolean(True)  # output

    def module_load(p):
        p.integer(7, 0, 9)
        cubin = b"\x7fELF\x02\x01\x01\x33" + bytes(24)
        p.string(cubin)  # the file's contents
        p.integer(5, 0, 5)  # a file holding them
        p.integer(0, -1, 8)  # device
        p.boolean(True)
        p.string(cubin)  # the image
        p.boolean(True)
        p.boolean(True)

    def context_calls(p):
        p.integer(8, 0, 9)
        for kind in (1, 1, 1, 1, 1):
            pointer(p, kind)
        p.boolean(True)
        p.integer(4, -1, 4)
        p.boolean(True)
        p.int64(1000)

    emit("launch-forward", launch_forward)
    emit("launch-forward-misaligned", launch_forward_misaligned)
    emit("launch-backward", launch_backward)
    emit("launch-helpers", launch_helpers)
    emit("package-check", package_check)
    emit("position-ids", position_ids)
    emit("shard", shard)
    emit("context-create", create)
    emit("module-load", module_load)
    emit("context-calls", context_calls)
    emit("unique-id", lambda p: p.integer(9, 0, 9))
    return count


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = pathlib.Path(sys.argv[1])
    counts = {
        "ir": ir_seeds(out / "ir"),
        "flags": flag_seeds(out / "flags"),
        "api": api_seeds(out / "api"),
    }
    print("fuzz seeds: " + ", ".join(f"{n} {c}" for n, c in counts.items()))


if __name__ == "__main__":
    main()
