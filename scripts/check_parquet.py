"""Reads every .parquet of a dcsim run folder with pyarrow and with DuckDB and checks
each holds the values of the same table's .csv from a CSV run of the same scenario.

Usage: python3 scripts/check_parquet.py CSV_DIR PARQUET_DIR (used by .ci/run).
"""
import csv
import math
import pathlib
import sys

import duckdb
import pyarrow.parquet as pq


def same(value, cell):
    if value is None:
        return cell == ""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return str(value) == cell
    if isinstance(value, float):
        if math.isnan(value):
            return cell == "NaN"
        return float(cell) == value
    return value == cell


def check(rows, header, names, csv_rows, what):
    if list(names) != header:
        sys.exit(f"{what}: columns {list(names)} != CSV header {header}")
    if len(rows) != len(csv_rows):
        sys.exit(f"{what}: {len(rows)} rows, the CSV has {len(csv_rows)}")
    for i, (row, cells) in enumerate(zip(rows, csv_rows)):
        for name, v, c in zip(header, row, cells):
            if not same(v, c):
                sys.exit(f"{what}: row {i} column {name}: {v!r} vs CSV {c!r}")


def main(csv_dir, pq_dir):
    files = sorted(pathlib.Path(pq_dir).glob("*.parquet"))
    if not files:
        sys.exit(f"no .parquet files in {pq_dir}")
    for f in files:
        with open(pathlib.Path(csv_dir) / (f.stem + ".csv"), newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            csv_rows = list(reader)
        t = pq.read_table(f)
        rows = list(zip(*(t.column(n).to_pylist() for n in t.column_names)))
        check(rows, header, t.column_names, csv_rows, f"pyarrow {f.name}")
        rel = duckdb.sql(f"SELECT * FROM read_parquet('{f}')")
        check(rel.fetchall(), header, rel.columns, csv_rows, f"duckdb {f.name}")
        print(f"{f.name}: {len(csv_rows)} rows x {len(header)} columns equal the CSV (pyarrow, duckdb)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
