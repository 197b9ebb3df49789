#!/usr/bin/env python3
"""One training epoch in PyTorch, matching `benches/nn_training.rs`, in samples per second.

The same work as one iteration of the Rust bench: standardise the inputs, convert them to a
float32 tensor, initialise the network, build AdamW, and run one shuffled epoch, on 2 torch
threads. Rows are synthetic, of the chart tracks' shape (13,749 x 36): throughput does not depend
on the values.

- By default, the bench's reference network: 36 -> 256 -> 128 -> 1 (ReLU, dropout 0.1), AdamW
  (lr 1e-3, weight decay 0.01), batch 256, MSE loss.
- With `--metrics out/valence_nn/metrics.json`: the network Task 2 chose for audio+analysis,
  built as `neural-models` builds it from those parameters (hidden widths halve from `width`
  over `depth` layers, never below 8; linear -> [norm] -> activation -> dropout; a sigmoid head;
  L1, Huber (delta `huber_delta`, default 0.1) or MSE loss; AdamW).

Run with the libtorch the Rust crates use (torch 2.13.0):

    PYTHONPATH=$(readlink -f .libtorch)/.. python3 tools/torch_epoch.py [--repeats 15] [--metrics FILE]
"""

import argparse
import json
import statistics
import time

import torch
from torch import nn

ROWS, COLUMNS = 13_749, 36


REFERENCE = {"width": 256, "depth": 2, "activation": "relu", "dropout": 0.1,
             "normalisation": "none", "head": "none", "loss": "mse", "learning_rate": 1e-3,
             "weight_decay": 0.01, "batch_size": 256}


def chosen(path):
    """Task 2's audio+analysis network from its metrics.json, with neural-models' defaults."""
    metrics = json.load(open(path))
    params = next(n["params"] for n in metrics["networks"] if n["feature_set"] == "audio+analysis")
    return {
        "width": params.get("width", 256), "depth": params.get("depth", 2),
        "activation": params.get("activation", "relu"), "dropout": params.get("dropout", 0.1),
        "normalisation": params.get("normalisation", "none"), "head": "sigmoid",
        "loss": params.get("loss", "l1"), "huber_delta": params.get("huber_delta", 0.1),
        "learning_rate": params.get("learning_rate", 1e-3),
        "weight_decay": params.get("weight_decay", 1e-3),
        "batch_size": params.get("batch_size", 128),
    }


def network(spec):
    layers, inputs = [], COLUMNS
    activation = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}
    for layer in range(spec["depth"]):
        width = max(spec["width"] >> layer, 8)
        layers.append(nn.Linear(inputs, width))
        if spec["normalisation"] == "batch":
            layers.append(nn.BatchNorm1d(width))
        elif spec["normalisation"] == "layer":
            layers.append(nn.LayerNorm(width))
        layers.append(activation[spec["activation"]]())
        if spec["dropout"] > 0.0:
            layers.append(nn.Dropout(spec["dropout"]))
        inputs = width
    layers.append(nn.Linear(inputs, 1))
    if spec["head"] == "sigmoid":
        layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


def loss_function(spec):
    if spec["loss"] == "l1":
        return nn.L1Loss()
    if spec["loss"] == "huber":
        return nn.HuberLoss(delta=spec["huber_delta"])
    return nn.MSELoss()


def one_epoch(spec, x_raw, y_raw, generator):
    # float64 statistics, float32 network: as the Rust crate does.
    mean = x_raw.mean(dim=0)
    std = x_raw.std(dim=0, unbiased=False)
    std[std <= 1e-12] = 1.0
    x = ((x_raw - mean) / std).float()
    y = y_raw.float().reshape(-1, 1)
    model = network(spec)
    model.train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=spec["learning_rate"],
                                  weight_decay=spec["weight_decay"])
    loss_fn = loss_function(spec)
    batch = spec["batch_size"]
    order = torch.randperm(x.shape[0], generator=generator)
    x_epoch, y_epoch = x[order], y[order]
    total = 0.0
    for start in range(0, x.shape[0], batch):
        xb, yb = x_epoch[start:start + batch], y_epoch[start:start + batch]
        loss = loss_fn(model(xb), yb)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        total += loss.item() * xb.shape[0]
    return total / x.shape[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed epochs (after 2 warm-ups)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--metrics", help="Task 2's metrics.json: train its chosen network")
    args = parser.parse_args()
    spec = chosen(args.metrics) if args.metrics else REFERENCE

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x_raw = torch.rand(ROWS, COLUMNS, dtype=torch.float64) * 2.0 - 1.0
    y_raw = torch.rand(ROWS, dtype=torch.float64)
    generator = torch.Generator().manual_seed(0)

    for _ in range(2):
        one_epoch(spec, x_raw, y_raw, generator)
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        one_epoch(spec, x_raw, y_raw, generator)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {ROWS} rows x {COLUMNS}")
    shown = network(spec)
    print(f"network {shown}".replace("\n", " "))
    print(f"parameters {sum(p.numel() for p in shown.parameters())}")
    print(f"epoch median {median * 1e3:.1f} ms over {args.repeats} "
          f"(min {min(seconds) * 1e3:.1f}, max {max(seconds) * 1e3:.1f})")
    print(f"{ROWS / median:,.0f} samples/s")


if __name__ == "__main__":
    main()
