"""models/index.json: the bundles the page offers. Exporters add the bundle they wrote; bundles
made only for tests (e.g. PNASNet with generated weights) are not added, and open with ?model=.
Smaller weight variants (tools/weight_variants.py) are listed next to their fp32 bundle, smallest
first: the page opens the first entry, i.e. the smallest variant of the default model. Only
variants that meet the agreement bar are listed (checked by tests/variants.rs).

  python tools/models_index.py models/<bundle>    # add or update one bundle
"""
import json
import os
import sys

DEFAULT = "efficientnet-lite0"


def add_to_index(bundle_dir):
    """Add (or update) the bundle in bundle_dir to the index.json beside it."""
    bundle_dir = os.path.abspath(bundle_dir)
    models_dir = os.path.dirname(bundle_dir)
    index_path = os.path.join(models_dir, "index.json")
    entries = json.load(open(index_path))["models"] if os.path.exists(index_path) else []
    m = json.load(open(os.path.join(bundle_dir, "model.json")))
    weights = m.get("weights", {"storage": "fp32", "of": m["id"]})
    entry = {"id": m["id"], "name": m["name"], "path": os.path.basename(bundle_dir),
             "bytes": m["network"]["bytes"], "weights": weights["storage"], "of": weights["of"],
             "description": m.get("description", "")}
    entries = [e for e in entries if e["path"] != entry["path"]] + [entry]
    # The default model's variants first, each model's smallest variant first.
    entries.sort(key=lambda e: (e.get("of", e["id"]) != DEFAULT, e.get("of", e["id"]), e["bytes"]))
    with open(index_path, "w") as f:
        json.dump({"models": entries}, f, indent=2)
        f.write("\n")
    return entries


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(json.dumps(add_to_index(sys.argv[1]), indent=2))
