#!/usr/bin/env python3
"""Sum the outcomes of every TRX file under a folder and print one line: 'N passed, N failed, N skipped'.

Exits 1 when any test failed or no test ran at all, so a silent empty run cannot look green."""
import glob
import os
import sys
import xml.etree.ElementTree as ET

folder = sys.argv[1] if len(sys.argv) > 1 else "."
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = 0
failures = []
files = sorted(glob.glob(os.path.join(folder, "**", "*.trx"), recursive=True))
for path in files:
    root = ET.parse(path).getroot()
    for result in root.iterfind(".//t:UnitTestResult", ns):
        outcome = result.get("outcome", "")
        if outcome == "Passed":
            passed += 1
        elif outcome in ("NotExecuted", "Inconclusive", "Pending"):
            skipped += 1
        else:
            failed += 1
            failures.append(result.get("testName", "?"))
for name in failures[:50]:
    print(f"FAILED: {name}")
if not files:
    print("no TRX results found", file=sys.stderr)
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or not files or passed == 0 else 0)
