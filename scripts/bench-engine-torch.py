#!/usr/bin/env python3
"""PyTorch side of `npm run bench:engine` (benchmark only; nothing in the app runs Python).

Builds the reference model of issue 3 -- 2-layer post-LN transformer encoder, d=256, 4 heads, FFN 1024,
vocab 8000, seq 64, batch 32, masked-LM cross-entropy over all positions, AdamW -- then serves timing
requests on stdin so the TypeScript driver can alternate engine and torch rounds in one run:

  stdin:  {"op": "train" | "infer" | "infer_head", "iters": N}
  stdout: {"op": ..., "ms": [per-iteration wall ms], "cpu_ms": [per-iteration process CPU ms], "loss": last loss}
"""
import json
import os
import sys
import time

cfg = json.loads(sys.argv[1])
threads = int(cfg["threads"])
os.environ.setdefault("OMP_NUM_THREADS", str(threads))

try:
    import torch
    import torch.nn as nn
except ImportError as e:  # the driver prints how to install it
    print(json.dumps({"error": f"import torch failed: {e}"}), flush=True)
    sys.exit(3)

torch.set_num_threads(threads)
torch.set_num_interop_threads(1)
torch.manual_seed(0)

V, D, H, F, L, T, B = (cfg[k] for k in ("vocab", "d", "heads", "ffn", "layers", "seq", "batch"))


class Mlm(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(V, D)
        self.pos = nn.Parameter(torch.randn(T, D) * 0.02)
        layer = nn.TransformerEncoderLayer(D, H, F, dropout=0.0, activation="gelu", batch_first=True, norm_first=False)
        self.enc = nn.TransformerEncoder(layer, L, enable_nested_tensor=False)
        self.head = nn.Linear(D, V)

    def encode(self, ids):
        return self.enc(self.tok(ids) + self.pos)

    def forward(self, ids):
        return self.head(self.encode(ids))


model = Mlm()
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
ids = torch.randint(0, V, (B, T))
targets = torch.randint(0, V, (B, T))
lossf = nn.CrossEntropyLoss()


def train_step():
    opt.zero_grad(set_to_none=True)
    loss = lossf(model(ids).reshape(-1, V), targets.reshape(-1))
    loss.backward()
    opt.step()
    return loss.item()


def infer_step():
    """The encoder's forward to hidden states (what inference of an encoder returns)."""
    with torch.inference_mode():
        return float(model.encode(ids)[0, 0, 0])


def infer_head_step():
    """The same plus the MLM head: logits [B, T, V]."""
    with torch.inference_mode():
        return float(model(ids)[0, 0, 0])


def blas_core():
    """The kernel set OpenBLAS picked (or was told to use), where torch is linked against it."""
    import ctypes
    for name in ("libblas.so.3", "libopenblas.so.0"):
        try:
            lib = ctypes.CDLL(name)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib.openblas_get_corename().decode()
        except (OSError, AttributeError):
            continue
    return None


print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads(),
                  "params": sum(p.numel() for p in model.parameters()), "blas_core": blas_core()}), flush=True)
for line in sys.stdin:
    if not line.strip():
        continue
    req = json.loads(line)
    if req["op"] == "quit":
        break
    train = req["op"] == "train"
    if train:
        model.train()
    else:
        model.eval()
    f = train_step if train else infer_head_step if req["op"] == "infer_head" else infer_step
    ms = []
    cpu = []
    last = 0.0
    for _ in range(int(req["iters"])):
        t0 = time.perf_counter()
        c0 = time.process_time()
        last = f()
        cpu.append((time.process_time() - c0) * 1000)
        ms.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"op": req["op"], "ms": ms, "cpu_ms": cpu, "loss": last}), flush=True)
