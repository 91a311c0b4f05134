"""Write models/index.json, the list of bundles the page offers, from models/*/model.json."""
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = "efficientnet-lite0"


def write_index(models_dir=os.path.join(ROOT, "models")):
    entries = []
    for name in sorted(os.listdir(models_dir)):
        manifest_path = os.path.join(models_dir, name, "model.json")
        if not os.path.isfile(manifest_path):
            continue
        m = json.load(open(manifest_path))
        entries.append({"id": m["id"], "name": m["name"], "path": name,
                        "bytes": m["network"]["bytes"], "description": m.get("description", "")})
    entries.sort(key=lambda e: (e["id"] != DEFAULT, e["id"]))  # the default first
    with open(os.path.join(models_dir, "index.json"), "w") as f:
        json.dump({"models": entries}, f, indent=2)
        f.write("\n")
    return entries


if __name__ == "__main__":
    print(json.dumps(write_index(), indent=2))
