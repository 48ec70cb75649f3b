"""Results to JSON and to a markdown table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks._harness import Result


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    text = f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{text} {unit}".strip()


def write_json(path: Path, machine: dict[str, Any], results: list[Result], quick: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"quick": quick, "machine": machine, "results": [r.to_json() for r in results]}
    path.write_text(json.dumps(doc, indent=2) + "\n")


def markdown(machine: dict[str, Any], results: list[Result], quick: bool) -> str:
    lines = [
        f"Run: {machine['date']}{' (--quick: reduced data, not comparable to targets)' if quick else ''}.",
        "",
        f"- union measured: {machine['union_source']}, source fingerprint {machine['union_source_fingerprint']}"
        f"{' (CHANGED during the run: results mix versions)' if machine['union_source_changed_during_run'] else ''};"
        f" repository HEAD {machine['git_commit']}"
        f"{' with uncommitted changes in src/' if machine['src_uncommitted_changes'] else ''}",
        f"- CPU: {machine['cpu_model']}, {machine['cpu_count']} cores",
        f"- RAM: {machine['ram_gib']} GiB",
        f"- Disk (scratch dir): `{machine['disk']}` (rotational flag: {machine['disk_rotational_flag']})",
        f"- OS: {machine['os']}; Python {machine['python']}",
        "- Packages: " + ", ".join(f"{k} {v}" for k, v in machine["packages"].items()),
        "",
        "| benchmark | median | runs | baseline | baseline median | ratio | target | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = f"{r.ratio:.3f}x" if r.ratio is not None else "-"
        lines.append(
            f"| {r.title} | {_num(r.median, r.unit)} | {len(r.runs)} | {r.baseline or '-'} | "
            f"{_num(r.baseline_median, r.unit)} | {ratio} | {r.target.text} | {'PASS' if r.passed else '**FAIL**'} |"
        )
    lines.append("")
    for r in results:
        lines.append(
            f"- `{r.name}`: runs {[round(x, 4) for x in r.runs]}"
            + (f"; baseline runs {[round(x, 4) for x in r.baseline_runs]}" if r.baseline_runs else "")
        )
        for note in r.notes:
            lines.append(f"  - {note}")
        for key, value in r.details.items():
            shown = (
                [round(x, 4) if isinstance(x, float) else x for x in value]
                if isinstance(value, list)
                else value
            )
            if isinstance(shown, float):
                shown = round(shown, 4)
            lines.append(f"  - {key}: {shown}")
    return "\n".join(lines) + "\n"
