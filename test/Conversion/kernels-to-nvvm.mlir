// RUN: ringattn-opt %s --ringattn-kernels-to-nvvm | FileCheck %s --implicit-check-not=rakernel.forward
// RUN: ringattn-opt %s --ringattn-kernels-to-nvvm="chip=sm_90a features=+ptx84" | FileCheck %s --check-prefix=TARGET

// The Hopper kernel builder by eye: every rakernel.forward becomes an
// llvm.func in one gpu.module (the rakernel ops are gone), with its launch
// contract (384 threads: one producer and two consumer warpgroups; three
// CUtensorMaps by value; the work-item table), the producer/consumer register
// split, TMA loads completing on mbarriers, wgmma from shared memory for
// Q K^T and with P in registers for P V (inline PTX), and the wait that ties
// the accumulators.

// CHECK:       module attributes {gpu.container_module} {
// CHECK-NEXT:    gpu.module @ringattn_kernels [#nvvm.target<O = 3, chip = "sm_90a", features = "+ptx84">] {
// One dynamic shared-memory window for all kernels, 1024-byte aligned (128B
// swizzle), in address space 3.
// CHECK-NEXT:      llvm.mlir.global external @ringattn_shared() {addr_space = 3 : i32, alignment = 1024 : i64} : !llvm.array<0 x i8>
// TARGET:        gpu.module @ringattn_kernels [#nvvm.target<O = 3, chip = "sm_90a", features = "+ptx84">]

// bf16, head_dim 128, 2048-token chunks: 16 query tiles per chunk; the back
// chunk's tiles (17..32 K/V tiles) come first, then the front chunk's, each
// the most K/V tiles first. A work item is (q chunk << 16) | q tile.
// CHECK-NEXT:      llvm.mlir.global internal constant @k128_work_items(dense<[65551, 65550, 65549, 65548, 65547, 65546, 65545, 65544, 65543, 65542, 65541, 65540, 65539, 65538, 65537, 65536, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]> : tensor<32xi32>) {addr_space = 1 : i32, alignment = 4 : i64} : !llvm.array<32 x i32>
// CHECK-LABEL:     llvm.func @k128(
// CHECK-SAME:        %arg0: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>, nvvm.grid_constant},
// CHECK-SAME:        %arg1: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>, nvvm.grid_constant},
// CHECK-SAME:        %arg2: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>, nvvm.grid_constant},
// CHECK-SAME:        %arg3: !llvm.ptr<1> {llvm.noalias}, %arg4: !llvm.ptr<1> {llvm.noalias}, %arg5: !llvm.ptr<1> {llvm.noalias}, %arg6: !llvm.ptr<1> {llvm.noalias})
// CHECK-SAME:        attributes {gpu.kernel, nvvm.kernel, nvvm.minctasm = 1 : i32, nvvm.reqntid = array<i32: 384, 1, 1>}
// CHECK:             [[TABLE:%.+]] = llvm.mlir.addressof @k128_work_items : !llvm.ptr<1>
// The work item (heaviest first) runs along the grid's y, the head along x
// (one L2 section: K and V are 2 MiB per K/V head).
// CHECK-NEXT:        [[CTA:%.+]] = nvvm.read.ptx.sreg.ctaid.y : i32
// CHECK-NEXT:        nvvm.read.ptx.sreg.ctaid.x : i32
// CHECK-NEXT:        [[ITEM:%.+]] = llvm.getelementptr [[TABLE]][[[CTA]]] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i32
// CHECK-NEXT:        llvm.load [[ITEM]] : !llvm.ptr<1> -> i32
// Barriers after Q and two stages of K and V: (128 + 2 * 2 * 128) rows *
// 128 columns * 2 bytes = 163840. Q full, then per stage K full, V full and
// empty (arrivals: one per consumer warp).
// Every shared-memory address starts from a fresh copy of the window's
// (KernelEmitter::freshSharedAddress): ptxas keeps the wgmma descriptors in
// uniform registers.
// CHECK:             [[SYMBOL:%.+]] = llvm.mlir.addressof @ringattn_shared : !llvm.ptr<3>
// CHECK-NEXT:        [[FRESH:%.+]] = llvm.inline_asm has_side_effects "mov.b64 $0, ringattn_shared;", "=l,l" [[SYMBOL]] : (!llvm.ptr<3>) -> i64
// CHECK-NEXT:        llvm.inttoptr [[FRESH]] : i64 to !llvm.ptr<3>
// CHECK-NEXT:        arith.constant 163840 : i32
// CHECK-NEXT:        llvm.getelementptr
// CHECK-NEXT:        arith.constant 1 : i32
// CHECK-NEXT:        nvvm.mbarrier.init %{{.+}}, %{{.+}} : !llvm.ptr<3>, i32
// CHECK-COUNT-6:     nvvm.mbarrier.init
// CHECK-NEXT:        nvvm.fence.mbarrier.init
// CHECK:             nvvm.barrier0
// Producer: few registers; Q once, K and V tiles through the stage ring.
// CHECK:             nvvm.setmaxregister decrease 40
// CHECK:             nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.+}}, %arg0, %{{.+}}, box[
// CHECK:             scf.for
// CHECK:               nvvm.mbarrier.try_wait.parity
// CHECK:               nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.+}}, %arg1, %{{.+}}, box[
// CHECK:               nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.+}}, %arg2, %{{.+}}, box[
// Consumers: S = Q K^T, 8 k16 steps from shared memory.
// CHECK:             nvvm.setmaxregister increase 232
// CHECK:             scf.for
// CHECK:               nvvm.wgmma.fence.aligned
// CHECK:               nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 128, k = 16>, D[<f32>, <zero>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-COUNT-7:       nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 128, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK-NOT:           nvvm.wgmma.mma_async
// CHECK:               nvvm.wgmma.commit.group.sync.aligned
// CHECK:               llvm.inline_asm has_side_effects "wgmma.wait_group.sync.aligned 0;",
// CHECK-SAME:            "{{(=f,){63}=f}},0,1,{{([0-9]+,){61}63}}" {{(%[0-9]+, ){63}%[0-9]+}}
// CHECK-SAME:            : ({{(f32, ){63}f32}}) -> !llvm.struct<({{(f32, ){63}f32}})>
// O += P V: P (64 values as 32 packed bf16 pairs) from registers, V the
// transposed shared-memory operand, 8 k16 steps of m64n128k16.
// CHECK:               nvvm.wgmma.fence.aligned
// Operands: 64 accumulators ($0-$63 out, $64-$127 tied in), 4 A registers,
// the V descriptor, scale-d (a predicate).
// CHECK:               llvm.inline_asm has_side_effects "{\0A.reg .pred p;\0Asetp.ne.b32 p, $133, 0;\0Awgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {$0, $1,
// CHECK-SAME:            {{(\$[0-9]+, ){61}\$63}}}, {$128, $129, $130, $131}, $132, p, 1, 1, 1;\0A}",
// CHECK-SAME:            "{{(=f,){63}=f}},0,1,{{([0-9]+,){61}63}},r,r,r,r,l,r"
// CHECK-SAME:            {{(%[0-9]+, ){63}%[0-9]+}}, %{{[^,]+}}, %{{[^,]+}}, %{{[^,]+}}, %{{[^,]+}}, %{{[^,]+}}, %{{[^,]+}} :
// CHECK-SAME:            ({{(f32, ){64}i32}}, i32, i32, i32, i64, i32) -> !llvm.struct<({{(f32, ){63}f32}})>
// CHECK-COUNT-7:       llvm.inline_asm has_side_effects "{\0A.reg .pred p;\0Asetp.ne.b32 p, $133, 0;\0Awgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {$0, $1, $2,
// CHECK-NOT:           wgmma.mma_async
// CHECK:               nvvm.wgmma.commit.group.sync.aligned
// CHECK:               llvm.inline_asm has_side_effects "wgmma.wait_group.sync.aligned 0;",
// CHECK-SAME:            "{{(=f,){63}=f}},0,1,{{([0-9]+,){61}63}}"
// CHECK:               nvvm.mbarrier.arrive
// CHECK:             llvm.return
rakernel.forward @k128 config #ringattn.config<cp = 1, seq = 4096,
    heads = 32, kv_heads = 4, head_dim = 128, dtype = bf16,
    layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 0, kv = 0, diagonal>,
         #rakernel.pair<q = 1, kv = 0, full>,
         #rakernel.pair<q = 1, kv = 1, diagonal>]
  epilogue init_final tile <m = 128, n = 128, stages = 2, consumers = 2>

// fp16, head_dim 64, MQA, 500-token chunks (a tail): 4 query tiles of 128;
// the back chunk's tiles visit 4 full K/V tiles plus 1..4 diagonal ones.
// CHECK:           llvm.mlir.global internal constant @k64_work_items(dense<[65539, 65538, 65537, 65536, 3, 2, 1, 0]> : tensor<8xi32>)
// CHECK-LABEL:     llvm.func @k64(
// CHECK-SAME:        nvvm.reqntid = array<i32: 384, 1, 1>
// One box of 64 columns per TMA load.
// CHECK:             nvvm.setmaxregister decrease 40
// CHECK:             nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.+}}, %arg0, %{{.+}}, box[
// CHECK-NOT:         nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.+}}, %arg0,
// CHECK:             nvvm.setmaxregister increase 232
// Software-pipelined by one tile. Tile 0: S = Q K^T, 4 k16 steps, n = 128
// (the K/V tile), waited for.
// CHECK:               nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 128, k = 16>, D[<f32>, <zero>], A[<f16>, <one>, <row>], B[<f16>, <one>, <col>]
// CHECK-COUNT-3:       nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 128, k = 16>, D[<f32>, <one>], A[<f16>, <one>, <row>], B[<f16>, <one>, <col>]
// CHECK-NOT:           wgmma.mma_async
// CHECK:               llvm.inline_asm has_side_effects "wgmma.wait_group.sync.aligned 0;",
// CHECK-SAME:            -> !llvm.struct<({{(f32, ){63}f32}})>
// Then per tile j: S of tile j+1 and O += P V of tile j in flight (P V:
// n = head_dim = 64, 32 accumulators, 8 k16 steps over 128 keys); S waited
// for (one group left), the softmax, O waited for.
// CHECK:               scf.for
// CHECK-COUNT-4:         nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 128, k = 16>
// CHECK-NOT:             wgmma.mma_async
// CHECK:                 llvm.inline_asm has_side_effects "{\0A.reg .pred p;\0Asetp.ne.b32 p, $69, 0;\0Awgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {$0, $1,
// CHECK-SAME:              {{(\$[0-9]+, ){29}\$31}}}, {$64, $65, $66, $67}, $68, p, 1, 1, 1;\0A}",
// CHECK-SAME:              "{{(=f,){31}=f}},0,1,{{([0-9]+,){29}31}},r,r,r,r,l,r"
// CHECK-SAME:              ({{(f32, ){32}i32}}, i32, i32, i32, i64, i32) -> !llvm.struct<({{(f32, ){31}f32}})>
// CHECK-COUNT-7:         llvm.inline_asm has_side_effects "{\0A.reg .pred p;\0Asetp.ne.b32 p, $69, 0;\0Awgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {$0, $1, $2,
// CHECK-NOT:             wgmma.mma_async
// CHECK:                 llvm.inline_asm has_side_effects "wgmma.wait_group.sync.aligned 1;",
// CHECK-SAME:              -> !llvm.struct<({{(f32, ){63}f32}})>
// CHECK-NOT:             wgmma.mma_async
// CHECK:                 llvm.inline_asm has_side_effects "wgmma.wait_group.sync.aligned 0;",
// CHECK-SAME:              "{{(=f,){31}=f}},0,1,{{([0-9]+,){29}31}}"
// CHECK-SAME:              -> !llvm.struct<({{(f32, ){31}f32}})>
// CHECK:                 scf.yield
// The last tile's P V.
// CHECK-COUNT-8:       wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16
// CHECK-NOT:           wgmma.mma_async
// CHECK:               llvm.inline_asm has_side_effects "wgmma.wait_group.sync.aligned 0;",
// CHECK:             llvm.return
rakernel.forward @k64 config #ringattn.config<cp = 1, seq = 1000,
    heads = 16, kv_heads = 1, head_dim = 64, dtype = fp16,
    layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 0, kv = 0, diagonal>,
         #rakernel.pair<q = 1, kv = 0, full>,
         #rakernel.pair<q = 1, kv = 1, diagonal>]
  epilogue init_final tile <m = 128, n = 128, stages = 2, consumers = 2>

// A last step that computes only the back chunk and finalizes the front one:
// the front chunk's tiles are work items with no K/V tile, last. One stage,
// one consumer warpgroup (64 query rows, 256 threads).
// CHECK:           llvm.mlir.global internal constant @fin_work_items(dense<[65536, 65537, 65538, 65539, 0, 1, 2, 3]> : tensor<8xi32>)
// CHECK-LABEL:     llvm.func @fin(
// CHECK-SAME:        nvvm.reqntid = array<i32: 256, 1, 1>
// The barriers follow Q and one K and one V stage in shared memory:
// (64 + 2 * 1 * 64) rows * 64 columns * 2 bytes = 24576. Q full, K full,
// V full (one arrival each: the producer's expect-tx), empty (4 arrivals:
// the consumer's warps).
// At head_dim 64 the addresses start from the symbol itself (no fresh copy:
// it measured slower there).
// CHECK:             scf.if
// CHECK-NEXT:          [[SHARED:%.+]] = llvm.mlir.addressof @ringattn_shared : !llvm.ptr<3>
// CHECK-NEXT:          [[OFFSET:%.+]] = arith.constant 24576 : i32
// CHECK-NEXT:          [[QFULL:%.+]] = llvm.getelementptr [[SHARED]][[[OFFSET]]] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
// CHECK-NEXT:          [[ONE:%.+]] = arith.constant 1 : i32
// CHECK-NEXT:          nvvm.mbarrier.init [[QFULL]], [[ONE]] : !llvm.ptr<3>, i32
// CHECK:               arith.constant 24584 : i32
// CHECK:               arith.constant 24592 : i32
// CHECK:               [[SHARED:%.+]] = llvm.mlir.addressof @ringattn_shared : !llvm.ptr<3>
// CHECK-NEXT:          arith.constant 24600 : i32
// CHECK-NEXT:          [[EMPTY:%.+]] = llvm.getelementptr [[SHARED]]
// CHECK-NEXT:          [[FOUR:%.+]] = arith.constant 4 : i32
// CHECK-NEXT:          nvvm.mbarrier.init [[EMPTY]], [[FOUR]] : !llvm.ptr<3>, i32
// CHECK-NEXT:          nvvm.fence.mbarrier.init
// CHECK-NEXT:        }
// CHECK-NEXT:        nvvm.barrier0
// CHECK:             llvm.return
// CHECK-NEXT:      }
// CHECK-NEXT:    }
// CHECK-NEXT:  }
rakernel.forward @fin config #ringattn.config<cp = 2, seq = 1000,
    heads = 16, kv_heads = 1, head_dim = 64, dtype = bf16,
    layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 1, kv = 0, full>, #rakernel.pair<q = 1, kv = 1, full>]
  finalize [0] epilogue merge_final tile <m = 64, n = 64, stages = 1, consumers = 1>
