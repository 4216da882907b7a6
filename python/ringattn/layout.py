"""The sequence layout of a generated package, in plain Python (no torch).

A package's manifest.json says how the global sequence of `seq` tokens is cut
into `num_chunks` chunks of `chunk_length` tokens and which chunks every rank
holds, in local order ("layout": chunk_to_rank, ranks[*].chunks and
position_ranges). The runtime's helpers (ringattn_shard, ringattn_unshard,
ringattn_position_ids in runtime/lib/Zigzag.cpp) follow the same chunk map:
local chunk i of rank r holds global tokens [c * L, (c + 1) * L) for
c = ranks[r].chunks[i], L = chunk_length, at local offset i * L.

Zigzag with cp ranks: 2 * cp chunks, rank r holds chunks r and 2 * cp - 1 - r
(front, then back). Contiguous: cp chunks, rank r holds chunk r.
"""

import json
import os


class Layout:
    """The chunk map of one package (manifest.json "layout" and "config")."""

    def __init__(self, kind, cp, seq, chunk_length, rank_chunks):
        self.kind = kind
        self.cp = int(cp)
        self.seq = int(seq)
        self.chunk_length = int(chunk_length)
        self.rank_chunks = [list(map(int, chunks)) for chunks in rank_chunks]
        self.num_chunks = sum(len(c) for c in self.rank_chunks)
        self.local_length = (len(self.rank_chunks[0]) * self.chunk_length
                             if self.rank_chunks else 0)
        self._check()

    # -- construction --------------------------------------------------------

    @classmethod
    def from_manifest(cls, manifest):
        """From a parsed manifest.json; checks that its parts agree."""
        try:
            config, layout = manifest["config"], manifest["layout"]
            ranks = sorted(layout["ranks"], key=lambda r: r["rank"])
            result = cls(layout["kind"], config["cp"], config["seq"],
                         layout["chunk_length"], [r["chunks"] for r in ranks])
        except (KeyError, TypeError) as error:
            raise ValueError(f"manifest.json has no complete layout ({error!r}); "
                             "was it written by ringattn-gen?") from None
        if [r["rank"] for r in ranks] != list(range(result.cp)):
            raise ValueError(f"manifest.json lists ranks {[r['rank'] for r in ranks]}; "
                             f"cp={result.cp} needs 0..{result.cp - 1}")
        if int(layout["num_chunks"]) != result.num_chunks:
            raise ValueError(f"manifest.json: num_chunks={layout['num_chunks']} but "
                             f"the ranks hold {result.num_chunks} chunks")
        if int(layout["local_length"]) != result.local_length:
            raise ValueError(f"manifest.json: local_length={layout['local_length']} "
                             f"but the ranks hold {result.local_length} tokens each")
        owner = [None] * result.num_chunks
        for rank, chunks in enumerate(result.rank_chunks):
            for c in chunks:
                owner[c] = rank
        if list(map(int, layout["chunk_to_rank"])) != owner:
            raise ValueError(f"manifest.json: chunk_to_rank={layout['chunk_to_rank']} "
                             f"disagrees with the ranks' chunks (owners {owner})")
        for rank, entry in enumerate(ranks):
            ranges = [(int(p["begin"]), int(p["end"])) for p in entry["position_ranges"]]
            if ranges != result.ranges(rank):
                raise ValueError(f"manifest.json: rank {rank}'s position_ranges {ranges} "
                                 f"disagree with its chunks ({result.ranges(rank)})")
        return result

    @classmethod
    def load(cls, directory):
        """From DIRECTORY/manifest.json (a ringattn-gen output directory)."""
        path = os.path.join(directory, "manifest.json")
        with open(path) as f:
            return cls.from_manifest(json.load(f))

    @classmethod
    def zigzag(cls, cp, seq):
        """The zigzag layout by its definition (what ringattn-gen emits)."""
        if cp < 1 or seq % (2 * cp):
            raise ValueError(f"seq={seq} must be a positive multiple of 2 * cp = {2 * cp}")
        return cls("zigzag", cp, seq, seq // (2 * cp),
                   [[r, 2 * cp - 1 - r] for r in range(cp)])

    @classmethod
    def contiguous(cls, cp, seq):
        if cp < 1 or seq % cp:
            raise ValueError(f"seq={seq} must be a positive multiple of cp = {cp}")
        return cls("contiguous", cp, seq, seq // cp, [[r] for r in range(cp)])

    def _check(self):
        if self.cp < 1 or len(self.rank_chunks) != self.cp:
            raise ValueError(f"layout: {len(self.rank_chunks)} ranks for cp={self.cp}")
        per_rank = {len(c) for c in self.rank_chunks}
        if len(per_rank) != 1:
            raise ValueError("layout: ranks hold different numbers of chunks")
        chunks = sorted(c for cs in self.rank_chunks for c in cs)
        if chunks != list(range(self.num_chunks)):
            raise ValueError(f"layout: the chunks {chunks} are not a partition of "
                             f"0..{self.num_chunks - 1}")
        if self.chunk_length * self.num_chunks != self.seq:
            raise ValueError(f"layout: {self.num_chunks} chunks of {self.chunk_length} "
                             f"tokens do not make seq={self.seq}")

    # -- the map -------------------------------------------------------------

    def check_rank(self, rank):
        if isinstance(rank, bool) or not isinstance(rank, int):
            raise TypeError(f"rank must be an int, got {type(rank).__name__}")
        if not 0 <= rank < self.cp:
            raise ValueError(f"rank {rank} is out of range: the package was generated "
                             f"for cp={self.cp} (ranks 0..{self.cp - 1})")

    def ranges(self, rank):
        """[(begin, end)] global token ranges of `rank`'s local chunks, in local order."""
        self.check_rank(rank)
        L = self.chunk_length
        return [(c * L, (c + 1) * L) for c in self.rank_chunks[rank]]

    def positions(self, rank):
        """Global position (the RoPE index) of each of `rank`'s local tokens."""
        return [p for begin, end in self.ranges(rank) for p in range(begin, end)]

    def owner(self, position):
        """(rank, local index) of global token `position`."""
        if not 0 <= position < self.seq:
            raise ValueError(f"position {position} is outside the sequence [0, {self.seq})")
        chunk, offset = divmod(position, self.chunk_length)
        for rank, chunks in enumerate(self.rank_chunks):
            if chunk in chunks:
                return rank, chunks.index(chunk) * self.chunk_length + offset
        raise AssertionError("unreachable: the chunks partition the sequence")

    def pieces(self):
        """[(rank, local_begin, local_end)] of every chunk in global order: the
        global sequence is the concatenation of these local slices."""
        L = self.chunk_length
        result = [None] * self.num_chunks
        for rank, chunks in enumerate(self.rank_chunks):
            for i, c in enumerate(chunks):
                result[c] = (rank, i * L, (i + 1) * L)
        return result

    # -- plain sequences (lists) --------------------------------------------

    def shard_list(self, sequence, rank):
        """`rank`'s local tokens of one global sequence (a list of `seq` items)."""
        self._check_length("sequence", len(sequence), self.seq)
        return [x for begin, end in self.ranges(rank) for x in sequence[begin:end]]

    def unshard_lists(self, locals_):
        """The global sequence from every rank's local list (rank order)."""
        if len(locals_) != self.cp:
            raise ValueError(f"unshard needs the local tokens of all cp={self.cp} ranks, "
                             f"got {len(locals_)}")
        for rank, local in enumerate(locals_):
            self._check_length(f"rank {rank}'s local sequence", len(local), self.local_length)
        return [x for rank, b, e in self.pieces() for x in locals_[rank][b:e]]

    def _check_length(self, what, got, want):
        if got != want:
            hint = ""
            if want == self.seq and got == self.local_length:
                hint = " (it looks like a rank's shard already)"
            elif want == self.local_length and got == self.seq:
                hint = " (it looks like the full sequence: shard it first)"
            raise ValueError(f"{what} has {got} tokens; expected {want}{hint}")

    def __repr__(self):
        return (f"Layout({self.kind}, cp={self.cp}, seq={self.seq}, "
                f"chunks={self.rank_chunks}, chunk_length={self.chunk_length})")
