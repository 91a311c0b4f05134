"""Build a PNASNet-5 large bundle (331x331) with timm's implementation of the architecture.

  python tools/export_pnasnet5large.py --random-weights [--seed 0]      # offline, for tests/benchmarks
  python tools/export_pnasnet5large.py --pretrained                     # timm 'pnasnet5large.tf_in1k' (needs its hub)
  python tools/export_pnasnet5large.py --checkpoint pnasnet5large.pth   # a local copy of those weights

--random-weights: 1001 outputs with class 0 = background, exactly like the TF-Slim checkpoint and
the TF-Hub module, seeded weights, BatchNorm statistics calibrated on the test photos so every
layer's activations stay in a sane range, and the classifier scaled for O(1) logits. Preprocessing
is TF-Slim's: central crop 0.875, bilinear resize to 331, values in [-1, 1].
--pretrained / --checkpoint: timm's port has 1000 outputs (background dropped) and timm's eval
preprocessing (crop 0.911, bicubic, mean = std = 0.5).

Export traps handled before tracing, so the ONNX has only static shapes:
  - timm's TF-style 'SAME' padding computes pads from the input shape at run time; every such conv
    and max-pool is frozen into an explicit pad (zeros, or -inf for max-pool) for the 331 input;
  - FactorizedReduction's ZeroPad2d((-1, 1, -1, 1)) (negative ONNX pads, refused by tract) becomes
    a slice of the first row and column followed by a zero pad at the end.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import onnx
import timm
import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers.conv2d_same import Conv2dSame
from timm.layers.pool2d_same import MaxPool2dSame

from bundle import write_bundle
from models_index import add_to_index
from reference import compute, crop_resize, load_photo, to_tensor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE = 331
LABELS = os.path.join(ROOT, "models", "efficientnet-lite0", "labels.json")  # ImageNet-1k, standard order
TF_SLIM_INPUT = {"layout": "NCHW", "channel_order": "RGB", "normalize": {"range": [-1.0, 1.0]},
                 "resize": {"filter": "bilinear", "crop_fraction": 0.875, "antialias": False}}
TIMM_INPUT = {"layout": "NCHW", "channel_order": "RGB", "normalize": {"range": [-1.0, 1.0]},
              "resize": {"filter": "bicubic", "crop_fraction": 0.911, "antialias": True}}


class ShiftPad(nn.Module):
    """ZeroPad2d((-1, 1, -1, 1)) without negative pads: drop the first row/column, pad the end."""

    def forward(self, x):
        return F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))


def same_pads(size, kernel, stride, dilation):
    total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def freeze_same_padding(model, size):
    """Replace run-time 'SAME' padding modules by explicit static pads for a size x size input."""
    seen = {}
    hooks = [m.register_forward_pre_hook(lambda m, args, name=name: seen.__setitem__(name, args[0].shape[-2:]))
             for name, m in model.named_modules() if isinstance(m, (Conv2dSame, MaxPool2dSame))]
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    for name, (h, w) in seen.items():
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        m = getattr(parent, child)
        pair = lambda v: v if isinstance(v, (tuple, list)) else (v, v)
        (kh, kw), (sh, sw), (dh, dw) = pair(m.kernel_size), pair(m.stride), pair(m.dilation)
        top, bottom = same_pads(h, kh, sh, dh)
        left, right = same_pads(w, kw, sw, dw)
        if isinstance(m, Conv2dSame):
            conv = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, 0, m.dilation,
                             m.groups, m.bias is not None)
            conv.load_state_dict(m.state_dict())
            replacement = nn.Sequential(nn.ZeroPad2d((left, right, top, bottom)), conv)
        else:
            replacement = nn.Sequential(nn.ConstantPad2d((left, right, top, bottom), -math.inf),
                                        nn.MaxPool2d(m.kernel_size, m.stride, 0, m.dilation, ceil_mode=m.ceil_mode))
        setattr(parent, child, replacement)
    for m in model.modules():
        if type(m).__name__ == "FactorizedReduction":
            m.path_2.pad = ShiftPad()
    return len(seen)


def photo_batch(photos, spec):
    return torch.from_numpy(np.concatenate([to_tensor(crop_resize(load_photo(p), spec), spec) for p in photos]))


def randomize(model, seed, calibration):
    """Seeded weights; BatchNorm statistics from the calibration photos; O(1) logits."""
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.normal_(m.bias, 0.0, 0.1)
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration pass
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)
    model.train()
    with torch.no_grad():
        model(calibration)
    model.eval()
    with torch.no_grad():
        logits = model(calibration)
        # Spread the logits to a standard deviation of about 3, as a trained classifier's are.
        scale = 3.0 / float(logits.std())
        model.last_linear.weight.mul_(scale)
        model.last_linear.bias.normal_(0.0, 0.5)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--random-weights", action="store_true")
    source.add_argument("--pretrained", action="store_true")
    source.add_argument("--checkpoint")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out")
    parser.add_argument("--calibration-photos", nargs="*",
                        default=[os.path.join(ROOT, "tests", "photos", p) for p in
                                 ("dog.jpg", "eagle.jpg", "giraffe.jpg", "horses.jpg", "person.jpg", "scream.jpg")])
    parser.add_argument("--fidelity-photos", nargs="*",
                        default=sorted(os.path.join(ROOT, "tests", "photos", p)
                                       for p in os.listdir(os.path.join(ROOT, "tests", "photos")) if p != "LICENSE.md"))
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    labels = json.load(open(LABELS, encoding="utf-8"))

    if args.random_weights:
        model = timm.create_model("pnasnet5large", pretrained=False, num_classes=1001)
        spec = {"width": SIZE, "height": SIZE, **TF_SLIM_INPUT}
        randomize(model, args.seed, photo_batch(args.calibration_photos, spec))
        out = args.out or os.path.join(ROOT, "models", "pnasnet5large-random")
        meta = dict(bundle_id="pnasnet5large-random", name="PNASNet-5 large (random weights, for tests)",
                    description=f"PNASNet-5 large architecture (timm) with seeded random weights (seed {args.seed}); "
                                "1001 outputs with background; answers are meaningless",
                    label_offset=1, source=f"tools/export_pnasnet5large.py --random-weights --seed {args.seed}",
                    license="MIT", input=TF_SLIM_INPUT)
    else:
        model = timm.create_model("pnasnet5large", pretrained=args.pretrained, num_classes=1000)
        if args.checkpoint:
            state = (__import__("safetensors.torch").torch.load_file(args.checkpoint)
                     if args.checkpoint.endswith(".safetensors") else torch.load(args.checkpoint, map_location="cpu"))
            model.load_state_dict(state)
        model.eval()
        out = args.out or os.path.join(ROOT, "models", "pnasnet5large")
        meta = dict(bundle_id="pnasnet5large", name="PNASNet-5 large",
                    description="PNASNet-5 large ImageNet classifier (86M parameters, 331x331), timm port of TF-Slim",
                    label_offset=0, source="timm pnasnet5large.tf_in1k (TF-Slim pnasnet-5_large_2017_12_13)",
                    license="Apache-2.0", input=TIMM_INPUT)

    reference_model = timm.create_model("pnasnet5large", num_classes=model.num_classes)
    reference_model.load_state_dict(model.state_dict())
    reference_model.eval()
    frozen = freeze_same_padding(model, SIZE)
    print(f"froze {frozen} dynamic 'SAME' paddings", file=sys.stderr)
    # The rewritten model must compute exactly what timm's does.
    probe = photo_batch(args.calibration_photos[:2], {"width": SIZE, "height": SIZE, **meta["input"]})
    diff = float((model(probe) - reference_model(probe)).abs().max())
    if diff > 1e-4:
        raise SystemExit(f"static-padding rewrite changed the outputs by {diff}")

    os.makedirs(out, exist_ok=True)
    tmp = os.path.join(out, "export.onnx")
    torch.onnx.export(model, torch.zeros(1, 3, SIZE, SIZE), tmp, input_names=["input"], output_names=["logits"],
                      opset_version=17, do_constant_folding=True, dynamo=False)
    onnx_model = onnx.load(tmp)
    os.remove(tmp)
    manifest = write_bundle(out, onnx_model, bundle_id=meta["bundle_id"], name=meta["name"],
                            description=meta["description"], labels=labels, activation="logits",
                            label_offset=meta["label_offset"], source=meta["source"], license=meta["license"],
                            **{k: meta["input"][k] for k in ("layout", "channel_order", "normalize", "resize")})
    if not args.random_weights:  # test bundles stay off the page's list (open them with ?model=)
        add_to_index(out)
    print(f"wrote {out}: {manifest['network']['bytes']} bytes, sha256 {manifest['network']['sha256']}")
    check_fidelity(out, reference_model, args.fidelity_photos)


def check_fidelity(bundle_dir, torch_model, photos):
    """onnxruntime on the exported file against timm's PyTorch module, same weights, same crops."""
    reference, crops = compute(bundle_dir, photos)
    spec = json.load(open(os.path.join(bundle_dir, "model.json")))["input"]
    report = {}
    for name, crop in crops.items():
        expected = torch_model(torch.from_numpy(to_tensor(crop, spec))).numpy().reshape(-1)
        got = np.array(reference["photos"][name]["outputs"], dtype=np.float32)
        report[name] = {"max_abs_diff": float(np.abs(got - expected).max()),
                        "max_abs_logit": float(np.abs(expected).max())}
    worst = max(r["max_abs_diff"] for r in report.values())
    scale = min(r["max_abs_logit"] for r in report.values())
    with open(os.path.join(bundle_dir, "fidelity.json"), "w") as f:
        json.dump({"onnxruntime_vs_timm": report, "max_abs_diff": worst}, f, indent=1)
    print(f"fidelity: max |onnxruntime - timm| = {worst:.2e} over {len(report)} photos "
          f"(logits up to {scale:.1f} in magnitude)")
    if worst > 1e-3 or scale < 1.0:
        raise SystemExit("the exported ONNX does not compute what the PyTorch module computes")


if __name__ == "__main__":
    main()
