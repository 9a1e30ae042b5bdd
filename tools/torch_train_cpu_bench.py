"""PyTorch training cost in CPU time (images per CPU-second), for comparing with `rankedge train-bench`
on a machine other jobs share: wall-clock images/s depends on the load, CPU time much less.
Usage: python tools/torch_train_cpu_bench.py THREADS SECONDS. Same models as ../shared/tools/torch_train_bench.py."""
import sys, time, torch, torch.nn as nn, torch.nn.functional as F
torch.manual_seed(0)
threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10
torch.set_num_threads(threads)
def block(c1, c2, k):
    L = []
    for a, b in ((c1, c2), (c2, c2)):
        L += [nn.Conv2d(a, b, k, padding=k // 2), nn.BatchNorm2d(b), nn.ReLU()]
    return L + [nn.MaxPool2d(2), nn.Dropout(0.4)]
def minivgg(k=5):
    return nn.Sequential(*block(3, 32, k), *block(32, 64, k), *block(64, 128, k), nn.Flatten(),
                         nn.Linear(2048, 128), nn.ReLU(), nn.Linear(128, 10))
class Basic(nn.Module):
    def __init__(s, a, b, st):
        super().__init__(); s.c1 = nn.Conv2d(a, b, 3, st, 1, bias=False); s.b1 = nn.BatchNorm2d(b)
        s.c2 = nn.Conv2d(b, b, 3, 1, 1, bias=False); s.b2 = nn.BatchNorm2d(b)
        s.sc = nn.Sequential() if st == 1 and a == b else nn.Sequential(nn.Conv2d(a, b, 1, st, bias=False), nn.BatchNorm2d(b))
    def forward(s, x): return F.relu(s.b2(s.c2(F.relu(s.b1(s.c1(x))))) + s.sc(x))
def resnet20():
    L, c = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for st, w in enumerate((16, 32, 64)):
        for i in range(3):
            L.append(Basic(c, w, 2 if i == 0 and st > 0 else 1)); c = w
    return nn.Sequential(*L, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
for name, m in (("minivgg_k5_bn_dropout", minivgg(5)), ("resnet20", resnet20())):
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    x = torch.randn(64, 3, 32, 32); y = torch.randint(0, 10, (64,))
    m.train()
    for _ in range(3):
        opt.zero_grad(); F.cross_entropy(m(x), y).backward(); opt.step()
    n, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        opt.zero_grad(); F.cross_entropy(m(x), y).backward(); opt.step(); n += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"{name}\tthreads={threads}\t{n*64/wall:.0f} img/s wall\t{n*64/cpu:.1f} img per CPU-second")
