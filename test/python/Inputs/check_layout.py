"""Checks ringattn.layout (plain Python) against the layouts' definitions and
against the manifests ringattn-gen wrote.

usage: check_layout.py PYTHON_DIR [GENERATED_DIR ...]
"""

import copy
import json
import os
import sys

sys.path.insert(0, sys.argv[1])
from checking import check, error_of, finish  # noqa: E402
from ringattn.layout import Layout  # noqa: E402



# The definition: zigzag rank r holds chunks r and 2cp-1-r; contiguous chunk r.
z4 = Layout.zigzag(4, 64)
print("zigzag cp=4: chunk_to_rank " + " ".join(str(r) for r, _, _ in z4.pieces()))
print(f"zigzag cp=4 rank 1: ranges {z4.ranges(1)}")
check(z4.positions(1) == list(range(8, 16)) + list(range(48, 56)), "zigzag positions")
check(z4.rank_chunks == [[0, 7], [1, 6], [2, 5], [3, 4]], "zigzag chunks")
c2 = Layout.contiguous(2, 8)
print(f"contiguous cp=2 rank 1: positions {c2.positions(1)}")

for make in (Layout.zigzag, Layout.contiguous):
    for cp in (1, 2, 3, 4, 5, 8):
        seq = 2 * cp * 6
        layout = make(cp, seq)
        everything = sorted(p for r in range(cp) for p in layout.positions(r))
        check(everything == list(range(seq)), f"{layout}: positions partition the sequence")
        check(all(len(layout.positions(r)) == layout.local_length for r in range(cp)),
              f"{layout}: every rank holds local_length tokens")
        sequence = [f"t{i}" for i in range(seq)]
        locals_ = [layout.shard_list(sequence, r) for r in range(cp)]
        check(all(locals_[r] == [f"t{p}" for p in layout.positions(r)] for r in range(cp)),
              f"{layout}: shard_list follows positions")
        check(layout.unshard_lists(locals_) == sequence, f"{layout}: unshard(shard) is identity")
        for p in range(seq):
            r, i = layout.owner(p)
            check(layout.positions(r)[i] == p, f"{layout}: owner({p})")
        if make is Layout.zigzag:
            # Every rank: the front chunk is chunk r, the back chunk 2cp-1-r.
            L = layout.chunk_length
            check(all(layout.positions(r)[0] == r * L and
                      layout.positions(r)[L] == (2 * cp - 1 - r) * L for r in range(cp)),
                  f"{layout}: front and back chunks")
print("definitions checked")

# Error messages.
print(error_of(lambda: z4.positions(4)))
print(error_of(lambda: z4.positions(-1)))
print(error_of(lambda: z4.positions("1")))
print(error_of(lambda: z4.shard_list(list(range(16)), 0)))
print(error_of(lambda: z4.unshard_lists([[0] * 16] * 3)))
print(error_of(lambda: z4.unshard_lists([[0] * 64] * 4)))
print(error_of(lambda: Layout.zigzag(4, 100)))
print(error_of(lambda: z4.owner(64)))

# The generated manifests: the same maps as the definitions.
for directory in sys.argv[2:]:
    with open(os.path.join(directory, "manifest.json")) as f:
        manifest = json.load(f)
    layout = Layout.from_manifest(manifest)
    cp, seq = manifest["config"]["cp"], manifest["config"]["seq"]
    kind = manifest["config"]["layout"]
    expected = (Layout.zigzag if kind == "zigzag" else Layout.contiguous)(cp, seq)
    check(layout.rank_chunks == expected.rank_chunks and
          layout.chunk_length == expected.chunk_length,
          f"{directory}: manifest layout {layout} is not the definition {expected}")
    for entry in manifest["layout"]["ranks"]:
        want = [p for r in entry["position_ranges"] for p in range(r["begin"], r["end"])]
        check(layout.positions(entry["rank"]) == want,
              f"{directory}: rank {entry['rank']} positions")
    print(f"manifest {kind} cp={cp} seq={seq}: {layout.rank_chunks}, "
          f"local_length {layout.local_length}")
    # A manifest whose parts disagree is refused.
    bad = copy.deepcopy(manifest)
    owners = bad["layout"]["chunk_to_rank"]
    bad["layout"]["chunk_to_rank"] = owners[1:] + owners[:1]
    if bad["layout"]["chunk_to_rank"] != manifest["layout"]["chunk_to_rank"]:
        print("  tampered chunk_to_rank: " + error_of(lambda: Layout.from_manifest(bad)))
    bad = copy.deepcopy(manifest)
    bad["layout"]["ranks"][0]["position_ranges"][0]["end"] += 1
    print("  tampered position_ranges: " + error_of(lambda: Layout.from_manifest(bad)))
    bad = copy.deepcopy(manifest)
    del bad["layout"]
    print("  no layout: " + error_of(lambda: Layout.from_manifest(bad)))

finish()
