"""Prints JUnit reports as Markdown, for a CI job summary: each report's totals, then each failed
or erroring test with the first line of its message.  python3 .github/scripts/junit_summary.py FILE..."""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

for path in sys.argv[1:]:
    if not Path(path).exists():
        print(f"### {path}: not written (its step did not run)\n")
        continue
    suites = ET.parse(path).getroot()
    totals = {key: 0 for key in ("tests", "failures", "errors", "skipped")}
    failed = []
    for suite in suites.iter("testsuite"):
        for key in totals:
            totals[key] += int(suite.get(key, 0))
        for case in suite.iter("testcase"):
            for problem in (*case.findall("failure"), *case.findall("error")):
                message = (problem.get("message") or "").splitlines()[:1] or [""]
                failed.append(f"| `{case.get('classname')}.{case.get('name')}` | {message[0]} |")
    passed = totals["tests"] - totals["failures"] - totals["errors"] - totals["skipped"]
    print(
        f"### {path}: {passed} passed, {totals['failures'] + totals['errors']} failed, "
        f"{totals['skipped']} skipped\n"
    )
    if failed:
        print("| Test | Message |\n| --- | --- |", *failed, "", sep="\n")
