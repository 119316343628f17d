#!/usr/bin/env python3
"""Regenerate erp-core/data/iso4217.csv from the ISO 4217 List One XML next to it.

Usage (from the repository root):

    python3 erp-core/data/gen_iso4217.py > erp-core/data/iso4217.csv

Input: erp-core/data/iso4217-list-one.xml (see README.md in this folder for where it came from).
Output columns: code,numeric,minor_units,fund,withdrawn,name

* One row per alphabetic code (the XML has one entry per country), sorted by code.
* Entries whose minor units are "N.A." (precious metals, SDR, testing and "no currency" codes) are skipped:
  they are not money with a fixed number of decimal places.
* SUPPLEMENT holds codes that are no longer in List One but still appear on documents that adapters sync.
"""

import csv
import os
import sys
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))

# Withdrawn codes kept for historical documents. Source: ISO 4217 amendment 176 (Caribbean guilder XCG replaces
# the Netherlands Antillean guilder ANG from 2025-03-31; ANG shared the numeric code 532 that XCG now uses).
SUPPLEMENT = [
    ("ANG", 532, 2, False, "Netherlands Antillean Guilder"),
]


def main() -> None:
    root = ET.parse(os.path.join(HERE, "iso4217-list-one.xml")).getroot()
    rows = {}
    for entry in root.iter("CcyNtry"):
        code = entry.findtext("Ccy")
        units = entry.findtext("CcyMnrUnts")
        if not code or units is None or not units.isdigit():
            continue
        name_el = entry.find("CcyNm")
        row = (code, int(entry.findtext("CcyNbr")), int(units), name_el.get("IsFund") == "true", False, name_el.text.strip())
        if code in rows and rows[code] != row:
            sys.exit(f"inconsistent entries for {code}: {rows[code]} vs {row}")
        rows[code] = row
    for code, numeric, units, fund, name in SUPPLEMENT:
        if code in rows:
            sys.exit(f"{code} is in List One again: drop it from SUPPLEMENT")
        rows[code] = (code, numeric, units, fund, True, name)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["code", "numeric", "minor_units", "fund", "withdrawn", "name"])
    for code in sorted(rows):
        c, n, u, f, w, name = rows[code]
        out.writerow([c, f"{n:03}", u, "true" if f else "false", "true" if w else "false", name])


if __name__ == "__main__":
    main()
