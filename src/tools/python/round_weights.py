#!/usr/bin/env python3
"""Writes a copy of a checkpoint whose matrices are rounded per block of 32 with one scale, at a chosen number of bits.

What any blockwise format of that width does to a model's answers, independent of our engine: run the reference
(../shared/reference/qwen_reference.py) on the copy and compare with the reference on the stored weights. 8 bits is
llama.cpp's Q8_0 rounding (scale = max|w| / 127, each weight the nearest multiple), computed here in float64. As our Q8 copy does, the
embedding table stays as stored and the LM head is rounded (a tied one written as lm_head.weight). Used for issue 25's
peaked checkpoint (PeakedQuantizationTest's javadoc, docs/performance.md).

usage: round_weights.py CHECKPOINT_DIR BITS  ->  writes CHECKPOINT_DIR-bitsBITS (F32 safetensors, config.json copied)
"""
import json
import os
import shutil
import struct
import sys

import numpy as np


def main():
    src, bits = sys.argv[1], int(sys.argv[2])
    levels = 2 ** (bits - 1) - 1
    raw = open(os.path.join(src, "model.safetensors"), "rb").read()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + size])
    out = src.rstrip("/") + "-bits%d" % bits
    os.makedirs(out, exist_ok=True)
    shutil.copy(os.path.join(src, "config.json"), out)
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        data = raw[8 + size + start:8 + size + end]
        if info["dtype"] == "BF16":
            values = (np.frombuffer(data, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif info["dtype"] == "F32":
            values = np.frombuffer(data, dtype=np.float32)
        else:
            raise SystemExit("unsupported dtype %s of %s" % (info["dtype"], name))
        w = values.astype(np.float64).reshape(info["shape"])
        if w.ndim == 2:
            if w.shape[1] % 32:
                raise SystemExit("%s: rows of %d values are not whole blocks of 32" % (name, w.shape[1]))
            blocks = w.reshape(-1, 32)
            scale = np.abs(blocks).max(axis=1, keepdims=True) / levels
            scale[scale == 0] = 1
            rounded = (np.round(blocks / scale) * scale).reshape(w.shape)
            if name != "model.embed_tokens.weight":
                w = rounded
            elif "lm_head.weight" not in header:
                tensors["lm_head.weight"] = rounded.astype(np.float32)
        tensors[name] = w.astype(np.float32)
    table, offset = {}, 0
    for name, w in tensors.items():
        table[name] = {"dtype": "F32", "shape": list(w.shape), "data_offsets": [offset, offset + w.nbytes]}
        offset += w.nbytes
    encoded = json.dumps(table).encode()
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for w in tensors.values():
            f.write(w.tobytes())
    print(out)


if __name__ == "__main__":
    main()
