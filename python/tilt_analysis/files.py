"""Readers for the files tilt writes; every failure names the file it came from."""

import json
from pathlib import Path

import pandas as pd
import yaml


class InputError(Exception):
    """A path or file that is not what tilt writes (missing directory, unparsable file, ...)."""


def read_yaml(path: Path) -> dict:
    try:
        value = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise InputError(f"cannot read {path}: {error}") from error
    # An empty file is a valid YAML document holding nothing.
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(f"{path} does not hold a YAML mapping")
    return value


def read_json_object(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read {path}: {error}") from error
    if not isinstance(value, dict):
        raise InputError(f"{path} does not hold a JSON object")
    return value


def read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read {path}: {error}") from error
