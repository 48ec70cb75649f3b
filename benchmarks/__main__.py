"""``python -m benchmarks [names...] [--quick] [--strict] [--commit REV]``: run, print, and save results."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from pathlib import Path

from benchmarks._harness import REPO, Result, machine_info, pinned_source, source_fingerprint
from benchmarks._report import markdown, write_json

BENCHMARKS = (
    "upload_dir_cold",
    "upload_dir_warm",
    "upload_file_1gib",
    "s3_small_files",
    "import_time",
    "run_wait_latency",
    "run_search",
    "run_throughput",
    "run_wait_idle",
    "serve_upload_dir",
    "serve_run_wait",
    "serve_list_runs",
)
RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="name", help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--quick", action="store_true", help="small data and few repetitions: a smoke run")
    parser.add_argument(
        "--output",
        type=Path,
        help="JSON file (default: results/latest.json, or results/quick.json with --quick)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--commit",
        metavar="REV",
        help="measure src/union as committed at REV (default: the working tree as it is)",
    )
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    output: Path = args.output or RESULTS / ("quick.json" if args.quick else "latest.json")

    machine = machine_info()
    with contextlib.ExitStack() as stack:
        if args.commit:
            sha, src = stack.enter_context(pinned_source(args.commit))
            machine["union_source"] = f"commit {sha[:10]} (pinned with --commit)"
        else:
            src = REPO / "src"
            machine["union_source"] = f"working tree of {REPO}"
        machine["union_source_fingerprint"] = before = source_fingerprint(src / "union")
        results = run_all(args.names or BENCHMARKS, args.quick)
        machine["union_source_changed_during_run"] = source_fingerprint(src / "union") != before
        imported = sys.modules.get("union")
        if imported is not None and imported.__file__:
            assert Path(imported.__file__).is_relative_to(src), f"measured {imported.__file__}, not {src}"
    if machine["union_source_changed_during_run"]:
        print(
            "WARNING: src/union changed while the benchmarks ran; the results mix versions. "
            "Use --commit to pin one.",
            flush=True,
        )

    write_json(output, machine, results, args.quick)
    report = markdown(machine, results, args.quick)
    output.with_suffix(".md").write_text(report)
    print(f"\n{report}\nwrote {output} and {output.with_suffix('.md')}")
    return 1 if args.strict and not all(r.passed for r in results) else 0


def run_all(names: list[str] | tuple[str, ...], quick: bool) -> list[Result]:
    results: list[Result] = []
    for name in names:
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        for result in module.run(quick=quick):
            results.append(result)
            ratio = f", ratio {result.ratio:.3f}" if result.ratio is not None else ""
            print(
                f"   {result.name}: median {result.median:.4g} {result.unit}{ratio} "
                f"({result.target.text}) {'PASS' if result.passed else 'FAIL'}",
                flush=True,
            )
    return results


if __name__ == "__main__":
    sys.exit(main())
