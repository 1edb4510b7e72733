#!/usr/bin/env python3
"""Checks the DocC site `make docs` built: every symbol page (every public declaration of the modules) has a summary, and each module's landing page
places every top-level symbol in a topic group of its own (none left to DocC's automatic "Classes",
"Structures", … groups). Prints the coverage figures; exits 1 listing what fails.

    python3 Scripts/check-docs.py .build/docs Strata StrataTraining
"""
import json
import os
import sys


def main(site, modules):
    failures = []
    symbols, documented = 0, 0
    for directory, _, files in os.walk(os.path.join(site, "data", "documentation")):
        for name in files:
            page = json.load(open(os.path.join(directory, name)))
            if page.get("kind") != "symbol":
                continue
            symbols += 1
            if page.get("abstract"):
                documented += 1
            else:
                failures.append(f"no summary: {page['identifier']['url']} ({page['metadata'].get('roleHeading', '')})")
    for module in modules:
        page = json.load(open(os.path.join(site, "data", "documentation", module.lower() + ".json")))
        groups = page.get("topicSections", [])
        for group in groups:
            if group.get("generated"):
                names = ", ".join(page["references"][i]["title"] for i in group["identifiers"])
                failures.append(f"{module}: in no topic group of the landing page ({group['title']}): {names}")
        placed = sum(len(group["identifiers"]) for group in groups if not group.get("generated"))
        print(f"check-docs: {module}: {placed} pages in {len(groups)} topic groups on the landing page")
    print(f"check-docs: {documented} of {symbols} symbol pages have a summary ({100 * documented / max(symbols, 1):.1f}%)")
    for failure in failures:
        print("check-docs: " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
