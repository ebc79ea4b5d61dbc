"""Every preset reproduces its figure: trained from the command line at its check budget (seed
0), the final deterministic evaluation reaches the return its slow test promises."""

import re
import subprocess
import sys

import pytest

from reinforceable.commands.presets import PRESETS


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_reaches_its_check_return(name, tmp_path):
    preset = PRESETS[name]
    result = subprocess.run(
        [sys.executable, "-m", "reinforceable", "train", preset.algo, "--preset", name,
         "--steps", str(preset.check_steps), "--run-dir", str(tmp_path), "--seed", "0"],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    figure = float(re.search(r"result: evaluation return ([-\d.]+)", result.stdout).group(1))
    assert figure >= preset.check_return, result.stdout[-2000:]
