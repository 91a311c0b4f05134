"""Assemble dist/: the self-contained static site (`make dist`).

  python tools/make_dist.py [--out dist]

Copies the page (index.html, www/ without www/lib/, whose modules ship as pkg/), the JS package
(pkg/), the service worker, models/index.json and every bundle it lists (model.json, labels,
network), then writes dist/offline-manifest.js for this build. All URLs in the site are relative,
so dist/ works from any static host under any base path. Standard library only.
"""
import argparse
import json
import os
import shutil
import sys

import offline_manifest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def copy(rel, out):
    src, dst = os.path.join(ROOT, rel), os.path.join(out, rel)
    if not os.path.exists(src):
        sys.exit(f"make_dist: {rel} is missing (run `make build` first)")
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if os.path.isdir(src):
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("lib", ".gitignore"))
    else:
        shutil.copy2(src, dst)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(ROOT, "dist"))
    out = os.path.abspath(parser.parse_args().out)
    shutil.rmtree(out, ignore_errors=True)
    for rel in ("index.html", "service-worker.js", "www", "pkg", "models/index.json"):
        copy(rel, out)
    total = 0
    for entry in json.load(open(os.path.join(ROOT, "models", "index.json")))["models"]:
        bundle = os.path.join("models", entry["path"])
        manifest = json.load(open(os.path.join(ROOT, bundle, "model.json")))
        for name in ("model.json", manifest["labels"], manifest["network"]["file"]):
            copy(os.path.join(bundle, name), out)
        total += manifest["network"]["bytes"]
    m = offline_manifest.write(out)
    print(f"wrote {out}: {len(m['shell'])} shell files (version {m['version']}), "
          f"models {total / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
