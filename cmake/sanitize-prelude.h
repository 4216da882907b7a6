/*===- cmake/sanitize-prelude.h - LLVM's allocators under ASan ---*- C -*-===*\
|*                                                                          *|
|* Force-included into every source of the sanitized build                 *|
|* (RINGATTN_SANITIZE). LLVM's headers poison and unpoison the slabs of     *|
|* BumpPtrAllocator and the Recyclers by hand when the including code is    *|
|* built with AddressSanitizer. The MLIR and LLVM libraries we link are not *|
|* instrumented: a slab that our (instrumented) inline copy of the          *|
|* allocator poisons is then handed out by the library's copy, which never  *|
|* unpoisons it, and the next memcpy into it is reported as a               *|
|* use-after-poison. Turning the manual annotations off on our side keeps   *|
|* both copies alike; ASan's own redzones and heap checks are unaffected.   *|
\*===----------------------------------------------------------------------===*/

#if defined(__SANITIZE_ADDRESS__) /* GCC */
#define RINGATTN_PRELUDE_ASAN 1
#elif defined(__has_feature) /* clang */
#if __has_feature(address_sanitizer)
#define RINGATTN_PRELUDE_ASAN 1
#endif
#endif

#ifdef RINGATTN_PRELUDE_ASAN
#include <sanitizer/asan_interface.h>
#define __asan_poison_memory_region(addr, size) ((void)(addr), (void)(size))
#define __asan_unpoison_memory_region(addr, size) ((void)(addr), (void)(size))
#endif
