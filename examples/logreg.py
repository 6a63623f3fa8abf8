#!/usr/bin/env python3
"""Logistic regression on a generated data set, in plain Python.

The demo's training program: it takes W&B-style arguments
(--lr=0.1 --epochs=20 --l2=0.001 --batch_size=32), trains by mini-batch
gradient descent, and prints its metrics once per epoch as name=value
pairs (epoch=3 loss=0.41 val_loss=0.44 val_acc=0.86), which the sweep
worker reads from stdout. --epoch_seconds pads each epoch to that long,
so that the demo's early termination has epochs to cut short (the real
training takes milliseconds).
"""
import argparse
import math
import random
import sys
import time


def make_data(n, dim, seed):
    rng = random.Random(seed)
    w_true = [rng.gauss(0, 1) for _ in range(dim)]
    xs, ys = [], []
    for _ in range(n):
        x = [rng.gauss(0, 1) for _ in range(dim)]
        z = sum(a * b for a, b in zip(w_true, x)) + rng.gauss(0, 0.5)
        xs.append(x)
        ys.append(1.0 if z > 0 else 0.0)
    return xs, ys


def sigmoid(z):
    if z < -30:
        return 1e-13
    if z > 30:
        return 1 - 1e-13
    return 1.0 / (1.0 + math.exp(-z))


def evaluate(w, b, xs, ys):
    loss, correct = 0.0, 0
    for x, y in zip(xs, ys):
        p = sigmoid(sum(a * c for a, c in zip(w, x)) + b)
        loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
        correct += (p > 0.5) == (y > 0.5)
    return loss / len(xs), correct / len(xs)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--l2", type=float, default=0.0)
    ap.add_argument("--batch_size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epoch_seconds", type=float, default=0.0)
    args = ap.parse_args()

    xs, ys = make_data(600, 8, seed=1234)
    train_x, train_y = xs[:400], ys[:400]
    val_x, val_y = xs[400:], ys[400:]
    rng = random.Random(args.seed)
    w, b = [0.0] * len(xs[0]), 0.0
    order = list(range(len(train_x)))
    for epoch in range(1, args.epochs + 1):
        t0 = time.monotonic()
        rng.shuffle(order)
        for start in range(0, len(order), args.batch_size):
            batch = order[start:start + args.batch_size]
            gw, gb = [0.0] * len(w), 0.0
            for i in batch:
                x, y = train_x[i], train_y[i]
                err = sigmoid(sum(a * c for a, c in zip(w, x)) + b) - y
                gw = [g + err * c for g, c in zip(gw, x)]
                gb += err
            scale = args.lr / len(batch)
            w = [a - scale * g - args.lr * args.l2 * a for a, g in zip(w, gw)]
            b -= scale * gb
        loss, _ = evaluate(w, b, train_x, train_y)
        val_loss, val_acc = evaluate(w, b, val_x, val_y)
        time.sleep(max(0.0, args.epoch_seconds - (time.monotonic() - t0)))
        print(f"epoch={epoch} loss={loss:.4f} val_loss={val_loss:.4f} "
              f"val_acc={val_acc:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
