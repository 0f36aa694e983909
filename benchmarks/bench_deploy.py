"""`deploytool deploy --all` of 1 and of 100 deployments without build steps, as wall time of a fresh process.

    .venv/bin/python benchmarks/bench_deploy.py [--runs N] [--sizes 1,100] [--json]

Each run is a trial in a fresh temporary DEPLOYTOOL_HOME: a generated project (one flow file,
`from deploytool import flow` / `@flow def f(x: int = 1)`, and a deploy.yaml with N deployments on a process
pool, no build/push steps), `deploytool work-pool create bench --type process` (not timed), then two timed
`deploytool deploy --all --file .../deploy.yaml`: the first creates all N deployments, the second finds all N
unchanged. The output is checked (N created, then N unchanged), so a broken deploy never yields a figure.
One unmeasured trial per size comes first (bytecode caches).

Target (issue 3, item 9): 100 deployments in under 1.5 s in all, for the median of each of the two deploys.
Exit status: 0 when the target is met, 1 when it is missed, 2 when the commands are missing or fail.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import BenchError, Stats, describe_failure, find_console_script, machine, ms, print_table, run_timed

TARGET_SIZE = 100
TARGET_MS = 1500.0
POOL = "bench"

FLOW_SOURCE = '''"""A flow for the deploy benchmark."""

from deploytool import flow


@flow
def f(x: int = 1) -> int:
    return x
'''

# A plan line of `deploy`: "+ create    f/dep-0001" (symbol, action, FLOW/NAME).
PLAN_LINE = re.compile(r"^\S\s+(create|update|unchanged|delete)\s+\S+")


@dataclass
class SizeResult:
    size: int
    first: Stats = field(default_factory=Stats)  # all created
    second: Stats = field(default_factory=Stats)  # all unchanged


def write_project(root: Path, size: int) -> Path:
    (root / "flows").mkdir(parents=True)
    (root / "flows" / "bench_flow.py").write_text(FLOW_SOURCE, encoding="utf-8")
    lines = ["name: deploy-benchmark", "", "deployments:"]
    for i in range(size):
        lines += [
            f"  - name: dep-{i:04d}",
            "    entrypoint: flows/bench_flow.py:f",
            "    parameters:",
            f"      x: {i}",
            "    work_pool:",
            f"      name: {POOL}",
        ]
    path = root / "deploy.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def count_actions(stdout: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in stdout.splitlines():
        match = PLAN_LINE.match(line)
        if match:
            counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    return counts


def check_available(script: Path, env: dict[str, str], cwd: Path) -> None:
    """Fail clearly when the CLI does not have the commands yet, instead of timing an error message."""
    for group in (["work-pool", "create"], ["deploy"]):
        done = run_timed([str(script), *group, "--help"], cwd=cwd, env=env)
        if done.returncode != 0:
            raise BenchError(f"`deploytool {' '.join(group)}` is not available: " + describe_failure(group, done))


def trial(script: Path, size: int, tmp: Path) -> tuple[float, float]:
    """One fresh home and project; the wall times of the first and the second deploy, in seconds."""
    project = tmp / "project"
    deploy_file = write_project(project, size)
    env = {**os.environ, "DEPLOYTOOL_HOME": str(tmp / "home")}
    env.pop("DEPLOYTOOL_DEBUG", None)
    create = [str(script), "work-pool", "create", POOL, "--type", "process"]
    done = run_timed(create, cwd=project, env=env)
    if done.returncode != 0:
        raise BenchError(describe_failure(create, done))
    deploy = [str(script), "deploy", "--all", "--file", str(deploy_file)]
    seconds: list[float] = []
    for expected in ("create", "unchanged"):
        done = run_timed(deploy, cwd=project, env=env)
        if done.returncode != 0:
            raise BenchError(describe_failure(deploy, done))
        counts = count_actions(done.stdout)
        if counts != {expected: size}:
            raise BenchError(
                f"deploy of {size}: expected {size} {expected!r} plan lines, got {counts or 'none'}: "
                + " | ".join(done.stdout.strip().splitlines()[-3:])
            )
        seconds.append(done.seconds)
    return seconds[0], seconds[1]


def measure(sizes: list[int], runs: int, warmups: int) -> list[SizeResult]:
    script = find_console_script()
    with tempfile.TemporaryDirectory(prefix="deploytool-bench-") as tmp:
        env = {**os.environ, "DEPLOYTOOL_HOME": str(Path(tmp) / "home")}
        check_available(script, env, Path(tmp))
    results = [SizeResult(size) for size in sizes]
    for result in results:
        for i in range(warmups + runs):
            with tempfile.TemporaryDirectory(prefix="deploytool-bench-") as tmp:
                first, second = trial(script, result.size, Path(tmp))
            if i >= warmups:
                result.first.samples.append(first)
                result.second.samples.append(second)
    return results


def rows_of(results: list[SizeResult]) -> list[tuple[str, int, Stats, float | None]]:
    rows: list[tuple[str, int, Stats, float | None]] = []
    for r in results:
        target = TARGET_MS if r.size == TARGET_SIZE else None
        rows.append((f"deploy --all, {r.size} new (all created)", r.size, r.first, target))
        rows.append((f"deploy --all, {r.size} again (all unchanged)", r.size, r.second, target))
    return rows


def verdict(stats: Stats, target: float | None) -> str:
    if target is None:
        return "-"
    return "PASS" if stats.median * 1000 < target else "FAIL"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20, help="measured trials per size (default 20)")
    parser.add_argument("--warmups", type=int, default=1, help="unmeasured trials per size first (default 1)")
    parser.add_argument("--sizes", default="1,100", help="comma-separated deployment counts (default 1,100)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes takes comma-separated integers, e.g. 1,100")
    if args.runs < 1 or args.warmups < 0 or not sizes or min(sizes) < 1:
        parser.error("--runs and every size must be at least 1, --warmups at least 0")
    try:
        results = measure(sizes, args.runs, args.warmups)
    except BenchError as exc:
        print(f"bench_deploy: {exc}", file=sys.stderr)
        return 2
    info = machine()
    rows = rows_of(results)
    ok = all(verdict(stats, target) != "FAIL" for _, _, stats, target in rows)
    if args.json:
        data = {
            "benchmark": "deploy",
            "runs": args.runs,
            "warmups": args.warmups,
            "machine": info,
            "results": [
                {
                    "command": label,
                    "deployments": size,
                    **stats.to_json(),
                    "per_deployment_ms": round(stats.median * 1000 / size, 2),
                    "target_ms": target,
                    "result": verdict(stats, target),
                }
                for label, size, stats, target in rows
            ],
            "passed": ok,
        }
        print(json.dumps(data, indent=2))
    else:
        print(f"deploytool deploy: {args.runs} trials after {args.warmups} warm-up(s), fresh home each, in ms")
        print(", ".join(f"{k}: {v}" for k, v in info.items()))
        print()
        table = [
            [
                label,
                ms(stats.min),
                ms(stats.median),
                ms(stats.p90),
                f"{stats.median * 1000 / size:.1f}",
                f"< {target:.0f}" if target is not None else "-",
                verdict(stats, target),
            ]
            for label, size, stats, target in rows
        ]
        print_table(["command", "min", "median", "p90", "ms/deployment", "target", "result"], table)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
