#!/usr/bin/env python3
"""Draws the loss curves of examples/train_ring.py runs and checks the gap
criterion (CPU; no torch).

  python3 examples/plot_losses.py --ring ring.json --cudnn cudnn.json \\
      --flash flash.json --png losses.png [--summary summary.json]

Criterion: the largest per-step gap between the ringattn curve and the
single-GPU cuDNN curve is at most 2x the largest gap between the two
single-GPU curves (cuDNN and FlashAttention): the ring changes the training
no more than swapping one correct attention kernel for another does.
Exit status 0 when it holds, 1 when it does not, 2 on missing input.

The PNG comes from matplotlib where it is installed, else from the small
pure-Python PNG writer below (zlib only): the losses on top, the two gaps
under them.
"""

import argparse
import json
import math
import os
import struct
import sys
import zlib


def load(path):
    with open(path) as f:
        run = json.load(f)
    if not run.get("losses"):
        raise ValueError(f"{path} holds no losses")
    return run


def max_gap(a, b):
    n = min(len(a), len(b))
    gaps = [abs(a[i] - b[i]) for i in range(n)]
    i = max(range(n), key=lambda j: gaps[j])
    return gaps[i], i, gaps


# -- a tiny PNG writer ---------------------------------------------------------

# 5 x 7 glyphs, rows top to bottom, bit 4 = leftmost column.
FONT = {
    "0": (0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E), "1": (0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E),
    "2": (0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F), "3": (0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E),
    "4": (0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02), "5": (0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E),
    "6": (0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E), "7": (0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08),
    "8": (0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E), "9": (0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C),
    ".": (0, 0, 0, 0, 0, 0x0C, 0x0C), "-": (0, 0, 0, 0x1F, 0, 0, 0),
    ":": (0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0), "=": (0, 0, 0x1F, 0, 0x1F, 0, 0),
    "/": (0, 0x01, 0x02, 0x04, 0x08, 0x10, 0), " ": (0,) * 7,
    "(": (0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02), ")": (0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08),
    ",": (0, 0, 0, 0, 0x0C, 0x04, 0x08), "%": (0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03),
    "|": (0x04,) * 7, "+": (0, 0x04, 0x04, 0x1F, 0x04, 0x04, 0), "_": (0, 0, 0, 0, 0, 0, 0x1F),
    "A": (0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11), "B": (0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E),
    "C": (0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E), "D": (0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C),
    "E": (0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F), "F": (0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10),
    "G": (0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F), "H": (0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11),
    "I": (0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E), "J": (0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C),
    "K": (0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11), "L": (0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F),
    "M": (0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11), "N": (0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11),
    "O": (0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E), "P": (0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10),
    "Q": (0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D), "R": (0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11),
    "S": (0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E), "T": (0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04),
    "U": (0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E), "V": (0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04),
    "W": (0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A), "X": (0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11),
    "Y": (0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04), "Z": (0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F),
}


class Canvas:
    def __init__(self, width, height, background=(255, 255, 255)):
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def set(self, x, y, color):
        if 0 <= x < self.width and 0 <= y < self.height:
            i = 3 * (y * self.width + x)
            self.pixels[i:i + 3] = bytes(color)

    def rect(self, x0, y0, x1, y1, color):
        for y in range(max(0, y0), min(self.height, y1 + 1)):
            for x in range(max(0, x0), min(self.width, x1 + 1)):
                self.set(x, y, color)

    def line(self, x0, y0, x1, y1, color, width=1):
        x0, y0, x1, y1 = (int(round(v)) for v in (x0, y0, x1, y1))
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        while True:
            for ox in range(width):
                for oy in range(width):
                    self.set(x0 + ox - width // 2, y0 + oy - width // 2, color)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def text(self, x, y, s, color=(0, 0, 0), scale=1):
        for ch in s.upper():
            rows = FONT.get(ch, FONT[" "])
            for r, bits in enumerate(rows):
                for c in range(5):
                    if bits & (0x10 >> c):
                        self.rect(x + c * scale, y + r * scale,
                                  x + c * scale + scale - 1, y + r * scale + scale - 1, color)
            x += 6 * scale

    def save(self, path):
        w = self.width * 3
        raw = b"".join(b"\x00" + bytes(self.pixels[y * w:(y + 1) * w])
                       for y in range(self.height))

        def chunk(tag, data):
            return (struct.pack(">I", len(data)) + tag + data +
                    struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))
        with open(path, "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\n")
            f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", self.width, self.height,
                                               8, 2, 0, 0, 0)))
            f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
            f.write(chunk(b"IEND", b""))


def nice_ticks(lo, hi, count=6):
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    ticks, t = [], first
    while t <= hi + 1e-12:
        ticks.append(round(t, 10))
        t += step
    return ticks, step


def fmt(v, step):
    digits = max(0, -int(math.floor(math.log10(step)))) if step < 1 else 0
    return f"{v:.{digits}f}"


def panel(canvas, box, series, title, ylabel_fmt=None):
    """Curves [(label, values, color)] in box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    n = max(len(v) for _, v, _ in series)
    values = [x for _, v, _ in series for x in v if math.isfinite(x)]
    lo, hi = min(values), max(values)
    pad = 0.04 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    xs = lambda i: x0 + (x1 - x0) * i / max(1, n - 1)
    ys = lambda v: y1 - (y1 - y0) * (v - lo) / (hi - lo)
    yticks, ystep = nice_ticks(lo, hi)
    for t in yticks:
        if lo <= t <= hi:
            canvas.line(x0, ys(t), x1, ys(t), (225, 225, 225))
            label = fmt(t, ystep)
            canvas.text(x0 - 6 * len(label) - 6, int(ys(t)) - 3, label)
    xticks, xstep = nice_ticks(0, n - 1, 8)
    for t in xticks:
        canvas.line(xs(t), y1, xs(t), y1 + 4, (0, 0, 0))
        label = fmt(t, xstep)
        canvas.text(int(xs(t)) - 3 * len(label), y1 + 8, label)
    canvas.line(x0, y0, x0, y1, (0, 0, 0))
    canvas.line(x0, y1, x1, y1, (0, 0, 0))
    canvas.text(x0, y0 - 14, title)
    for label, v, color in series:
        pts = [(xs(i), ys(x)) for i, x in enumerate(v) if math.isfinite(x)]
        for (ax, ay), (bx, by) in zip(pts, pts[1:]):
            canvas.line(ax, ay, bx, by, color, width=2)
    lx = x1 - 6 * max(len(label) for label, _, _ in series) - 40
    for k, (label, _, color) in enumerate(series):
        y = y0 + 6 + 14 * k
        canvas.rect(lx, y + 2, lx + 20, y + 4, color)
        canvas.text(lx + 26, y, label)


def draw_builtin(path, curves, gaps):
    canvas = Canvas(1000, 720)
    panel(canvas, (80, 40, 970, 430), curves, "training loss per step")
    panel(canvas, (80, 500, 970, 680), gaps, "absolute loss gap to cudnn")
    canvas.text(480, 700, "step")
    canvas.save(path)


def draw_matplotlib(path, curves, gaps):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7.2), sharex=True,
                                      gridspec_kw={"height_ratios": [2, 1]})
    for label, values, color in curves:
        top.plot(values, label=label, color=[c / 255 for c in color], linewidth=1.2)
    top.set_ylabel("loss")
    top.legend()
    top.grid(alpha=0.3)
    for label, values, color in gaps:
        bottom.plot(values, label=label, color=[c / 255 for c in color], linewidth=1.0)
    bottom.set_ylabel("|loss - cuDNN loss|")
    bottom.set_xlabel("step")
    bottom.legend()
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ring", required=True, help="train_ring.py --ring JSON")
    parser.add_argument("--cudnn", required=True, help="--single --backend cudnn JSON")
    parser.add_argument("--flash", required=True, help="--single --backend flash JSON")
    parser.add_argument("--png", help="write the picture here")
    parser.add_argument("--summary", help="write the figures as JSON here")
    parser.add_argument("--builtin", action="store_true",
                        help="use the built-in PNG writer even if matplotlib is there")
    args = parser.parse_args()
    try:
        ring, cudnn, flash = load(args.ring), load(args.cudnn), load(args.flash)
    except (OSError, ValueError) as error:
        print(f"plot_losses: {error}")
        return 2
    if not (len(ring["losses"]) == len(cudnn["losses"]) == len(flash["losses"])):
        print("plot_losses: note: the runs have different numbers of steps "
              f"({len(ring['losses'])}, {len(cudnn['losses'])}, {len(flash['losses'])}); "
              "comparing the common ones")
    ring_gap, ring_at, ring_gaps = max_gap(ring["losses"], cudnn["losses"])
    single_gap, single_at, single_gaps = max_gap(flash["losses"], cudnn["losses"])
    ok = all(math.isfinite(x) for x in ring_gaps + single_gaps) and \
        ring_gap <= 2.0 * single_gap
    for name, run in (("ringattn", ring), ("cudnn", cudnn), ("flash", flash)):
        tps = run.get("tokens_per_s")
        print(f"{name:9s} loss {run['losses'][0]:.4f} -> {run['losses'][-1]:.4f}"
              + (f", {tps:,.0f} tokens/s" if tps else "")
              + f"  ({run.get('label', '')}; {run.get('device', '')})")
    mean = lambda g: sum(g) / len(g)
    print(f"max |ringattn - cudnn| = {ring_gap:.5f} at step {ring_at} "
          f"(mean {mean(ring_gaps):.5f})")
    print(f"max |flash - cudnn|    = {single_gap:.5f} at step {single_at} "
          f"(mean {mean(single_gaps):.5f})")
    print(f"gap criterion: {ring_gap:.5f} <= 2 x {single_gap:.5f} = {2 * single_gap:.5f}: "
          + ("PASS" if ok else "FAIL"))
    if args.png:
        curves = [("cudnn", cudnn["losses"], (31, 119, 180)),
                  ("flash", flash["losses"], (44, 160, 44)),
                  ("ringattn", ring["losses"], (214, 39, 40))]
        gaps = [("ringattn - cudnn", ring_gaps, (214, 39, 40)),
                ("flash - cudnn", single_gaps, (44, 160, 44))]
        try:
            if args.builtin:
                raise ImportError
            draw_matplotlib(args.png, curves, gaps)
            how = "matplotlib"
        except ImportError:
            draw_builtin(args.png, curves, gaps)
            how = "built-in PNG writer"
        print(f"wrote {args.png} ({how})")
    if args.summary:
        with open(args.summary, "w") as f:
            json.dump({"ring_gap": ring_gap, "ring_gap_step": ring_at,
                       "single_gap": single_gap, "single_gap_step": single_at,
                       "pass": ok,
                       "tokens_per_s": {k: r.get("tokens_per_s") for k, r in
                                        (("ringattn", ring), ("cudnn", cudnn),
                                         ("flash", flash))},
                       "files": [os.path.abspath(p) for p in
                                 (args.ring, args.cudnn, args.flash)]}, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
