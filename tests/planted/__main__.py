"""Write a planted set as JSONL:  cd tests && python -m planted KIND [--families N] [--seed S]
[--shape prompt_completion|messages] [--no-family] --out FILE"""
from __future__ import annotations

import argparse
import json

from . import GENERATORS, SHAPES, generate


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m planted")
    ap.add_argument("kind", choices=sorted(GENERATORS))
    ap.add_argument("--families", type=int, default=360)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shape", choices=SHAPES, default="prompt_completion")
    ap.add_argument("--no-family", action="store_true", help="leave out the declared family field")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    s = generate(a.kind, a.families, a.seed, a.shape, declare_family=not a.no_family)
    with open(a.out, "w", encoding="utf-8", newline="\n") as fh:
        for row in s.rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{a.out}: {len(s.rows)} rows in {len(s.sizes)} planted families")


if __name__ == "__main__":
    main()
