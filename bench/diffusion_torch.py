"""PyTorch CPU peer of bench/diffusion.bench.ts: the `diffusion` kind's noise predictor
(src/models/diffusion/denoiser-conv.ts) at the same sizes, trained with the same ε-prediction loss
(cosine schedule, t uniform, batch of windows, Adam), and DDIM sampling (η = 0) of F forecasts x S
draws x STEPS steps in chunks of 4096 draws, each window encoded once.
Usage: diffusion_torch.py train WARM STEPS | sample F S STEPS. Prints JSON.
Setup (Debian): apt-get update && apt-get install -y python3-torch"""
import json, math, sys, time
import torch
import torch.nn.functional as Fn

L, P, K, C, LAYERS, KS, B, T = 32, 8, 4, 32, 2, 3, 256, 1000
torch.manual_seed(0)


def cosine_alpha_bar(T, s=0.008):
    f = lambda t: math.cos(((t / T + s) / (1 + s)) * math.pi / 2) ** 2
    ab = [1.0]
    for t in range(1, T + 1):
        ab.append(ab[-1] * (1 - min(0.999, 1 - f(t) / f(t - 1))))
    return torch.tensor(ab, dtype=torch.float32)


AB = cosine_alpha_bar(T)


def sinusoidal(t, d):
    half = d // 2
    w = torch.exp(-math.log(10000) * torch.arange(half) / max(1, half - 1))
    a = t.float()[:, None] * w[None]
    return torch.cat([torch.sin(a), torch.cos(a)], 1)


class Denoiser(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.t1, self.t2 = torch.nn.Linear(C, C), torch.nn.Linear(C, C)
        self.c1, self.c2 = torch.nn.Linear(L * P, C), torch.nn.Linear(C, C)
        self.inp = torch.nn.Linear(1, C)
        self.pos = torch.nn.Parameter(0.1 * torch.randn(K, C))
        self.film = torch.nn.ModuleList([torch.nn.Linear(C, 2 * C) for _ in range(LAYERS)])
        self.conv = torch.nn.ModuleList([torch.nn.Conv1d(C, C, KS, padding=(KS - 1) // 2) for _ in range(LAYERS)])
        self.out = torch.nn.Linear(C, 1)

    def encode(self, x):
        return self.c2(Fn.silu(self.c1(x.reshape(x.shape[0], L * P))))

    def temb(self, t):
        return self.t2(Fn.silu(self.t1(sinusoidal(t, C))))

    def eps(self, xt, temb, c):
        Bn, r = xt.shape[0], c.shape[0]
        e = Fn.silu(temb + c)  # [r, C]
        h = self.inp(xt.reshape(Bn * K, 1)).reshape(Bn, K, C) + self.pos
        for l in range(LAYERS):
            g, b = self.film[l](e).chunk(2, dim=1)
            hr = h.reshape(r, -1, C)
            g = Fn.silu(hr * (1 + g[:, None]) + b[:, None]).reshape(Bn, K, C)
            h = h + self.conv[l](g.transpose(1, 2)).transpose(1, 2)
        return self.out(Fn.silu(h)).reshape(Bn, K)


net = Denoiser()
x = torch.randn(B, L, P)
y = torch.randn(B, K)


def train(warm, steps):
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step():
        t = torch.randint(1, T + 1, (B,))
        e = torch.randn(B, K)
        a = AB[t][:, None]
        xt = a.sqrt() * y + (1 - a).sqrt() * e
        opt.zero_grad()
        loss = Fn.mse_loss(net.eps(xt, net.temb(t), net.encode(x)), e)
        loss.backward()
        opt.step()

    for _ in range(warm):
        step()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    # process_time: CPU seconds of all the process's threads (the rate on an idle machine; a loaded
    # one stretches the wall clock, not this).
    return {"steps_per_s": steps / (time.perf_counter() - t0), "cpu_steps_per_s": steps / (time.process_time() - c0)}


@torch.no_grad()
def sample(F, S, steps):
    xs = torch.randn(F, L, P)
    tau = [1 + (i * T) // steps for i in range(steps)]
    rows = max(1, 4096 // S)
    t0 = time.perf_counter()
    for s0 in range(0, F, rows):
        r = min(F, s0 + rows) - s0
        c = net.encode(xs[s0 : s0 + r])
        xt = torch.randn(r * S, K)
        for i in range(len(tau) - 1, -1, -1):
            a = AB[tau[i]].item()
            ap = AB[tau[i - 1]].item() if i > 0 else 1.0
            e = net.eps(xt, net.temb(torch.tensor([tau[i]])), c)
            x0 = (xt - math.sqrt(1 - a) * e) / math.sqrt(a)
            xt = x0 if ap == 1 else math.sqrt(ap) * x0 + math.sqrt(1 - ap) * e
    return {"seconds": time.perf_counter() - t0}


mode = sys.argv[1]
out = train(int(sys.argv[2]), int(sys.argv[3])) if mode == "train" else sample(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
out.update({"threads": torch.get_num_threads(), "torch": torch.__version__})
print(json.dumps(out))
