"""Write the awkward and broken image files the tests feed to the CLI and the page.

  python tools/bad_images.py OUT_DIR

Each file is made from a real test photo (or is deliberately not a photo) and listed in
OUT_DIR/cases.json as {"file", "what", "valid"}: valid files must classify, the others must be
refused with a readable message, and in both cases the next photo must still classify.
"""
import io
import json
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHOTO = os.path.join(ROOT, "tests", "photos", "dog.jpg")


def png_header_only(width, height):
    """A PNG whose header announces width x height, with a token of pixel data: a decoder that
    trusts the header would allocate width*height*4 bytes before finding out."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def encoded(img, fmt, **kw):
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


def main(out):
    os.makedirs(out, exist_ok=True)
    photo = Image.open(PHOTO).convert("RGB")
    small = photo.resize((192, 144))
    jpeg = open(PHOTO, "rb").read()
    png = encoded(small, "PNG")
    rgba = small.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(small.size))
    frames = [small, small.transpose(Image.FLIP_LEFT_RIGHT)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    # 16 bits per channel: Pillow writes 16-bit greyscale PNGs ("I;16"), the common 16-bit case.
    grey16 = Image.fromarray((np.asarray(small.convert("L"), dtype=np.uint16) * 257).astype(np.uint16), "I;16")
    corrupt = bytearray(png)
    mid = len(corrupt) // 2
    corrupt[mid:mid + 64] = bytes(64)
    cases = [
        ("empty.jpg", b"", "zero-byte file", False),
        ("notes.jpg", b"shopping list: milk, eggs\n", "a text file named .jpg", False),
        ("truncated.jpg", jpeg[: len(jpeg) // 3], "JPEG cut to a third", None),
        ("corrupt.png", bytes(corrupt), "PNG with 64 zeroed bytes in its data", False),
        ("tiny.png", encoded(small.resize((1, 1)), "PNG"), "1x1 PNG", True),
        ("huge.png", png_header_only(20000, 20000), "PNG announcing 20000x20000", False),
        ("animated.gif", gif.getvalue(), "animated GIF (2 frames)", True),
        ("cmyk.jpg", encoded(small.convert("CMYK"), "JPEG", quality=95), "CMYK JPEG", True),
        ("grey16.png", encoded(grey16, "PNG"), "16-bit greyscale PNG", True),
        ("alpha.png", encoded(rgba, "PNG"), "PNG with an alpha gradient", True),
        ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
                        b'<circle cx="32" cy="32" r="30" fill="red"/></svg>', "SVG", None),
        ("photo.heic", b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + bytes(64), "HEIC (header only)", False),
    ]
    index = []
    for name, data, what, valid in cases:
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        # valid: None = either outcome is right (a browser may render SVG or show a truncated
        # JPEG's top part; the CLI refuses SVG), but it must be an answer or a message.
        index.append({"file": name, "what": what, "valid": valid})
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(index, f, indent=1)
    print(f"wrote {len(index)} cases to {out}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
