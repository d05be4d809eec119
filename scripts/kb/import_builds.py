#!/usr/bin/env python3
"""Regenerate data/kb/builds.csv from a scrape of Microsoft's build-number page.

Input: the `ms-exchange-unique-versions-dict.json` table published by
righel/ms-exchange-version-nse (Apache-2.0), which is scraped daily from
https://learn.microsoft.com/exchange/new-features/build-numbers-and-release-dates
Usage: scripts/kb/import_builds.py TABLE.json > data/kb/builds.csv

Only facts are taken (build, name, date, KB link); rows are normalised into
product / cu / update columns. Rows that are scrape errors or not production
builds are dropped, each for a reason printed on stderr.
"""
import csv
import json
import re
import sys

MS_PAGE = "https://learn.microsoft.com/exchange/new-features/build-numbers-and-release-dates"
MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]

# Scrape errors and non-production rows, each with the reason it is dropped.
DROP = {
    "14.3.328.5": "typo in the source: a 2010 SP2 rollup listed under 14.3 (it is 14.2.328.5)",
    "15.2.858.2": "revision reported by 2019 CU9 servers, not an official build (CU9 is 15.2.858.5)",
    "15.1.225.16": "preview", "15.1.225.17": "preview",
    "15.2.191.1": "preview", "15.2.196.0": "preview",
}


def product_of(parts):
    major, minor, build = parts[0], parts[1], parts[2]
    if major == 14:
        return "2010"
    if (major, minor) == (15, 0):
        return "2013"
    if (major, minor) == (15, 1):
        return "2016"
    if (major, minor) == (15, 2):
        return "SE" if build >= 2562 else "2019"
    return None


def iso_date(text):
    text = text.strip()
    m = re.fullmatch(r"([A-Za-z]+) (\d{1,2}), (\d{4})", text)
    if m:
        return "%s-%02d-%02d" % (m.group(3), MONTHS.index(m.group(1)) + 1, int(m.group(2)))
    m = re.fullmatch(r"([A-Za-z]+), (\d{4})", text)
    if m:  # the source gives only the month for some older updates
        return "%s-%02d" % (m.group(2), MONTHS.index(m.group(1)) + 1)
    raise ValueError("unparsed date %r" % text)


def su_name_for(date):
    year, month = date[:4], int(date[5:7])
    return MONTHS[month - 1][:3] + year[2:] + "SU"


def split_name(product, name, date):
    """Return (cu, update) for a row name."""
    n = re.sub(r"\s+", " ", name).strip()
    if product == "2010":
        sp = re.search(r"SP(\d)", n)
        cu = "SP%s" % sp.group(1) if sp else "RTM"
        ru = re.search(r"(?:Update Rollup|RU) ?(\d+)( v\d)?", n)
        if ru:
            return cu, "RU%s%s" % (ru.group(1), (ru.group(2) or "").replace(" ", ""))
        return cu, ""
    m = re.fullmatch(r"Exchange Server (?:2013|2016|2019|SE) (RTM|SP1|CU\d+)(?: \(\d{4}H\d\))?(?: (\w+))?", n)
    if m:
        return m.group(1), m.group(2) or ""
    m = re.fullmatch(r"Exchange Server (?:2013|2016|2019) RTM", n)
    if m:
        return "RTM", ""
    m = re.fullmatch(r"Exchange Version (?:2013|2016|2019) ?(SP1 \(CU4\)|CU\d+)? ?\+ ?KB\d+(v\d)?", n)
    if m:
        cu = (m.group(1) or "RTM").replace(" (CU4)", "")
        return cu, su_name_for(date) + (m.group(2) or "")
    raise ValueError("unparsed name %r" % name)


def main():
    table = json.load(open(sys.argv[1]))
    rows = []
    for build, row in table.items():
        parts = [int(p) for p in build.split(".")]
        product = product_of(parts)
        if product is None:
            continue
        if build in DROP:
            print("drop %s: %s" % (build, DROP[build]), file=sys.stderr)
            continue
        date = iso_date(row["release_date"])
        cu, update = split_name(product, row["name"], date)
        kb = next((u for u in row["urls"] if "support.microsoft.com" in u or "download" in u), "")
        rows.append((parts, product, cu, update, build, date, kb))
    rows.sort()
    # Where the source has two rows for one update, keep the one with a full release date.
    best = {}
    for r in rows:
        key = r[1:4]
        if key not in best or (len(r[5]) > len(best[key][5])):
            best[key] = r
    seen = set()
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["product", "cu", "update", "build", "released", "kb", "source"])
    for parts, product, cu, update, build, date, kb in rows:
        key = (product, cu, update)
        if best[key][4] != build:
            print("drop %s: second row for %s %s %s" % (build, product, cu, update), file=sys.stderr)
            continue
        seen.add(key)
        out.writerow([product, cu, update, build, date, kb, MS_PAGE])


if __name__ == "__main__":
    main()
