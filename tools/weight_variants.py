"""Smaller bundles of the same network: weights stored as half floats (f16) or as 8-bit integers
with one symmetric scale per output channel (int8).

  python tools/weight_variants.py models/efficientnet-lite0 --weights int8 [--out DIR] [--index]

The result is still a plain ONNX file, run by tract and by onnxruntime alike: each weight tensor
(the kernel of a Conv, the matrix of a Gemm or MatMul) is stored small and expanded by a node in
front of its use, Cast(int8 -> float) * scale, or Cast(float16 -> float). tract evaluates those
nodes once while it optimises the network, so in the browser the download is small and inference
runs on f32 weights as before. Biases and everything else stay f32 (a fraction of a percent).

The bundle (default out: <bundle>-<weights> beside the source) gets the source's manifest with
its own network file, id and name, and "weights": {"storage", "of", "fp32_bytes"}; --index lists
it in models/index.json (only variants that meet the agreement bar belong there: tests/variants.rs).
"""
import argparse
import json
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from bundle import sha256_file
from models_index import add_to_index

WEIGHT_INPUTS = {"Conv": 1, "ConvTranspose": 1, "Gemm": 1, "MatMul": 1}


def output_channel_axis(node, tensor):
    """The axis of a weight tensor that indexes output channels (one int8 scale per entry)."""
    if node.op_type in ("Conv", "ConvTranspose"):
        return 0 if node.op_type == "Conv" else 1
    if node.op_type == "Gemm":
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        return 0 if trans_b else 1
    return tensor.ndim - 1  # MatMul: [.., K, N]


def weight_tensors(graph):
    """Initializers used as weights, with the output-channel axis of their (first) use."""
    initializers = {i.name: i for i in graph.initializer}
    found = {}
    for node in graph.node:
        k = WEIGHT_INPUTS.get(node.op_type)
        if k is not None and len(node.input) > k and node.input[k] in initializers:
            name = node.input[k]
            init = initializers[name]
            if init.data_type == TensorProto.FLOAT and name not in found:
                found[name] = output_channel_axis(node, numpy_helper.to_array(init))
    return found


def quantize_int8(w, axis):
    """Symmetric per-channel int8: w ~= q * scale, |q| <= 127. Returns (q, scale shaped to broadcast)."""
    reduce_axes = tuple(a for a in range(w.ndim) if a != axis)
    peak = np.abs(w).max(axis=reduce_axes, keepdims=True)
    scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale


def shrink(model, storage):
    """Replace every weight initializer by its small form plus the nodes that expand it."""
    graph = model.graph
    weights = weight_tensors(graph)
    kept, expand = [], []
    for init in graph.initializer:
        name = init.name
        if name not in weights:
            kept.append(init)
            continue
        w = numpy_helper.to_array(init)
        if storage == "f16":
            kept.append(numpy_helper.from_array(w.astype(np.float16), f"{name}__f16"))
            expand.append(helper.make_node("Cast", [f"{name}__f16"], [name], to=TensorProto.FLOAT,
                                           name=f"{name}__expand"))
        else:
            q, scale = quantize_int8(w, weights[name])
            kept.append(numpy_helper.from_array(q, f"{name}__int8"))
            kept.append(numpy_helper.from_array(scale, f"{name}__scale"))
            expand.append(helper.make_node("Cast", [f"{name}__int8"], [f"{name}__f32"], to=TensorProto.FLOAT,
                                           name=f"{name}__cast"))
            expand.append(helper.make_node("Mul", [f"{name}__f32", f"{name}__scale"], [name],
                                           name=f"{name}__expand"))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    # Old-style graphs also list initializers as inputs: the replaced ones are now node outputs.
    inputs = [i for i in graph.input if i.name not in weights]
    del graph.input[:]
    graph.input.extend(inputs)
    nodes = expand + list(graph.node)  # the expanding nodes need only initializers: first is fine
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    return model, len(weights)


def write_variant(src_dir, storage, out_dir):
    manifest = json.load(open(os.path.join(src_dir, "model.json")))
    if manifest.get("weights", {}).get("storage", "fp32") != "fp32":
        raise SystemExit(f"{src_dir} is already a {manifest['weights']['storage']} variant")
    model = onnx.load(os.path.join(src_dir, manifest["network"]["file"]))
    model, count = shrink(model, storage)
    os.makedirs(out_dir, exist_ok=True)
    network = os.path.join(out_dir, manifest["network"]["file"])
    onnx.save_model(model, network)
    shutil.copyfile(os.path.join(src_dir, manifest["labels"]), os.path.join(out_dir, manifest["labels"]))
    fp32_bytes = manifest["network"]["bytes"]
    described = {"f16": "weights stored as float16", "int8": "weights stored as int8, one scale per output channel"}
    manifest.update({
        "id": f"{manifest['id']}-{storage}",
        "name": f"{manifest['name']} ({storage} weights)",
        "description": f"{manifest.get('description', '')}; {described[storage]}".lstrip("; "),
        "network": {**manifest["network"], "sha256": sha256_file(network), "bytes": os.path.getsize(network)},
        "weights": {"storage": storage, "of": manifest["id"], "fp32_bytes": fp32_bytes},
    })
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    size = manifest["network"]["bytes"]
    print(f"{out_dir}: {count} weight tensors as {storage}, {size / 1e6:.1f} MB "
          f"({100 * size / fp32_bytes:.1f}% of fp32)")
    return manifest


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundle", help="the fp32 bundle folder")
    parser.add_argument("--weights", choices=["f16", "int8"], required=True)
    parser.add_argument("--out", help="output bundle folder (default: <bundle>-<weights>)")
    parser.add_argument("--index", action="store_true", help="list the variant in models/index.json")
    args = parser.parse_args()
    out = args.out or f"{args.bundle.rstrip('/')}-{args.weights}"
    write_variant(args.bundle, args.weights, out)
    if args.index:
        add_to_index(out)


if __name__ == "__main__":
    main()
