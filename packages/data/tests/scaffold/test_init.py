"""`tabship-data init`: a new dataset's configs inferred from a file, then ingested as they are."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

import tabship.data as td

if TYPE_CHECKING:
    from packages.data.tests.conftest import RunCli


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


def _init(run_cli: RunCli, root: Path, *args: str) -> tuple[int, str, str]:
    result = run_cli(["init", *args, "--project", str(root)])
    return result.code, result.out, result.err


def test_a_headered_csv_becomes_a_dataset_that_ingests_as_written(
    tmp_path: Path, run_cli: RunCli, credit_csv: Callable[..., Path]
) -> None:
    source = credit_csv(tmp_path / "credit.csv")
    root = _project(tmp_path)
    code, out, err = _init(run_cli, root, str(source), "--target", "outcome", "--positive", "bad")
    assert code == 0, err
    assert "dataset credit: 3,000 rows, 7 columns" in out
    folder = root / "configs" / "datasets" / "credit"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["data.yaml", "schema.yaml", "features.yaml", "train.yaml", "gate.yaml"]
    )
    # A new project gets its project file, with the new dataset as its default.
    assert yaml.safe_load((root / "configs" / "project.yaml").read_text()) == {
        "default_dataset": "credit"
    }
    config = td.load_config(folder / "data.yaml")
    assert config.name == "credit" and config.reader.header is True
    assert config.reader.separator == "," and config.reader.quote_char is None
    assert set(config.reader.na_values) == {"", "NA"}  # both missing tokens the file uses
    assert config.key == ("customer_id",)  # every value distinct, and named like an ID
    assert config.target.column == "outcome" and config.target.positive == "bad"
    schema = td.load_schema(config)
    assert schema.target_labels == ("bad", "good")
    assert schema.nullable["income"] and schema.nullable["years_employed"]
    assert not schema.nullable["age"]
    assert str(schema.dtypes["purpose"]).startswith("Enum")
    features = yaml.safe_load((folder / "features.yaml").read_text())
    assert features["numeric"] == ["income", "age", "debt_ratio", "years_employed"]
    assert features["categorical"] == ["purpose"]  # the ID and the target are not features
    schema_text = (folder / "schema.yaml").read_text()
    assert "age:  # seen 18 to 79; allowed 11 to 86 (10% of the range added)" in schema_text
    gate = yaml.safe_load((folder / "gate.yaml").read_text())
    assert gate["baseline"]["model"] == "logistic_regression" and gate["floors"] == {}
    train = (folder / "train.yaml").read_text()
    assert "#   purpose: {column: purpose}" in train  # a group proposed, commented out
    assert yaml.safe_load(train)["groups"] == {}

    result = td.ingest(config, store=root / "data" / "processed")
    assert (result.rows_in, result.rows_accepted, result.rows_quarantined) == (3000, 3000, 0)


def test_a_headerless_space_separated_coded_file(
    tmp_path: Path, run_cli: RunCli, coded_file: Callable[..., Path]
) -> None:
    source = coded_file(tmp_path / "german.data")
    root = _project(tmp_path)
    code, out, err = _init(run_cli, root, str(source), "--target", "7", "--positive", "2")
    assert code == 0, err
    assert "no header line" in out and "separator space" in out
    config = td.load_config(root / "configs" / "datasets" / "german" / "data.yaml")
    assert config.reader.header is False and config.reader.separator == " "
    assert config.columns == tuple(f"column_{i}" for i in range(1, 8))
    assert config.target.column == "column_7" and config.target.positive == "2"
    assert config.key == ()
    features = yaml.safe_load((config.config_path.parent / "features.yaml").read_text())
    assert features["categorical"] == ["column_1", "column_3", "column_5"]
    assert features["numeric"] == ["column_2", "column_4", "column_6"]
    result = td.ingest(config, store=root / "data" / "processed")
    assert (result.rows_in, result.rows_accepted) == (2000, 2000)


@pytest.mark.parametrize(
    ("target", "positive", "message"),
    [
        ("status", "bad", "no column 'status' (columns: customer_id, income"),
        (
            "outcome",
            "yes",
            "positive value 'yes' never occurs in 'outcome' (its values: bad, good)",
        ),
        ("purpose", "car", "target 'purpose' has 5 distinct values"),
    ],
)
def test_a_target_that_cannot_be_binary_is_refused_in_one_line(
    tmp_path: Path,
    run_cli: RunCli,
    credit_csv: Callable[..., Path],
    target: str,
    positive: str,
    message: str,
) -> None:
    source = credit_csv(tmp_path / "credit.csv", rows=200)
    root = _project(tmp_path)
    code, _, err = _init(run_cli, root, str(source), "--target", target, "--positive", positive)
    assert code == 1
    assert err.count("\n") == 1 and message in err and str(source) in err
    assert not (root / "configs").exists()  # nothing written


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PAR1\x00\x01binary", "binary content"),
        (b"just one column\nof words\nand more words\nhere\n", "no separator"),
        (b"a,b,c\n1,2\n3\n4,5,6,7\n8;9\n", "no separator"),
    ],
)
def test_a_file_that_is_not_a_table_is_refused(
    tmp_path: Path, run_cli: RunCli, content: bytes, message: str
) -> None:
    source = tmp_path / "odd.csv"
    source.write_bytes(content)
    code, _, err = _init(
        run_cli, _project(tmp_path), str(source), "--target", "c", "--positive", "1"
    )
    assert code == 1 and message in err and "Traceback" not in err


def test_init_never_overwrites_without_force(
    tmp_path: Path, run_cli: RunCli, credit_csv: Callable[..., Path]
) -> None:
    source = credit_csv(tmp_path / "credit.csv", rows=200)
    root = _project(tmp_path)
    args = (str(source), "--target", "outcome", "--positive", "bad", "--name", "loans")
    assert _init(run_cli, root, *args)[0] == 0
    features = root / "configs" / "datasets" / "loans" / "features.yaml"
    features.write_text("# edited by hand\n" + features.read_text())
    code, _, err = _init(run_cli, root, *args)
    assert code == 2 and "exists; init never overwrites" in err and "--force" in err
    assert features.read_text().startswith("# edited by hand")
    assert _init(run_cli, root, *args, "--force")[0] == 0
    assert not features.read_text().startswith("# edited by hand")
    # The project file is the user's from the first init on: a second dataset does not move it.
    assert _init(run_cli, root, *args[:-1], "second")[0] == 0
    assert "default_dataset: loans" in (root / "configs" / "project.yaml").read_text()
    assert td.project_at(root).dataset_names() == ["loans", "second"]


def test_gzip_input_and_a_bad_name(
    tmp_path: Path, run_cli: RunCli, credit_csv: Callable[..., Path]
) -> None:
    plain = credit_csv(tmp_path / "credit.csv", rows=200)
    packed = tmp_path / "Credit Data.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    root = _project(tmp_path)
    code, out, err = _init(run_cli, root, str(packed), "--target", "outcome", "--positive", "bad")
    assert code == 0, err
    assert "dataset credit-data:" in out
    code, _, err = _init(
        run_cli, root, str(plain), "--target", "outcome", "--positive", "bad", "--name", "Bad Name"
    )
    assert code == 2 and "not a valid dataset name" in err
