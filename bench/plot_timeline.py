#!/usr/bin/env python3
"""Draws the ring timeline bench/ring_bench.py recorded (--timeline) next to
the predicted one, as an SVG: per rank, a compute lane (one bar per step)
and a transfer lane (one bar per NCCL group), for one forward and one
backward.

The prediction (cp = 2 zigzag): every step computes two chunk-pairs' worth
of causal work at this project's single-GPU rate at the same S (from the
same JSON); K/V and dK/dV hops move their bytes at the NCCL ring P2P rate
measured on 2xH100 (208 GB/s at 64 MiB, DESIGN.md); a step waits for its
K/V, the dK/dV accumulate waits for the dK/dV hop, the last hop brings dK/dV
home.

usage: plot_timeline.py ring-bench.json out.svg
"""

import json
import sys

P2P_BYTES_PER_MS = 208e9 / 1e3
COLORS = {"compute": "#4c72b0", "transfer": "#dd8452", "predicted": "#9aa9c4",
          "predicted_transfer": "#e8b796"}


def parse(description):
    fields = dict(f.split("=") for f in description.split() if "=" in f)
    heads, kv_heads = map(int, fields["heads"].split("/"))
    return int(fields["cp"]), int(fields["seq"]), heads, kv_heads, int(fields["d"])


def predicted(data):
    cp, seq, h, hkv, d = parse(data["timeline"]["package"])
    single = [s for s in data["single"] if s["seq"] == seq]
    if cp != 2 or not single:
        return None
    single = single[0]
    fwd_rate = single["fwd_tflops"] * 1e9  # FLOP per ms
    bwd_ms = single["fwdbwd_ms"] - single["fwd_ms"]
    bwd_rate = 2.5 * 4 * h * seq * seq * d / 2 / bwd_ms
    block = 4 * h * d * (seq // (2 * cp)) ** 2  # one full chunk pair, forward
    step = 2 * block  # zigzag: two full-pair equivalents per step
    kv_bytes = 2 * (seq // cp) * hkv * d * 2
    dkv_bytes = 2 * (seq // cp) * hkv * d * 4
    c_f, c_b = step / fwd_rate, 2.5 * step / bwd_rate
    t_kv, t_dkv = kv_bytes / P2P_BYTES_PER_MS, dkv_bytes / P2P_BYTES_PER_MS
    forward = [(1, 0, 0, t_kv), (0, 0, 0, c_f), (0, 1, max(c_f, t_kv), max(c_f, t_kv) + c_f)]
    s1 = max(c_b, t_kv)
    hop1 = max(s1 + c_b, c_b + t_dkv)
    backward = [(1, 0, 0, t_kv), (0, 0, 0, c_b), (1, 0, c_b, c_b + t_dkv),
                (0, 1, s1, s1 + c_b), (1, 1, hop1, hop1 + t_dkv)]
    return {"forward": forward, "backward": backward}


def main():
    data = json.load(open(sys.argv[1]))
    timeline = data["timeline"]
    ranks = timeline["ranks"]
    pred = predicted(data)
    rows = []  # (label, spans, predicted?)
    for phase in ("forward", "backward"):
        for r, spans in enumerate(ranks):
            rows.append((f"{phase} rank {r} (measured)", spans[phase], False))
        if pred:
            rows.append((f"{phase} (predicted, each rank)", pred[phase], True))
    end = max(e for _, spans, _ in rows for _, _, _, e in spans)
    left, width, lane = 230, 900, 14
    scale = width / end
    y = 40
    parts = []
    for label, spans, is_pred in rows:
        parts.append(f'<text x="8" y="{y + lane + 4}" font-size="12">{label}</text>')
        for kind, step, start, stop in spans:
            lane_y = y if kind == 0 else y + lane + 2
            color = COLORS[("predicted" if kind == 0 else "predicted_transfer") if is_pred
                           else ("compute" if kind == 0 else "transfer")]
            x, w = left + start * scale, max(1.0, (stop - start) * scale)
            name = f"step {step}" if kind == 0 else f"hop {step}"
            parts.append(f'<rect x="{x:.1f}" y="{lane_y}" width="{w:.1f}" height="{lane}" '
                         f'fill="{color}"><title>{name}: {start:.3f}-{stop:.3f} ms</title></rect>')
            if w > 40:
                parts.append(f'<text x="{x + 3:.1f}" y="{lane_y + 11}" font-size="10" '
                             f'fill="white">{name}</text>')
        y += 2 * lane + 14
    grid = []
    for t in range(0, int(end) + 1, max(1, int(end) // 10)):
        x = left + t * scale
        grid.append(f'<line x1="{x:.1f}" y1="30" x2="{x:.1f}" y2="{y}" stroke="#ddd"/>'
                     f'<text x="{x:.1f}" y="{y + 14}" font-size="10" text-anchor="middle">{t} ms</text>')
    title = (f"{timeline['package']} on {data['world']} x {data['device']}: compute (blue) and "
             f"NCCL transfer groups (orange) per rank; pale = predicted")
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 20}" height="{y + 30}" '
           f'font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>'
           f'<text x="8" y="18" font-size="13">{title}</text>' + "".join(grid + parts) + "</svg>\n")
    open(sys.argv[2], "w").write(svg)


if __name__ == "__main__":
    main()
