"""The command line (`python -m reinforceable`) and its presets."""

from reinforceable.commands.presets import PRESETS, Preset, get_preset

__all__ = ["PRESETS", "Preset", "get_preset"]
