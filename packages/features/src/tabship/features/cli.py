"""The `tabship-features` command: check a feature spec, or describe a fitted pipeline."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from tabship.features import __version__
from tabship.features.pipeline import PipelineFileError, load_pipeline
from tabship.features.spec import SpecError, load_spec


def _check(path: Path, as_json: bool) -> int:
    spec = load_spec(path)
    if as_json:
        print(json.dumps({"path": str(path), "valid": True, "spec": spec.to_dict()}))
    else:
        print(
            f"{path}: valid: {len(spec.numeric)} numeric, {len(spec.categorical)} categorical, "
            f"{len(spec.derived)} derived, {len(spec.missing_indicators)} missing indicators; "
            f"unseen categories -> {spec.unseen_category}"
        )
    return 0


def _describe(path: Path, as_json: bool) -> int:
    pipeline = load_pipeline(path)
    if as_json:
        print(json.dumps(pipeline.to_dict()))
        return 0
    print(f"{path}: fitted on {pipeline.fitted_rows} rows, {len(pipeline.feature_names)} features")
    for name in pipeline.feature_names:
        levels = pipeline.categories.get(name)
        print(f"  {name}" + (f"  ({len(levels)} categories)" if levels is not None else ""))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="tabship-features", description=__doc__)
    parser.add_argument("--version", action="version", version=f"tabship-features {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate a feature spec (a dataset's features.yaml)")
    check.add_argument(
        "spec", type=Path, help="the spec, e.g. configs/datasets/adult/features.yaml"
    )
    check.add_argument("--json", action="store_true", help="print one JSON object")
    describe = commands.add_parser("describe", help="describe a fitted pipeline JSON file")
    describe.add_argument("pipeline", type=Path)
    describe.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            return _check(args.spec, args.json)
        return _describe(args.pipeline, args.json)
    except (SpecError, PipelineFileError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
