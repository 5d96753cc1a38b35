"""The seed's CNN on Fashion-MNIST in PyTorch, for side-by-side checks of
nnlab's `cnn_fashion_mnist` (same network, recipe and data; the images are
read from the IDX files nnlab fetches, without torchvision).

    ~/.cache/nnlab/torch-2.11.0/bin/python scripts/pytorch/cnn_seed.py --epochs 10 --seed 1 --threads 2
"""
import argparse, gzip, time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F


def idx(path):
    raw = gzip.open(path).read() if str(path).endswith(".gz") else open(path, "rb").read()
    ndims = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndims)]
    return torch.frombuffer(bytearray(raw[4 + 4 * ndims:]), dtype=torch.uint8).reshape(dims)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 7 * 7, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", default=str(Path.home() / ".cache/nnlab/datasets/fashion-mnist"))
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-normalize", action="store_true", help="ToTensor only: pixels in [0, 1]")
    a = p.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    d = Path(a.data_dir)
    def load(prefix):
        x = idx(d / f"{prefix}-images-idx3-ubyte.gz").float().div(255).unsqueeze(1)
        if not a.no_normalize:
            x = (x - 0.5) / 0.5
        return x, idx(d / f"{prefix}-labels-idx1-ubyte.gz").long()
    (xt, yt), (xs, ys) = load("train"), load("t10k")
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    for epoch in range(1, a.epochs + 1):
        start = time.time()
        model.train()
        order = torch.randperm(len(xt))
        total = 0.0
        for i in range(0, len(xt), 64):
            idx_ = order[i:i + 64]
            opt.zero_grad()
            loss = F.cross_entropy(model(xt[idx_]), yt[idx_])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx_)
        secs = time.time() - start
        model.eval()
        with torch.no_grad():
            acc = sum((model(xs[i:i + 1000]).argmax(1) == ys[i:i + 1000]).sum().item() for i in range(0, len(xs), 1000)) / len(xs)
        print(f"epoch {epoch}: train loss {total / len(xt):.4f}, test accuracy {acc:.4f} ({secs:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
