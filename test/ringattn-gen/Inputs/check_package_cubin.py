"""Checks that ringattn_package.cpp embeds kernels.cubin byte for byte."""
import os
import re
import sys

directory = sys.argv[1]
with open(os.path.join(directory, "ringattn_package.cpp")) as f:
    source = f.read()
body = source.split("const unsigned char kCubin[] =", 1)[1].split(";", 1)[0]
embedded = bytes(int(h, 16) for h in re.findall(r"\\x([0-9a-f]{2})", body))
with open(os.path.join(directory, "kernels.cubin"), "rb") as f:
    cubin = f.read()
if embedded != cubin:
    sys.exit(f"embedded cubin ({len(embedded)} bytes) differs from kernels.cubin "
             f"({len(cubin)} bytes)")
assert re.search(r"kCubin, sizeof\(kCubin\) - 1,", source)
print(f"cubin embedded: {len(cubin)} bytes")
