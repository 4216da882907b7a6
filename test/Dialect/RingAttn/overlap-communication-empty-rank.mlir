// RUN: ringattn-opt %s --ringattn-overlap-communication | FileCheck %s

// Empty rank programs (found by the IR fuzzer: merging waits read the front
// op of an empty block). The pass leaves them as they are; the schedule
// verifier is the one to reject them.

// CHECK-LABEL: ringattn.schedule @s backward
// CHECK-NEXT:    ringattn.rank 0 {
// CHECK-NEXT:    }
// CHECK-NEXT:    ringattn.rank 1 {
// CHECK-NEXT:    }
// CHECK-NEXT:  }
#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s backward config #c {
  ringattn.rank 0 {
  }
  ringattn.rank 1 {}
}
