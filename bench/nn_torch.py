"""PyTorch CPU peer of bench/nn.bench.ts: LSTM(64) on windows of 64 steps x 16 features predicting
3 horizons, batch 256, Adam. Prints {"samples_per_s", "threads", "torch"} as JSON.
Setup (Debian): apt-get update && apt-get install -y python3-torch"""
import json, sys, time
import torch

L, P, H, K, B = 64, 16, 64, 3, 256
warm, steps = int(sys.argv[1]), int(sys.argv[2])
torch.manual_seed(0)
x = torch.randn(B, L, P)
y = torch.randn(B, K)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(P, H, batch_first=True)
        self.head = torch.nn.Linear(H, K)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.head(h[-1])


net = Net()
opt = torch.optim.Adam(net.parameters(), lr=1e-3)


def step():
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(net(x), y)
    loss.backward()
    opt.step()


for _ in range(warm):
    step()
t0 = time.perf_counter()
for _ in range(steps):
    step()
dt = time.perf_counter() - t0
print(json.dumps({"samples_per_s": B * steps / dt, "threads": torch.get_num_threads(), "torch": torch.__version__}))
