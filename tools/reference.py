"""Independent reference for the Rust core: preprocessing in numpy and inference in onnxruntime.

  python tools/reference.py MODEL_DIR PHOTO... --out tests/reference/<model-id>
  python tools/reference.py MODEL_DIR PHOTO... --check tests/reference/<model-id>

For each photo it writes <photo>.png (the cropped, resized RGB the network sees) and adds to
reference.json the network's raw outputs and top-5 from onnxruntime on exactly that image.
--check recomputes everything and fails if it differs from what is committed.

The resampling follows the definition the manifest documents (centred crop box in source
pixels, separable filter, taps outside the photo dropped and weights renormalised; with
antialias the kernel widens by the downscale factor), written here from scratch in float64.
Like any 8-bit separable resampler it runs two passes, each rounded to 8 bits: vertical first,
the order fast_image_resize uses for 8-bit images.
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import onnxruntime
from PIL import Image, ImageOps


def _cubic(x, a=-0.5):
    x = np.abs(x)
    return np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                    np.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0.0))


def _lanczos3(x):
    x = np.abs(x)
    return np.where(x < 3, np.sinc(x) * np.sinc(x / 3), 0.0)


FILTERS = {  # name -> (kernel, support radius)
    "bilinear": (lambda x: np.maximum(0.0, 1.0 - np.abs(x)), 1.0),
    "bicubic": (_cubic, 2.0),
    "lanczos3": (_lanczos3, 3.0),
}


def resample_matrix(in_size, start, length, out_size, filter_name, antialias):
    """out_size x in_size matrix mapping a source row/column to the output's."""
    scale = length / out_size
    m = np.zeros((out_size, in_size))
    for o in range(out_size):
        centre = start + (o + 0.5) * scale
        if filter_name == "nearest":
            m[o, min(int(np.floor(centre)), in_size - 1)] = 1.0
            continue
        kernel, support = FILTERS[filter_name]
        widen = max(scale, 1.0) if antialias else 1.0
        lo = max(int(np.floor(centre - support * widen)), 0)
        hi = min(int(np.ceil(centre + support * widen)), in_size)
        taps = np.arange(lo, hi)
        w = kernel((taps + 0.5 - centre) / widen)
        m[o, lo:hi] = w / w.sum()
    return m


def crop_resize(rgb, spec):
    """uint8 HxWx3 photo -> uint8 crop of the input size, as src/preprocess.rs defines it."""
    h, w = rgb.shape[:2]
    scale = min(w / spec["width"], h / spec["height"]) * spec["resize"]["crop_fraction"]
    cw, ch = spec["width"] * scale, spec["height"] * scale
    args = spec["resize"]["filter"], spec["resize"].get("antialias", False)
    my = resample_matrix(h, (h - ch) / 2, ch, spec["height"], *args)
    mx = resample_matrix(w, (w - cw) / 2, cw, spec["width"], *args)
    to_u8 = lambda a: np.clip(np.round(a), 0, 255)
    out = to_u8(np.einsum("oh,hwc->owc", my, rgb.astype(np.float64)))
    return to_u8(np.einsum("pw,owc->opc", mx, out)).astype(np.uint8)


def to_tensor(rgb, spec):
    x = rgb.astype(np.float32)
    norm = spec["normalize"]
    if "range" in norm:
        lo, hi = norm["range"]
        x = lo + x / np.float32(255) * np.float32(hi - lo)
    else:
        x = (x - np.array(norm["mean"], np.float32)) / np.array(norm["std"], np.float32)
    if spec["channel_order"] == "BGR":
        x = x[..., ::-1]
    x = x[None]
    if spec["layout"] == "NCHW":
        x = x.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(x, dtype=np.float32)


def load_photo(path):
    """Decode upright (EXIF applied); transparency composited over white like the Rust core."""
    img = ImageOps.exif_transpose(Image.open(path))
    rgba = np.asarray(img.convert("RGBA")).astype(np.float64)
    alpha = rgba[..., 3:] / 255.0
    return np.clip(np.round(rgba[..., :3] * alpha + 255.0 * (1 - alpha)), 0, 255).astype(np.uint8)


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def compute(model_dir, photos):
    manifest = json.load(open(os.path.join(model_dir, "model.json")))
    labels = json.load(open(os.path.join(model_dir, manifest["labels"])))
    spec, out = manifest["input"], manifest["output"]
    session = onnxruntime.InferenceSession(os.path.join(model_dir, manifest["network"]["file"]),
                                           providers=["CPUExecutionProvider"])
    results, crops = {}, {}
    for path in photos:
        name = os.path.basename(path)
        crop = crop_resize(load_photo(path), spec)
        raw = session.run(None, {session.get_inputs()[0].name: to_tensor(crop, spec)})[0].reshape(-1)
        probs = softmax(raw.astype(np.float64)) if out["activation"] == "logits" else raw
        probs = probs[out["label_offset"]:]
        top = np.argsort(-probs, kind="stable")[:5]
        results[name] = {
            "crop_sha256": hashlib.sha256(crop.tobytes()).hexdigest(),
            "top5": [{"index": int(i), "label": labels[i], "score": round(float(probs[i]), 6)} for i in top],
            "outputs": [float(np.format_float_positional(v, precision=6, unique=False, trim="-"))
                        for v in raw.astype(np.float32)],
        }
        crops[name] = crop
    return {"model": manifest["id"], "network_sha256": manifest["network"]["sha256"],
            "onnxruntime": onnxruntime.__version__, "photos": results}, crops


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir")
    parser.add_argument("photos", nargs="+")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--out", help="write the reference into this folder")
    group.add_argument("--check", help="recompute and compare with the reference in this folder")
    args = parser.parse_args()
    reference, crops = compute(args.model_dir, args.photos)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        for name, crop in crops.items():
            Image.fromarray(crop).save(os.path.join(args.out, os.path.splitext(name)[0] + ".png"))
        with open(os.path.join(args.out, "reference.json"), "w") as f:
            json.dump(reference, f, indent=1)
            f.write("\n")
        print(f"wrote {args.out} ({len(crops)} photos)")
        return
    committed = json.load(open(os.path.join(args.check, "reference.json")))
    problems = []
    if committed["network_sha256"] != reference["network_sha256"]:
        problems.append("the network changed since the reference was made (run make reference)")
    for name, now in reference["photos"].items():
        then = committed["photos"].get(name)
        if then is None:
            problems.append(f"{name}: not in the committed reference")
            continue
        if then["crop_sha256"] != now["crop_sha256"]:
            problems.append(f"{name}: preprocessing differs from the committed crop")
        diff = np.abs(np.array(then["outputs"]) - np.array(now["outputs"])).max()
        if diff > 1e-5:
            problems.append(f"{name}: onnxruntime outputs differ by {diff:g}")
    if problems:
        sys.exit("reference check failed:\n  " + "\n  ".join(problems))
    print(f"reference {args.check}: {len(reference['photos'])} photos reproduce")


if __name__ == "__main__":
    main()
