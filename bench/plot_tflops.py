#!/usr/bin/env python3
"""Draws TFLOP/s against S for ringattn, cuDNN and FA2 (CPU; no matplotlib)
from a bench/attention_bench.py result: the causal D = 128 rows, forward and
forward+backward side by side, as an SVG; where the result has the
`--deterministic` packages (det_causal_*) at every size, their
forward+backward as a dashed line. (Results recorded before the fused
backward became the default name it atomic_causal_* and the deterministic
packages causal_*: read the same way.)

  python3 bench/plot_tflops.py RESULT.json -o docs/images/tflops.svg
"""

import argparse
import json

SERIES = (("ringattn", "#d62728"), ("cudnn", "#1f77b4"), ("flash", "#2ca02c"))
LABELS = {"ringattn": "ringattn", "cudnn": "cuDNN (SDPA)", "flash": "FA2 (SDPA)"}
W, H, PAD = 380, 300, 52


DETERMINISTIC = ("#d62728", "ringattn --deterministic")


def panel(rows, phase, x0, title, dashed=None):
    """One chart: a polyline per series over the sequence lengths; `dashed`,
    rows of the --deterministic packages in the same order, a dashed one."""
    seqs = [r["seq"] for r in rows]
    top = max(r[f"{name}_{phase}_tflops"] for r in rows for name, _ in SERIES)
    if dashed:
        top = max(top, max(r["ringattn_fwdbwd_tflops"] for r in dashed))
    top = (int(top / 100) + 1) * 100
    px = lambda i: x0 + PAD + i * (W - 2 * PAD) / max(len(seqs) - 1, 1)
    py = lambda v: H - PAD + 10 - v / top * (H - 2 * PAD)
    out = [f'<text x="{x0 + W / 2}" y="22" text-anchor="middle" font-weight="bold">{title}</text>']
    for v in range(0, top + 1, 100):
        out.append(f'<line x1="{x0 + PAD}" x2="{x0 + W - PAD}" y1="{py(v):.1f}" y2="{py(v):.1f}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{x0 + PAD - 6}" y="{py(v) + 4:.1f}" text-anchor="end">{v}</text>')
    for i, s in enumerate(seqs):
        out.append(f'<text x="{px(i):.1f}" y="{H - PAD + 28}" text-anchor="middle">{s // 1024}k</text>')
    for name, color in SERIES:
        points = " ".join(f"{px(i):.1f},{py(r[f'{name}_{phase}_tflops']):.1f}"
                          for i, r in enumerate(rows))
        out.append(f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2"/>')
        for i, r in enumerate(rows):
            v = r[f"{name}_{phase}_tflops"]
            out.append(f'<circle cx="{px(i):.1f}" cy="{py(v):.1f}" r="3" fill="{color}"/>')
    if dashed:
        points = " ".join(f"{px(i):.1f},{py(r['ringattn_fwdbwd_tflops']):.1f}"
                          for i, r in enumerate(dashed))
        out.append(f'<polyline points="{points}" fill="none" stroke="{DETERMINISTIC[0]}" '
                   'stroke-width="2" stroke-dasharray="6,4"/>')
    out.append(f'<text x="{x0 + W / 2}" y="{H - 8}" text-anchor="middle">S (tokens)</text>')
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result", help="attention_bench.py --json output")
    parser.add_argument("-o", "--output", required=True, help="the SVG to write")
    args = parser.parse_args()
    with open(args.result) as f:
        result = json.load(f)
    old_names = any(r["dir"].startswith("atomic_causal_") for r in result["rows"])
    fused, det = ("atomic_causal_", "causal_") if old_names else ("causal_", "det_causal_")
    rows = sorted((r for r in result["rows"] if r["causal"] and r["head_dim"] == 128
                   and r["dir"].startswith(fused)), key=lambda r: r["seq"])
    if not rows:
        raise SystemExit(f"{args.result}: no causal D = 128 rows")
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * W}" height="{H + 56}" '
           'font-family="sans-serif" font-size="12">',
           f'<rect width="{2 * W}" height="{H + 56}" fill="white"/>']
    by_seq = {r["seq"]: r for r in result["rows"] if r["causal"] and r["head_dim"] == 128
              and r["dir"].startswith(det) and "ringattn_fwdbwd_tflops" in r}
    dashed = [by_seq[r["seq"]] for r in rows] if all(r["seq"] in by_seq for r in rows) else None
    svg += panel(rows, "fwd", 0, "causal forward, TFLOP/s")
    svg += panel(rows, "fwdbwd", W, "causal forward+backward, TFLOP/s", dashed)
    for i, (name, color) in enumerate(SERIES):
        x = PAD + i * 150
        svg.append(f'<rect x="{x}" y="{H + 16}" width="14" height="4" fill="{color}"/>')
        svg.append(f'<text x="{x + 20}" y="{H + 22}">{LABELS[name]}</text>')
    if dashed:
        x = PAD + len(SERIES) * 150
        svg.append(f'<line x1="{x}" x2="{x + 14}" y1="{H + 18}" y2="{H + 18}" '
                   f'stroke="{DETERMINISTIC[0]}" stroke-width="2" stroke-dasharray="4,3"/>')
        svg.append(f'<text x="{x + 20}" y="{H + 22}">{DETERMINISTIC[1]} (fwd+bwd)</text>')
    svg.append(f'<text x="{PAD}" y="{H + 44}">'
               f'{result["device"]}, Hq 32 / Hkv 4, D 128, bf16</text>')
    svg.append("</svg>")
    with open(args.output, "w") as f:
        f.write("\n".join(svg) + "\n")
    print(f"wrote {args.output} ({len(rows)} sizes)")


if __name__ == "__main__":
    main()
