"""Fills in the workbook etown-atlas hands out, as a person would in Excel, with openpyxl.

    fill URL OUT.xlsx   download the carriers' workbook (items?f=xlsx, in Chinese), change
                        cells, add two bad cells and an unknown column; print what was done
    fix IN.xlsx OUT.xlsx  put the bad cells right and remove the unknown column

Prints JSON: the sheet's two header rows, every changed cell (row, id, key, before, after),
every bad cell, and the unknown column's header.
"""
import datetime
import io
import json
import sys

import openpyxl
import requests


def columns(ws):
    keys = [c.value for c in ws[2]]
    return {k: i + 1 for i, k in enumerate(keys) if k}


def fill(url, out):
    r = requests.get(url + "/collections/spatial-carriers/items?f=xlsx&lang=zh", timeout=60)
    r.raise_for_status()
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    ws = wb.worksheets[0]
    titles = [c.value for c in ws[1]]
    keys = [c.value for c in ws[2]]
    col = columns(ws)
    rows = {ws.cell(row=r, column=1).value: r for r in range(3, ws.max_row + 1)}
    changes, bad = [], []

    def put(fid, key, value, record=True):
        r = rows[fid]
        cell = ws.cell(row=r, column=col[key])
        before = cell.value
        cell.value = value
        entry = {"row": r, "id": fid, "key": key, "before": before, "after": value}
        (changes if record else bad).append(entry)

    put("carrier-01", "available_floor_area_m2", 1234)
    put("carrier-02", "available_floor_area_m2", 0)
    put("carrier-03", "delivery_date", datetime.datetime(2028, 9, 30))
    put("carrier-03", "power_kva", 4800)
    # A term by its Chinese label, as a person picks it from what the map shows.
    put("carrier-06", "status", "在建")
    put("carrier-04", "rent_cny_m2_day", "about five", record=False)
    put("carrier-05", "industry", "space-elevators", record=False)
    unknown = ws.max_column + 1
    ws.cell(row=1, column=unknown).value = "颜色"
    ws.cell(row=2, column=unknown).value = "colour"
    ws.cell(row=rows["carrier-07"], column=unknown).value = "red"
    for e in changes + bad:
        if isinstance(e["before"], datetime.datetime):
            e["before"] = e["before"].date().isoformat()
        if isinstance(e["after"], datetime.datetime):
            e["after"] = e["after"].date().isoformat()
    wb.save(out)
    print(json.dumps({"titles": titles, "keys": keys, "changes": changes, "bad": bad,
                      "unknown": "colour", "rows": len(rows)}, ensure_ascii=False))


def fix(src, out):
    wb = openpyxl.load_workbook(src)
    ws = wb.worksheets[0]
    col = columns(ws)
    rows = {ws.cell(row=r, column=1).value: r for r in range(3, ws.max_row + 1)}
    ws.cell(row=rows["carrier-04"], column=col["rent_cny_m2_day"]).value = 5.5
    ws.cell(row=rows["carrier-05"], column=col["industry"]).value = "future_space"
    ws.delete_cols(col["colour"])
    wb.save(out)
    print(json.dumps({"changes": [
        {"id": "carrier-04", "key": "rent_cny_m2_day", "after": 5.5},
        {"id": "carrier-05", "key": "industry", "after": "future_space"},
    ]}))


if __name__ == "__main__":
    if sys.argv[1] == "fill":
        fill(sys.argv[2], sys.argv[3])
    else:
        fix(sys.argv[2], sys.argv[3])
