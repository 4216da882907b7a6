// Bad flags and bad input: a one-line message naming the problem, and a
// failing exit status (2; lit's `not` checks only that it is not 0).
// RUN: not ringattn-sim %s --batch 0 2>&1 | FileCheck %s --check-prefix=BATCH
// RUN: not ringattn-sim %s --batch=two 2>&1 | FileCheck %s --check-prefix=BATCH-WORD
// RUN: not ringattn-sim %s --tolerance -1 2>&1 | FileCheck %s --check-prefix=TOLERANCE
// RUN: not ringattn-sim %s --seed=-3 2>&1 | FileCheck %s --check-prefix=SEED
// RUN: not ringattn-sim %s --frobnicate 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not ringattn-sim %s.missing 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: not ringattn-sim 2>&1 | FileCheck %s --check-prefix=NO-FILE
// RUN: echo 'module {}' | not ringattn-sim - 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: echo 'ringattn.bogus' | not ringattn-sim - 2>&1 | FileCheck %s --check-prefix=PARSE
// RUN: sed -e 's/seq = 32,/seq = 65536,/' %s | not ringattn-sim - 2>&1 | FileCheck %s --check-prefix=LARGE

// BATCH: ringattn-sim: --batch must be at least 1 (got 0)
// BATCH-WORD: for the --batch option: 'two' value invalid
// TOLERANCE: ringattn-sim: --tolerance must be a finite number >= 0 (got -1
// SEED: for the --seed option: '-3' value invalid
// UNKNOWN: Unknown command line argument '--frobnicate'
// MISSING: ringattn-sim: cannot open input file '{{.*}}invalid.mlir.missing': No such file or directory
// NO-FILE: Not enough positional command line arguments specified!
// EMPTY: ringattn-sim: '-' holds no ringattn.schedule (run ringattn-opt --ringattn-schedule-pipeline on a ringattn.attention first)
// PARSE: error: custom op 'ringattn.bogus' is unknown
// PARSE: ringattn-sim: cannot parse '-'
// LARGE: ringattn-sim: @tiny (cp=1 seq=65536 heads=2/1 d=8 bf16 zigzag causal) is too large to simulate in fp64: batch 1 needs 2.41e+11 multiply-adds, the limit is 2.00e+10; use a smaller seq, fewer heads or a smaller head_dim

ringattn.schedule @tiny forward config <cp = 1, seq = 32, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
  ringattn.rank 0 {
    ringattn.compute step 0 kv(kv_local[0]) combine {
      ringattn.pair q 0, kv 0, diagonal
      ringattn.pair q 1, kv 0, full
      ringattn.pair q 1, kv 1, diagonal
    }
    ringattn.finalize
  }
}
