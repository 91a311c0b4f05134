"""Write broken model bundles, each with one thing wrong, for the CLI and browser tests.

  python tools/bad_models.py OUT_DIR

Made from the default bundle (models/efficientnet-lite0) and its NNEF form
(models/efficientnet-lite0-nnef). OUT_DIR/cases.json lists
{"bundle", "what", "expect"}: `expect` is a piece of the message a person must see.
"""
import copy
import hashlib
import json
import os
import shutil
import sys

import onnx
from onnx import TensorProto, helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "models", "efficientnet-lite0")
NNEF_SOURCE = os.path.join(ROOT, "models", "efficientnet-lite0-nnef")


def write_bundle(out, name, manifest, network_bytes, labels=True, network_file="model.onnx"):
    d = os.path.join(out, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    if network_bytes is not None:
        with open(os.path.join(d, network_file), "wb") as f:
            f.write(network_bytes)
    if labels:
        shutil.copy(os.path.join(SOURCE, "labels.json"), d)
    with open(os.path.join(d, "model.json"), "w") as f:
        f.write(manifest if isinstance(manifest, str) else json.dumps(manifest, indent=1))


def with_network(manifest, data):
    m = copy.deepcopy(manifest)
    m["network"]["sha256"] = hashlib.sha256(data).hexdigest()
    m["network"]["bytes"] = len(data)
    return m


def not_an_image_model():
    """A valid ONNX that is not an image classifier: input [1, 16], output [1, 1000]."""
    w = helper.make_tensor("w", TensorProto.FLOAT, [16, 1000], [0.01] * 16000)
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "not-an-image-model",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1000])], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()


def main(out):
    os.makedirs(out, exist_ok=True)
    manifest = json.load(open(os.path.join(SOURCE, "model.json")))
    network = open(os.path.join(SOURCE, manifest["network"]["file"]), "rb").read()
    cases = []

    def case(name, what, expect):
        cases.append({"bundle": name, "what": what, "expect": expect})

    case("missing", "bundle folder that does not exist", "model.json")
    no_input = copy.deepcopy(manifest)
    del no_input["input"]
    write_bundle(out, "no-input", no_input, network)
    case("no-input", "manifest without its input section", "input")
    wrong_type = copy.deepcopy(manifest)
    wrong_type["input"]["width"] = "224px"
    write_bundle(out, "wrong-type", wrong_type, network)
    case("wrong-type", "manifest with a string where a number belongs", "width")
    write_bundle(out, "not-json", "{ this is not json", network)
    case("not-json", "model.json that is not JSON", "JSON")
    tampered = bytearray(network)
    tampered[len(tampered) // 2] ^= 0xFF
    write_bundle(out, "tampered", manifest, bytes(tampered))
    case("tampered", "network file changed after the manifest was written", "sha256")
    # Neither the manifest's file nor ONNX: the digest is checked before the bytes are parsed, so
    # the mismatch, not a parse error, is what the visitor is told.
    replaced = bytes(range(256)) * (len(network) // 256)
    write_bundle(out, "replaced", manifest, replaced)
    case("replaced", "network file replaced by bytes that are not ONNX", "corrupt or was modified")
    truncated = network[: len(network) // 2]
    write_bundle(out, "truncated", with_network(manifest, truncated), truncated)
    case("truncated", "ONNX cut in half (manifest matches the cut file)", "not a readable ONNX model")
    shape = copy.deepcopy(manifest)
    shape["input"]["width"] = shape["input"]["height"] = 300
    write_bundle(out, "wrong-shape", shape, network)
    case("wrong-shape", "manifest says 300x300, the network takes 224x224", "input shape")
    other = not_an_image_model()
    write_bundle(out, "not-an-image-model", with_network(manifest, other), other)
    case("not-an-image-model", "a valid ONNX that is not an image network", "input shape")
    write_bundle(out, "no-network", manifest, None)
    case("no-network", "network file missing", "model.onnx")

    # The NNEF form (format "nnef", a tar made by nnef-bundle).
    nnef_manifest = json.load(open(os.path.join(NNEF_SOURCE, "model.json")))
    nnef_file = nnef_manifest["network"]["file"]
    nnef = open(os.path.join(NNEF_SOURCE, nnef_file), "rb").read()
    write_nnef = lambda name, manifest, data: write_bundle(out, name, manifest, data, network_file=nnef_file)
    write_nnef("nnef-given-onnx", with_network(nnef_manifest, network), network)
    case("nnef-given-onnx", "manifest says NNEF, the file is ONNX", "not a readable NNEF network")
    cut = nnef[: len(nnef) // 2]
    write_nnef("nnef-truncated", with_network(nnef_manifest, cut), cut)
    case("nnef-truncated", "NNEF tar cut in half (manifest matches the cut file)", "not a readable NNEF network")
    nnef_shape = copy.deepcopy(nnef_manifest)
    nnef_shape["input"]["width"] = nnef_shape["input"]["height"] = 300
    write_nnef("nnef-wrong-shape", nnef_shape, nnef)
    case("nnef-wrong-shape", "NNEF bundle whose manifest says 300x300, the network takes 224x224", "input shape")
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
    print(f"wrote {len(cases)} broken bundles to {out}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
