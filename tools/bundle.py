"""Write a model bundle: a folder holding model.json (the manifest), the network and labels.json.

The manifest format is documented in the README ("Model bundles") and validated by
src/manifest.rs; this module is the one place the Python tools write it.
"""
import hashlib
import json
import os

import onnx

FORMAT_VERSION = 1


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def onnx_input_output(model):
    """Name and static shape of the single graph input and output."""
    initializers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1 or len(model.graph.output) != 1:
        raise ValueError("a classifier network has exactly one input and one output")

    def shape(value_info):
        return [d.dim_value for d in value_info.type.tensor_type.shape.dim]

    return (inputs[0].name, shape(inputs[0])), (model.graph.output[0].name, shape(model.graph.output[0]))


def write_bundle(out_dir, model, *, bundle_id, name, layout, channel_order, normalize, resize,
                 label_offset, activation, labels, source, license, description):
    """Save `model` (an onnx.ModelProto) as out_dir/model.onnx with its manifest and labels."""
    os.makedirs(out_dir, exist_ok=True)
    network_path = os.path.join(out_dir, "model.onnx")
    onnx.save_model(model, network_path)
    (input_name, input_shape), (_, output_shape) = onnx_input_output(model)
    height, width = (input_shape[2], input_shape[3]) if layout == "NCHW" else (input_shape[1], input_shape[2])
    classes = output_shape[-1]
    if classes - label_offset != len(labels):
        raise ValueError(f"{classes} outputs with label offset {label_offset} but {len(labels)} labels")
    with open(os.path.join(out_dir, "labels.json"), "w") as f:
        json.dump(labels, f, indent=0, ensure_ascii=False)
        f.write("\n")
    manifest = {
        "format_version": FORMAT_VERSION,
        "id": bundle_id,
        "name": name,
        "description": description,
        "network": {
            "file": "model.onnx",
            "format": "onnx",
            "sha256": sha256_file(network_path),
            "bytes": os.path.getsize(network_path),
        },
        "input": {
            "name": input_name,
            "width": width,
            "height": height,
            "layout": layout,
            "channel_order": channel_order,
            "normalize": normalize,
            "resize": resize,
        },
        "output": {"classes": classes, "label_offset": label_offset, "activation": activation},
        "labels": "labels.json",
        "source": source,
        "license": license,
    }
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return manifest
