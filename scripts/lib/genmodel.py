"""Writes a deterministic stand-in for a large model: safetensors shards of bf16 weights
(normal, std 0.02, as trained weights roughly are), a config.json, a tokenizer.json and a
README.md. The same arguments give the same bytes on every machine.

Why not zeros or random bytes: zeros compress to nothing and random bytes not at all, and
either would flatter or punish compressed layers. Real bf16 weights have a low-entropy high
byte (sign and exponent, the magnitudes cluster) and an almost random low byte (mantissa),
so gzip/zstd shrink them a little, as here (about 15-20%).

    python3 genmodel.py DIR SIZE_MIB FILES [SEED]
"""

from __future__ import annotations

import json
import os
import random
import struct
import sys
from pathlib import Path

CHUNK = 32 << 20  # bytes of weights generated at a time


def high_byte_table(rng: random.Random) -> bytes:
    """256 bytes whose values follow the high byte of bf16(N(0, 0.02)): a uniform random
    byte translated through it gives that byte's distribution."""
    counts: dict[int, int] = {}
    n = 200_000
    for _ in range(n):
        b = struct.pack(">f", rng.gauss(0.0, 0.02))[0]
        counts[b] = counts.get(b, 0) + 1
    table = bytearray()
    for b, c in sorted(counts.items(), key=lambda kv: -kv[1]):
        table += bytes([b]) * max(1, round(c * 256 / n))
    # Rounding leaves a few more or fewer than 256 entries: trim the rarest, pad with the most common.
    return bytes((table + bytes([table[0]]) * 256)[:256])


def weights(rng: random.Random, table: bytes, n: int) -> bytes:
    """n bytes (n even) of little-endian bf16 values."""
    out = bytearray(n)
    out[0::2] = rng.randbytes(n // 2)  # low byte: the mantissa's bits, near uniform
    out[1::2] = rng.randbytes(n // 2).translate(table)  # high byte: sign and exponent
    return bytes(out)


def shard(path: Path, size: int, index: int, rng: random.Random, table: bytes):
    """A safetensors file of about `size` bytes: a JSON header naming 2-D BF16 tensors of
    4096 columns, then their data."""
    cols = 4096
    row_bytes = cols * 2
    rows_total = max(1, (size - 4096) // row_bytes)
    tensors, off, t = {}, 0, 0
    while rows_total > 0:
        rows = min(rows_total, 4096)
        tensors[f"model.layers.{index}.block_{t}.weight"] = {
            "dtype": "BF16", "shape": [rows, cols], "data_offsets": [off, off + rows * row_bytes]}
        off += rows * row_bytes
        rows_total -= rows
        t += 1
    header = json.dumps({"__metadata__": {"format": "pt"}, **tensors}, separators=(",", ":")).encode()
    header += b" " * (-(8 + len(header)) % 8)  # the data starts 8-aligned
    tmp = path.with_suffix(".part")
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(header)))
        f.write(header)
        left = off
        while left:
            n = min(CHUNK, left)
            f.write(weights(rng, table, n))
            left -= n
    os.replace(tmp, path)


def generate(out: Path, size_mib: int, files: int, seed: int = 11):
    rng = random.Random(seed)
    table = high_byte_table(rng)
    out.mkdir(parents=True, exist_ok=True)
    per = (size_mib << 20) // files
    for i in range(1, files + 1):
        name = f"model-{i:05d}-of-{files:05d}.safetensors"
        shard(out / name, per, i, random.Random(f"{seed}/{i}"), table)
    (out / "config.json").write_text(json.dumps(
        {"architectures": ["BenchForCausalLM"], "model_type": "bench", "torch_dtype": "bfloat16",
         "hidden_size": 4096, "num_hidden_layers": files}, indent=2) + "\n")
    vocab = {f"tok{i}": i for i in range(50_000)}
    (out / "tokenizer.json").write_text(json.dumps({"model": {"type": "BPE", "vocab": vocab}}))
    (out / "README.md").write_text(
        f"# Bench model\n\n{size_mib} MiB of generated bf16 weights in {files} shards (seed {seed}).\n")


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    generate(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
             int(sys.argv[4]) if len(sys.argv) == 5 else 11)
