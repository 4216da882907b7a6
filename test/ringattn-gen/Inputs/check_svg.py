"""Checks a schedule.svg written by ringattn-gen.

usage: check_svg.py SVG CP [--owner-first]

The file parses as XML, references nothing outside itself, and holds one cell
per rank and step in each direction and one arrow per send: forward cp*(cp-1)
K/V hops, backward as many K/V hops plus cp*(cp-1) dK/dV hops, each
accumulator ending at its owner (cp*cp with --owner-first: causal
contiguous, where it starts there; none for cp = 1).
"""

import collections
import sys
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def main():
    path, cp = sys.argv[1], int(sys.argv[2])
    owner_first = "--owner-first" in sys.argv[3:]
    root = ET.parse(path).getroot()
    assert root.tag == SVG + "svg", root.tag
    for element in root.iter():
        for name, value in element.attrib.items():
            assert "href" not in name, f"external reference {name}={value}"
        assert element.tag not in (SVG + "script", SVG + "image"), element.tag
    cells = collections.Counter()
    hops = collections.Counter()
    for group in root.iter(SVG + "g"):
        kind = group.get("class")
        if kind == "cell":
            cells[(group.get("data-direction"), int(group.get("data-rank")),
                   int(group.get("data-step")))] += 1
        elif kind == "hop":
            hops[(group.get("data-direction"), group.get("data-payload"))] += 1
    for direction in ("forward", "backward"):
        for rank in range(cp):
            for step in range(cp):
                count = cells[(direction, rank, step)]
                assert count == 1, f"{direction} rank {rank} step {step}: " \
                    f"{count} cells"
    assert sum(cells.values()) == 2 * cp * cp, "extra cells"
    expected = {("forward", "kv"): cp * (cp - 1),
                ("backward", "kv"): cp * (cp - 1),
                ("backward", "dkv"): cp * (cp if owner_first else cp - 1)}
    for key, count in expected.items():
        assert hops[key] == count, f"{key}: {hops[key]} arrows, want {count}"
    print(f"svg ok: {sum(cells.values())} cells, {sum(hops.values())} hops")


if __name__ == "__main__":
    main()
