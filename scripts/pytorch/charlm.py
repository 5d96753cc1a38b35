"""nnlab's character language models in PyTorch, for side-by-side checks of
`charlm` (same models, initialisation, budget, schedule and scoring; the
text is the Shakespeare split nnlab writes to its cache on first use, so run
`charlm` once before this script).

    ~/.cache/nnlab/torch-2.11.0/bin/python scripts/pytorch/charlm.py --model lstm --seed 1 --threads 2

Prints test and validation bits per character over every character of each
text (non-overlapping windows of the context, each from a fresh state) and
the training characters per second (optimisation steps only).
"""
import argparse, math, os, time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

UNKNOWN = "\ufffd"


class RecurrentLm(nn.Module):
    def __init__(self, cell, vocab, embedding, hidden, layers, dropout):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embedding)
        rnn = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = rnn(embedding, hidden, layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Linear(hidden, vocab)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        h, _ = self.rnn(self.drop(self.embedding(x)))
        return self.head(self.drop(h))


class Block(nn.Module):
    def __init__(self, d, heads, dropout):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.fc_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.heads, self.drop = heads, nn.Dropout(dropout)

    def forward(self, x, future):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        w = (q @ k.transpose(-2, -1) * (1.0 / math.sqrt(d // self.heads))).masked_fill(future[:t, :t], float("-inf")).softmax(-1)
        y = (self.drop(w) @ v).transpose(1, 2).contiguous().view(b, t, d)
        x = x + self.drop(self.proj(y))
        return x + self.drop(self.fc_proj(F.gelu(self.fc(self.ln2(x)))))


class Transformer(nn.Module):
    def __init__(self, vocab, context, d, heads, layers, dropout):
        super().__init__()
        self.tokens, self.positions = nn.Embedding(vocab, d), nn.Embedding(context, d)
        self.blocks = nn.ModuleList(Block(d, heads, dropout) for _ in range(layers))
        self.ln_f, self.head = nn.LayerNorm(d), nn.Linear(d, vocab)
        self.drop = nn.Dropout(dropout)
        self.register_buffer("future", torch.ones(context, context, dtype=torch.bool).triu(1), persistent=False)
        for name, p in self.named_parameters():  # nanoGPT's initialisation
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * layers) if name.endswith("proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, x):
        t = x.shape[1]
        h = self.drop(self.tokens(x) + self.positions(torch.arange(t)))
        for blk in self.blocks:
            h = blk(h, self.future)
        return self.head(self.ln_f(h))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=["rnn", "lstm", "gru", "transformer"], default="lstm")
    p.add_argument("--data-dir", default=str(Path(os.environ.get("NNLAB_CACHE", Path.home() / ".cache/nnlab")) / "datasets/shakespeare"))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iterations", type=int, default=2000)
    p.add_argument("--context", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=12)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    d = Path(a.data_dir)
    texts = {s: (d / f"{s}.txt").read_text(encoding="utf-8") for s in ("train", "validation", "test")}
    chars = sorted(set(texts["train"]) - {UNKNOWN}) + [UNKNOWN]
    index = {c: i for i, c in enumerate(chars)}
    enc = {s: torch.tensor([index.get(c, len(chars) - 1) for c in t], dtype=torch.long) for s, t in texts.items()}
    V, T, B = len(chars), a.context, a.batch_size
    if a.model == "transformer":
        model = Transformer(V, T, 128, 4, 4, 0.0)
    else:
        model = RecurrentLm(a.model, V, 128, 256, 1 if a.model == "rnn" else 2, 0.0)
    params = sum(p.numel() for p in model.parameters())
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.99), eps=1e-8)
    lr, min_lr, warmup, iters = 1e-3, 1e-4, 100, a.iterations

    def lr_at(step):
        if step < warmup:
            return lr * (step + 1) / (warmup + 1)
        frac = min((step - warmup) / max(iters - warmup - 1, 1), 1.0)
        return min_lr + 0.5 * (1 + math.cos(math.pi * frac)) * (lr - min_lr)

    train = enc["train"]
    offsets = torch.arange(T + 1)
    train_secs = 0.0
    model.train()
    for step in range(iters):
        start = time.time()
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        idx = torch.randint(len(train) - T, (B,)).unsqueeze(1) + offsets
        w = train[idx]
        loss = F.cross_entropy(model(w[:, :-1]).reshape(-1, V), w[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        train_secs += time.time() - start
        if (step + 1) % 100 == 0:
            print(f"step {step + 1}: loss {loss.item():.4f}, {(step + 1) * B * T / train_secs:.0f} chars/s", flush=True)

    model.eval()

    @torch.no_grad()
    def text_bits(tokens):
        n = len(tokens) - 1
        total = 0.0
        full = n // T
        for i in range(0, full, 256):
            k = min(256, full - i)
            w = tokens[i * T:(i + k) * T + 1]
            x = w[:-1].view(k, T)
            y = tokens[i * T + 1:(i + k) * T + 1].view(k, T)
            total += F.cross_entropy(model(x).reshape(-1, V), y.reshape(-1), reduction="sum").double().item()
        rest = n % T
        if rest:
            s = n - rest
            total += F.cross_entropy(model(tokens[s:s + rest].view(1, -1)).reshape(-1, V), tokens[s + 1:s + rest + 1], reduction="sum").double().item()
        return total / n / math.log(2)

    print(f"model {a.model}, seed {a.seed}, {params} parameters, {V} symbols")
    print(f"test bits/char {text_bits(enc['test']):.4f}, validation bits/char {text_bits(enc['validation']):.4f}, "
          f"train chars/s {iters * B * T / train_secs:.0f} ({a.threads} threads)")


if __name__ == "__main__":
    main()
