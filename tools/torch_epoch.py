#!/usr/bin/env python3
"""One training epoch in PyTorch, matching `benches/nn_training.rs`, in samples per second.

The same work as one iteration of the Rust bench: standardise the inputs, convert them to a
float32 tensor, initialise 36 -> 256 -> 128 -> 1 (ReLU, dropout 0.1), build AdamW
(lr 1e-3, weight decay 0.01), and run one shuffled epoch with batch size 256 and MSE loss,
on 2 torch threads. Rows are synthetic, of the chart tracks' shape (13,749 x 36): throughput does
not depend on the values.

Run with the libtorch the Rust crates use (torch 2.13.0):

    PYTHONPATH=$(readlink -f .libtorch)/.. python3 tools/torch_epoch.py [--repeats 15]
"""

import argparse
import statistics
import time

import torch
from torch import nn

ROWS, COLUMNS = 13_749, 36


def one_epoch(x_raw, y_raw, generator):
    # float64 statistics, float32 network: as the Rust crate does.
    mean = x_raw.mean(dim=0)
    std = x_raw.std(dim=0, unbiased=False)
    std[std <= 1e-12] = 1.0
    x = ((x_raw - mean) / std).float()
    y = y_raw.float().reshape(-1, 1)
    model = nn.Sequential(
        nn.Linear(COLUMNS, 256), nn.ReLU(), nn.Dropout(0.1),
        nn.Linear(256, 128), nn.ReLU(), nn.Dropout(0.1),
        nn.Linear(128, 1),
    )
    model.train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    loss_fn = nn.MSELoss()
    order = torch.randperm(x.shape[0], generator=generator)
    x_epoch, y_epoch = x[order], y[order]
    total = 0.0
    for start in range(0, x.shape[0], 256):
        xb, yb = x_epoch[start:start + 256], y_epoch[start:start + 256]
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
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x_raw = torch.rand(ROWS, COLUMNS, dtype=torch.float64) * 2.0 - 1.0
    y_raw = torch.rand(ROWS, dtype=torch.float64)
    generator = torch.Generator().manual_seed(0)

    for _ in range(2):
        one_epoch(x_raw, y_raw, generator)
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        one_epoch(x_raw, y_raw, generator)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {ROWS} rows x {COLUMNS}")
    print(f"epoch median {median * 1e3:.1f} ms over {args.repeats} "
          f"(min {min(seconds) * 1e3:.1f}, max {max(seconds) * 1e3:.1f})")
    print(f"{ROWS / median:,.0f} samples/s")


if __name__ == "__main__":
    main()
