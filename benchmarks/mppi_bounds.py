"""How MPPI keeps the torque bound, against the noise scale: squash and truncate against clamp.

Pendulum-v1 with gymnasium's random starts (reset seeds `--seed` .. `--seed + --episodes - 1`),
K = 1000, H = 30, λ = 1: the mean return of `examples/mppi_pendulum.py --bounds MODE
--noise-scale σ` for each mode and σ, and the paired difference to clamping (episode by
episode, on the same starts) with its standard error. Clamping is what pytorch-mppi does, so it
is the peer's method run on our planner; `benchmarks/mppi.py` has pytorch-mppi itself. With
`squash`, σ is measured in the unbounded space; with the others, in torque units.

Writes `media/mppi_bounds.md`.

    python benchmarks/mppi_bounds.py            # about 4 min
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from _examples import run_example, write_report

MODES = ("squash", "truncate", "clamp")


def returns(mode: str, sigma: float, episodes: int, seed: int) -> np.ndarray:
    output = run_example(
        "mppi_pendulum.py", f"--bounds={mode}", f"--noise-scale={sigma}",
        f"--episodes={episodes}", f"--seed={seed}", run_dir=False,
    )  # fmt: skip
    line = next(line for line in output.splitlines() if line.startswith("returns:"))
    values = np.asarray(json.loads(line.split(":", 1)[1]))
    print(f"{mode} σ={sigma}: {values.mean():.1f}", flush=True)
    return values


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise-scales", type=float, nargs="+", default=[0.5, 1.0, 2.0])
    args = parser.parse_args(argv)
    sigmas = args.noise_scales
    results = {(m, s): returns(m, s, args.episodes, args.seed) for s in sigmas for m in MODES}

    def difference(mode, sigma):
        d = results[mode, sigma] - results["clamp", sigma]
        return f"{d.mean():+.1f} ± {d.std(ddof=1) / np.sqrt(d.size):.1f}"

    rows = [
        "| | " + " | ".join(f"σ = {s}" for s in sigmas) + " |",
        "|---|" + "---|" * len(sigmas),
    ]
    for mode in MODES:
        means = " | ".join(f"{results[mode, s].mean():.1f}" for s in sigmas)
        rows.append(f"| mean return, {mode} | {means} |")
    for mode in ("squash", "truncate"):
        rows.append(
            f"| {mode} − clamp, paired (± s.e.) | "
            + " | ".join(difference(mode, s) for s in sigmas)
            + " |"
        )
    best = {m: max(results[m, s].mean() for s in sigmas) for m in MODES}
    rows.append(
        "| best over σ: squash / truncate / clamp | "
        + f"{best['squash']:.1f} / {best['truncate']:.1f} / {best['clamp']:.1f}"
        + " |" * len(sigmas)
    )
    last = args.seed + args.episodes - 1
    title = (
        f"MPPI bounds modes against the noise scale: Pendulum-v1, reset seeds "
        f"{args.seed}-{last}, K=1000, H=30"
    )
    note = "clamping, pytorch-mppi's method, on our planner in the same run."
    write_report("mppi_bounds.md", title, "mppi_bounds.py", note, "\n".join(rows))


if __name__ == "__main__":
    main()
