"""How well triage reads patients' replies: precision and recall per intent, and the confusion
matrix, over the corpus in tests/triage_corpus.py (or another file of the same shape).

    .venv/bin/python bench/triage.py [--corpus path/to/corpus.py] [--show-misses]

Exit status 1 when an EMERGENCY or URGENT reply was read as anything calmer (a missed alert),
or when any reply got the wrong intent with --strict.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clinic.sms.triage import Intent, triage  # noqa: E402

ORDER = [i.value for i in Intent]
SEVERITY = {Intent.EMERGENCY.value: 2, Intent.URGENT.value: 1}


def load(path: Path) -> list[tuple[str, str]]:
    spec = importlib.util.spec_from_file_location("triage_corpus", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.CORPUS)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "triage_corpus.py")
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()

    cases = load(args.corpus)
    started = time.perf_counter()
    results = [(body, want, triage(body).intent.value) for body, want in cases]
    elapsed = time.perf_counter() - started
    confusion = Counter((want, got) for _body, want, got in results)

    print(f"triage over {len(cases)} replies from {args.corpus.name}")
    print(f"{elapsed * 1000 / max(len(cases), 1):.2f} ms per reply\n")
    print(f"{'intent':<10} {'n':>4} {'precision':>10} {'recall':>8}")
    for intent in ORDER:
        expected = sum(n for (w, _g), n in confusion.items() if w == intent)
        predicted = sum(n for (_w, g), n in confusion.items() if g == intent)
        right = confusion[(intent, intent)]
        precision = f"{right / predicted:.3f}" if predicted else "-"
        recall = f"{right / expected:.3f}" if expected else "-"
        print(f"{intent:<10} {expected:>4} {precision:>10} {recall:>8}")
    accuracy = sum(confusion[(i, i)] for i in ORDER) / max(len(cases), 1)
    print(f"\naccuracy {accuracy:.3f}\n")

    width = max(len(i) for i in ORDER) + 1
    print("confusion (rows: expected, columns: triage)")
    print(" " * width + "".join(f"{i[:9]:>10}" for i in ORDER))
    for want in ORDER:
        print(f"{want:<{width}}" + "".join(f"{confusion[(want, got)]:>10}" for got in ORDER))

    missed = [
        (body, want, got)
        for body, want, got in results
        if SEVERITY.get(want, 0) > SEVERITY.get(got, 0)
    ]
    wrong = [(body, want, got) for body, want, got in results if want != got]
    print(f"\nmissed alerts (a symptom read as calmer): {len(missed)}")
    if args.show_misses:
        for body, want, got in wrong:
            print(f"  expected {want:<9} got {got:<9} {body!r}")
    return 1 if missed or (args.strict and wrong) else 0


if __name__ == "__main__":
    raise SystemExit(main())
