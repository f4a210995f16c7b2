"""Compare checkov's failed checks with the exceptions file.

usage: checkov_check.py EXCEPTIONS.yaml REPORT.json [REPORT.json...]

Exits 1 when a check fails that no entry of EXCEPTIONS allows, or when an
entry allows nothing that failed (a stale entry: remove it), and prints
each. Runs with the Python of checkov's venv (it has PyYAML).
"""

import fnmatch
import json
import sys

import yaml


def failures(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    reports = data if isinstance(data, list) else [data]
    out = []
    for r in reports:
        if r.get("check_type") not in (None, "kubernetes"):
            continue
        for c in r.get("results", {}).get("failed_checks", []):
            out.append((c["check_id"], c["resource"], c.get("check_name", "")))
        summary = r.get("summary", {})
        print(f"{path}: {summary.get('passed')} passed, {summary.get('failed')} failed")
    return out


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        entries = yaml.safe_load(f) or []
    for i, e in enumerate(entries):
        if not e.get("reason", "").strip() or not e.get("checks") or not e.get("resources"):
            print(f"{argv[1]}: entry {i + 1} needs checks, resources and a reason", file=sys.stderr)
            return 1
    used = [False] * len(entries)
    new = []
    for report in argv[2:]:
        for check, resource, name in failures(report):
            allowed = False
            for i, e in enumerate(entries):
                if check in e["checks"] and any(fnmatch.fnmatchcase(resource, g) for g in e["resources"]):
                    used[i] = True
                    allowed = True
            if not allowed:
                new.append(f"{check} ({name}) on {resource}")
    status = 0
    for n in sorted(set(new)):
        print(f"NEW FAILURE: {n}", file=sys.stderr)
        status = 1
    for i, e in enumerate(entries):
        if not used[i]:
            print(f"STALE EXCEPTION: entry {i + 1} ({', '.join(e['checks'])}) matches no failure: remove it", file=sys.stderr)
            status = 1
    if status == 0:
        print(f"checkov: every failed check is one of the {len(entries)} entries of {argv[1]}")
    else:
        print(f"checkov: fix the manifests, or (with a reason) add to {argv[1]}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
