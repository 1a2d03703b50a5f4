"""`python -m bench [run]`: serving benchmark; `python -m bench build`; `python -m bench profile SERVER`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from bench import machine
from bench.gateway import gateway_bench, gateway_parser
from bench.process import ServerFailed
from bench.report import RunReport, render_run, target_rows, update_document
from bench.runner import Settings, run_rounds
from bench.servers import COMPARISONS, REPO_ROOT, SERVERS
from bench.wrk import LoadFailed, wrk_path

DEFAULT_DOC = REPO_ROOT / "docs" / "benchmarks.md"
QUICK = Settings(rounds=2, duration_s=1, warmup_s=1)


def comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def run_parser(parser: argparse.ArgumentParser) -> None:
    default = Settings()
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK.rounds} rounds of {QUICK.duration_s} s; writes no document "
        "unless --output is given",
    )
    parser.add_argument("--rounds", type=int, help=f"interleaved rounds (default {default.rounds})")
    parser.add_argument(
        "--duration", type=int, help=f"seconds of load per measurement (default {default.duration_s})"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        help=f"seconds of warm-up load per server and round (default {default.warmup_s}; 0 for none)",
    )
    parser.add_argument("--connections", type=comma_list, help="connection counts, e.g. 16,1 (the default)")
    parser.add_argument(
        "--servers", type=comma_list, help=f"servers to measure (default all): {', '.join(SERVERS)}"
    )
    parser.add_argument(
        "--output", type=Path, help=f"Markdown document to update (default {DEFAULT_DOC}); '-' prints only"
    )
    parser.add_argument("--json", type=Path, help="also write every raw sample to this JSON file")
    parser.add_argument(
        "--log-dir", type=Path, help="keep the servers' logs here (default: a temporary directory)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")


def settings_from(args: argparse.Namespace) -> Settings:
    base = QUICK if args.quick else Settings()
    return Settings(
        rounds=args.rounds or base.rounds,
        duration_s=args.duration or base.duration_s,
        warmup_s=base.warmup_s if args.warmup is None else args.warmup,
        connections=tuple(int(c) for c in args.connections) if args.connections else base.connections,
    )


def run(args: argparse.Namespace, argv: list[str]) -> int:
    unknown = [name for name in args.servers or () if name not in SERVERS]
    if unknown:
        print(f"error: unknown server(s) {', '.join(unknown)} in --servers; choose from {', '.join(SERVERS)}")
        return 2
    wrk_path()
    settings = settings_from(args)
    selected = [SERVERS[name] for name in args.servers or SERVERS]
    skipped = {s.name: reason for s in selected if (reason := s.unavailable_reason())}
    specs = [s for s in selected if s.name not in skipped]
    for name, reason in skipped.items():
        print(f"skipping {name}: {reason}")
    names = {s.name for s in specs}
    comparisons = tuple(c for c in COMPARISONS if {c.contender, c.baseline} <= names)
    if args.log_dir:
        args.log_dir.mkdir(parents=True, exist_ok=True)

    started, load_before, clock = (
        time.strftime("%Y-%m-%d %H:%M %Z"),
        machine.load_average(),
        time.perf_counter(),
    )
    measurements = run_rounds(specs, settings, log=lambda line: print(line, flush=True), log_dir=args.log_dir)
    report = RunReport(
        command=" ".join(["python -m bench", *argv]).strip(),
        settings=settings,
        specs=specs,
        skipped=skipped,
        comparisons=comparisons,
        measurements=measurements,
        machine=machine.describe(REPO_ROOT),
        started=started,
        elapsed_s=time.perf_counter() - clock,
        load_before=load_before,
        load_after=machine.load_average(),
    )
    print("\n".join(target_rows(report)))
    output = args.output or (None if args.quick else DEFAULT_DOC)
    if output:
        text = render_run(report)
        if update_document(output, "run", text):
            print(f"results written to {output}")
        else:
            print(text)
    if args.json:
        args.json.write_text(json.dumps(dataclasses.asdict(measurements) | {"skipped": skipped}, indent=1))
    missed = any("**NO**" in row for row in target_rows(report))
    return 1 if args.check and missed else 0


def build_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sample", type=Path, default=REPO_ROOT / "sample" / "python-class", help="job to build"
    )
    parser.add_argument("--repeats", type=int, default=3, help="builds per rebuild step (default 3)")
    parser.add_argument("--keep-images", action="store_true", help="keep the racetrack-bench job images")
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_DOC,
        help=f"document to update (default {DEFAULT_DOC}); '-' prints only",
    )


def build(args: argparse.Namespace, argv: list[str]) -> int:
    from bench.build import render_build, run_build_bench

    started = time.strftime("%Y-%m-%d %H:%M %Z")
    results = run_build_bench(args.sample.resolve(), args.repeats, args.keep_images, log=print)
    text = render_build(results, " ".join(["python -m bench", *argv]), machine.describe(REPO_ROOT), started)
    print(text)
    if update_document(args.output, "build", text):
        print(f"results written to {args.output}")
    return 0


def profile_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("server", choices=list(SERVERS), help="server to profile")
    parser.add_argument(
        "--duration", type=int, default=10, help="seconds of load while sampling (default 10)"
    )
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second (default 250)")
    parser.add_argument("--top", type=int, default=25, help="frames to list (default 25)")


def profile(args: argparse.Namespace, argv: list[str]) -> int:
    from bench.profile import profile_server

    result = profile_server(SERVERS[args.server], args.duration, args.connections, args.rate)
    print(f"Profile of `{args.server}` (`python -m bench {' '.join(argv)}`): {result.render(args.top)}")
    return 0


COMMANDS = {
    "gateway": ("gateway benchmark: a job direct vs via racetrack gateway", gateway_parser, gateway_bench),
    "run": ("serving benchmark: wrapper vs hand-written FastAPI (the default command)", run_parser, run),
    "build": ("builder benchmark: build times and image sizes (needs a Docker engine)", build_parser, build),
    "profile": (
        "py-spy profile of one server under wrk load: where its CPU time goes",
        profile_parser,
        profile,
    ),
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    for name, (help_text, add_arguments, _) in COMMANDS.items():
        add_arguments(commands.add_parser(name, help=help_text, description=help_text))
    explicit = bool(argv) and (argv[0] in COMMANDS or argv[0] in {"-h", "--help"})
    args = parser.parse_args(argv if explicit else ["run", *argv])
    try:
        return COMMANDS[args.command][2](args, argv)
    except (ServerFailed, LoadFailed) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
