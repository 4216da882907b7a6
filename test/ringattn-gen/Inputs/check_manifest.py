"""Checks a manifest.json written by ringattn-gen.

usage: check_manifest.py MANIFEST [--case zigzag-cp4 | contiguous | cp1]

Always checks what must hold for every configuration, recomputing it here from
the configuration alone: the layout, every visible chunk pair computed exactly
once on the rank that holds its q chunk, work and balance, hop counts and
bytes, transfer ids in the programs, buffer totals, and that the output
directory holds exactly the listed files. --case adds the facts of one case.
Exits non-zero with a message on the first failure.
"""

import argparse
import json
import os
import sys

ELEMENT_BYTES = {"bf16": 2, "fp16": 2, "fp32": 4}


def fail(message):
    sys.exit("check_manifest: " + message)


def expect(condition, message):
    if not condition:
        fail(message)


def visible_pairs(config, num_chunks):
    pairs = {}
    for q in range(num_chunks):
        for kv in range(num_chunks):
            if not config["causal"] or q > kv:
                pairs[(q, kv)] = "full"
            elif q == kv:
                pairs[(q, kv)] = "diagonal"
    return pairs


def check_layout(manifest):
    config, layout = manifest["config"], manifest["layout"]
    cp, seq = config["cp"], config["seq"]
    zigzag = config["layout"] == "zigzag"
    expect(layout["num_chunks"] == (2 * cp if zigzag else cp), "num_chunks")
    expect(layout["chunk_length"] * layout["num_chunks"] == seq, "chunk_length")
    expect(layout["local_length"] * cp == seq, "local_length")
    expect(len(layout["ranks"]) == cp, "one layout entry per rank")
    for entry in layout["ranks"]:
        rank = entry["rank"]
        expected = [rank, 2 * cp - 1 - rank] if zigzag else [rank]
        expect(entry["chunks"] == expected, f"rank {rank} chunks")
        for chunk in entry["chunks"]:
            expect(layout["chunk_to_rank"][chunk] == rank, f"chunk {chunk} map")
        length = layout["chunk_length"]
        expect(entry["position_ranges"] ==
               [{"begin": c * length, "end": (c + 1) * length}
                for c in expected], f"rank {rank} position ranges")


def owner_last(config, direction):
    """Whether the backward's accumulators end at their owners (step s
    recomputes the forward's step (s+1) % cp): everywhere but causal
    contiguous, where rank 0 computes only its own shard."""
    return direction == "backward" and not (
        config["layout"] == "contiguous" and config["causal"])


def check_schedule(manifest, direction):
    config, layout = manifest["config"], manifest["layout"]
    schedule = manifest[direction]
    cp = config["cp"]
    shift = 1 if owner_last(config, direction) else 0
    expected_pairs = visible_pairs(config, layout["num_chunks"])
    seen = {}
    work = schedule["work"]["per_rank_and_step"]
    expect(len(schedule["ranks"]) == cp, f"{direction}: one entry per rank")
    for entry in schedule["ranks"]:
        rank = entry["rank"]
        expect(len(entry["steps"]) == cp, f"{direction}: rank {rank} steps")
        for step in entry["steps"]:
            s = step["step"]
            units = 0.0
            for pair in step["pairs"]:
                key = (pair["q"], pair["kv"])
                expect(key not in seen,
                       f"{direction}: pair {key} computed twice")
                seen[key] = pair["mask"]
                expect(layout["chunk_to_rank"][pair["q"]] == rank,
                       f"{direction}: rank {rank} computes q chunk {pair['q']}")
                expect(layout["chunk_to_rank"][pair["kv"]] ==
                       step["kv_shard_of_rank"],
                       f"{direction}: kv chunk {pair['kv']} not in the shard")
                expect(step["kv_shard_of_rank"] == (rank - s - shift) % cp,
                       f"{direction}: rank {rank} step {s} holds the wrong shard")
                units += 1.0 if pair["mask"] == "full" else 0.5
            expect(step["work"] == units == work[rank][s],
                   f"{direction}: work of rank {rank} step {s}")
    expect(seen == expected_pairs, f"{direction}: visible pairs not covered")
    balanced = all(len({work[r][s] for r in range(cp)}) == 1
                   for s in range(cp))
    expect(schedule["work"]["balanced"] == balanced, f"{direction}: balanced")

    kv_bytes = (2 * layout["local_length"] * config["kv_heads"] *
                config["head_dim"] * ELEMENT_BYTES[config["dtype"]])
    dkv_bytes = 2 * layout["local_length"] * config["kv_heads"] * \
        config["head_dim"] * 4
    transfers = schedule["transfers"]
    expect(transfers["kv"]["hops"] == cp - 1, f"{direction}: K/V hops")
    expect(transfers["kv"]["bytes_per_hop"] == kv_bytes,
           f"{direction}: K/V bytes per hop")
    if direction == "backward":
        expect(transfers["dkv"]["hops"] == (cp - shift if cp > 1 else 0),
               "backward: dK/dV hops")
        expect(transfers["dkv"]["bytes_per_hop"] == dkv_bytes,
               "backward: dK/dV bytes per hop")
    else:
        expect("dkv" not in transfers, "forward: no dK/dV transfers")

    for entry in schedule["ranks"]:
        posts, waited, computes = {}, set(), []
        for op in entry["program"]:
            if op["kind"] in ("send", "recv"):
                expect(op["transfer"] not in posts, "transfer ids are unique")
                posts[op["transfer"]] = op
                expect(op["bytes"] == (kv_bytes if op["payload"] == "kv"
                                       else dkv_bytes), "transfer bytes")
            elif op["kind"] == "wait":
                for transfer in op["transfers"]:
                    expect(transfer in posts, "a wait before its post")
                    waited.add(transfer)
            elif op["kind"] == "compute":
                computes.append(op["step"])
        expect(waited == set(posts), f"rank {entry['rank']}: unwaited posts")
        expect(computes == [s["step"] for s in entry["steps"] if s["pairs"]],
               f"rank {entry['rank']}: computes and the step table disagree")
        expect(entry["program"][-1]["kind"] == "finalize", "ends in finalize")


def check_buffers(manifest):
    for entry in manifest["buffers"]["per_rank"]:
        parts = (entry["kv_ring"]["bytes"] + entry["dkv_ring"]["bytes"] +
                 entry["dkv_partial"]["bytes"] + entry["o_accumulator"] +
                 entry["lse_accumulator"] + entry["dq_accumulator"])
        expect(entry["total_bytes"] == parts, "buffer total")


def check_case(manifest, case):
    forward, backward = manifest["forward"], manifest["backward"]
    if case == "zigzag-cp4":
        steps = forward["ranks"][0]["steps"]
        expect([(p["q"], p["kv"], p["mask"]) for p in steps[0]["pairs"]] ==
               [(0, 0, "diagonal"), (7, 0, "full"), (7, 7, "diagonal")],
               "rank 0 step 0 pairs")
        expect(steps[0]["kv_buffer"] == {"kind": "kv_local", "slot": 0},
               "rank 0 step 0 reads kv_local[0]")
        # The backward sees the own shard (the diagonal pairs) last.
        for schedule, remote in ((forward, slice(1, None)),
                                 (backward, slice(0, -1))):
            for entry in schedule["ranks"]:
                for step in entry["steps"][remote]:
                    expect([p["mask"] for p in step["pairs"]] ==
                           ["full", "full"], "two full pairs at remote steps")
            expect(schedule["work"]["balanced"] is True, "zigzag is balanced")
        expect(backward["ranks"][0]["steps"][-1]["pairs"] == steps[0]["pairs"],
               "the backward's last step recomputes the forward's first")
        expect(forward["transfers"]["kv"]["bytes_per_hop"] ==
               2 * 8192 * 4 * 128 * 2, "K/V bytes per hop")
        expect(forward["transfers"]["kv"]["hops"] == 3, "3 K/V hops forward")
        expect(backward["transfers"]["dkv"]["hops"] == 3,
               "3 dK/dV hops backward")
        ring = manifest["buffers"]["per_rank"][0]
        expect(ring["kv_ring"] == {"slots": 2, "bytes": 2 * 16777216},
               "two K/V ring slots")
        expect(ring["dkv_ring"] == {"slots": 2, "bytes": 2 * 33554432},
               "two dK/dV ring slots")
    elif case == "contiguous":
        expect(forward["work"]["balanced"] is False,
               "contiguous forward is unbalanced")
        expect(backward["work"]["balanced"] is False,
               "contiguous backward is unbalanced")
        expect(forward["work"]["report"][-1].startswith("unbalanced"),
               "the report says unbalanced")
    elif case == "cp1":
        for schedule in (forward, backward):
            for entry in schedule["ranks"]:
                kinds = [op["kind"] for op in entry["program"]]
                expect(not {"send", "recv", "wait"} & set(kinds),
                       "cp=1 has no transfers")
            expect(schedule["transfers"]["kv"]["hops"] == 0, "no K/V hops")
        expect(backward["transfers"]["dkv"]["hops"] == 0, "no dK/dV hops")
    else:
        fail("unknown case " + case)


def expected_head_section(config, kernel):
    """Query heads whose CTAs run together: the reducing backward one head at
    a time, the deterministic one all of them; the forward and dQ kernels
    sections of whole K/V heads whose K and V (a rank's rows, 2 bytes an
    element) fit 32 MiB, the most K/V heads dividing kv_heads that do, at
    least one."""
    if kernel["role"] == "backward":
        return config["heads"] if kernel["deterministic"] else 1
    per_kv_head = 2 * (config["seq"] // config["cp"]) * config["head_dim"] * 2
    fit = max(1, (32 << 20) // per_kv_head)
    kv = max(d for d in range(1, config["kv_heads"] + 1)
             if config["kv_heads"] % d == 0 and d <= fit)
    return kv * config["heads"] // config["kv_heads"]


def check_kernels(manifest):
    """Every compute names a kernel the manifest describes (or, with
    --no-kernels, none does); every kernel is launched by some step (the
    backward's elementwise kernels by role) and is sane: one CTA row per head,
    no spills, its files listed."""
    kernels = {k["name"]: k for k in manifest["kernels"]}
    config = manifest["config"]
    named = set()
    for direction, keys in (("forward", ("kernel",)),
                            ("backward", ("kernel", "dq_kernel"))):
        for entry in manifest[direction]["ranks"]:
            for step in entry["steps"]:
                if step["pairs"]:
                    expect((step["kernel"] is None) == (not kernels),
                           "a step names a kernel iff kernels exist")
                for key in keys:
                    if step.get(key) is not None:
                        expect(step[key] in kernels,
                               "step kernel %s is described" % step[key])
                        named.add(step[key])
    roles = {k["role"] for k in kernels.values()}
    if kernels:
        expect({"forward", "backward", "preprocess", "accumulate",
                "finalize"} <= roles, "every kernel role is generated")
    launched_by_role = {k for k, v in kernels.items()
                        if v["role"] in ("preprocess", "accumulate", "finalize")}
    expect(named | launched_by_role == set(kernels),
           "every kernel is launched somewhere")
    for k in kernels.values():
        heads = config["kv_heads"] if k["role"] == "backward" else config["heads"]
        if k["role"] in ("forward", "backward", "backward_dq"):
            expect(k["grid"][0] == heads and k["grid"][1] >= 1 and
                   k["work_items"] == k["grid"][1],
                   "kernel grid: heads x work items")
            expect(k["head_section"] == expected_head_section(config, k),
                   "kernel %s: head_section %d (expected %d)" %
                   (k["name"], k["head_section"],
                    expected_head_section(config, k)))
        if k["role"] == "backward":
            # Adds into zeroed partials only where query heads share a K/V
            # head; otherwise one CTA stores each row.
            expect(k["reads_accumulators"] ==
                   (not k["deterministic"] and
                    config["heads"] > config["kv_heads"]),
                   "backward %s reads_accumulators" % k["name"])
        expect(k["registers"] > 0 and k["spill_bytes"] == 0,
               "kernel %s uses registers and spills none" % k["name"])
        expect(k["shared_memory_bytes"] <= 232448, "shared memory fits")
        expect(k["ptx"] in manifest["files"] and k["cubin"] in manifest["files"],
               "kernel files are listed")
        expect(k["q_len"] == config["seq"] // config["cp"], "q_len per rank")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("manifest")
    parser.add_argument("--case")
    parser.add_argument("--sections", action="store_true",
                        help="also print each tiled kernel's role and "
                             "head_section, a line each")
    args = parser.parse_args()
    with open(args.manifest) as f:
        manifest = json.load(f)
    expect(manifest["format"] == "ringattn-manifest" and
           manifest["version"] == 3, "format and version")
    expect("per sequence" in manifest["conventions"]["sizes"],
           "sizes are said to be per sequence")
    check_kernels(manifest)
    directory = os.path.dirname(os.path.abspath(args.manifest))
    present = sorted(os.path.relpath(os.path.join(root, name), directory)
                     for root, _, names in os.walk(directory) for name in names)
    expect(present == sorted(manifest["files"] + ["manifest.json"]),
           "the directory holds exactly the listed files: " + ", ".join(present))
    check_layout(manifest)
    check_schedule(manifest, "forward")
    check_schedule(manifest, "backward")
    check_buffers(manifest)
    if args.case:
        check_case(manifest, args.case)
    if args.sections:
        for k in manifest["kernels"]:
            if k["head_section"]:
                print("section:", k["role"], k["head_section"])
    print("manifest ok: " + manifest["config"]["description"])


if __name__ == "__main__":
    main()
