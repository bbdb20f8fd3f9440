# cuBLAS f32 with TF32 off (PyTorch) on exactly the matmul ladder's shapes and transposes
# (bench/matmul/shapes.json, which bench/matmul/ladder.ts reads too), for the ladder's
# ours/cuBLAS ratios: `node matmul-ladder.mjs --cublas $OUT/torch-matmul.json`.
#
# Per shape (M, K, N): C[M, N] = op(A) op(B), A stored [K, M] when transA (used as a.t(), a
# view: cuBLAS gets the transpose flag, no copy), B stored [N, K] when transB.
#   1. validate: every entry against float64 on the GPU, |C - C64| <= tol * (|op(A)| |op(B)|),
#      the ladder's criterion; a shape that fails is reported and not timed;
#   2. time: warm-up, then R products captured in one CUDA graph (into a preallocated output)
#      and replayed, CUDA events around the replays: the kernels' GPU time without Python's
#      launch cost, which exceeds the kernel on the small shapes (the ladder likewise times R
#      dispatches in one submit). Median of 5 repetitions of about --min-ms each. The eager
#      time (R launches from Python) is reported beside it.
# Prints one JSON line per shape {shape, M, K, N, transA, transB, ms, tflops, ...} and writes
# $OUT/torch-matmul.json ({device, torch, tf32, results}).
#
# Usage: python3 torch_matmul.py [--shapes shapes.json] [--min-ms 20] [--tol 1e-5]
import argparse, json, math, os, statistics, sys

import torch

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
# float32 matmuls at full precision: no TF32, no reduced-precision reductions either
torch.set_float32_matmul_precision('highest')

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
# packed for the device, shapes.json lies beside this script (.gpu/); in the repo, in bench/matmul/
default_shapes = next((p for p in (os.path.join(here, 'shapes.json'), os.path.join(here, '..', 'matmul', 'shapes.json')) if os.path.exists(p)), None)
ap.add_argument('--shapes', default=default_shapes)
ap.add_argument('--min-ms', type=float, default=20.0)
ap.add_argument('--tol', type=float, default=1e-5)
args = ap.parse_args()
if not args.shapes:
    sys.exit('torch_matmul.py: no shapes.json beside the script or in ../matmul/; pass --shapes')
if not torch.cuda.is_available():
    sys.exit('torch_matmul.py: no CUDA device')

dev = 'cuda'
spec = json.load(open(args.shapes))
shapes = [dict(s) for s in spec['mlp']] + [
    {'label': f'{n}^3', 'M': n, 'K': n, 'N': n, 'transA': False, 'transB': False} for n in spec['squares']
]
device_name = torch.cuda.get_device_name(0)
print(json.dumps({'device': device_name, 'torch': torch.__version__, 'tf32': torch.backends.cuda.matmul.allow_tf32}), flush=True)


def events_ms(fn, reps):
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end)


def measure(a, b, s):
    op_a = a.t() if s['transA'] else a
    op_b = b.t() if s['transB'] else b
    out = torch.empty(s['M'], s['N'], device=dev, dtype=torch.float32)

    def product():
        torch.matmul(op_a, op_b, out=out)

    # validation against float64, every entry
    product()
    a64, b64 = op_a.double(), op_b.double()
    want = a64 @ b64
    scale = a64.abs() @ b64.abs()
    err = ((out.double() - want).abs() / (scale + 1e-30)).max().item()
    if not err <= args.tol:
        return {'status': 'invalid', 'max_err': err}

    # warm-up, and a first estimate of one call
    for _ in range(3):
        product()
    torch.cuda.synchronize()
    one = max(events_ms(product, 10) / 10, 1e-4)
    inner = max(1, min(2000, math.ceil(args.min_ms / 5 / one)))

    # R = inner products in one graph, replayed `outer` times per repetition
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            product()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(inner):
            product()
    graph.replay()
    torch.cuda.synchronize()
    outer = max(1, math.ceil(args.min_ms / (events_ms(graph.replay, 1) or 1e-3)))
    per_call = [events_ms(graph.replay, outer) / (outer * inner) for _ in range(5)]
    eager = [events_ms(product, outer * inner) / (outer * inner) for _ in range(3)]
    del graph
    return {'status': 'ok', 'max_err': err, 'ms': statistics.median(per_call), 'ms_min': min(per_call), 'ms_eager': statistics.median(eager), 'reps': outer * inner}


results = []
gen = torch.Generator(device=dev).manual_seed(1234)
for s in shapes:
    M, K, N = s['M'], s['K'], s['N']
    a = torch.rand(*((K, M) if s['transA'] else (M, K)), device=dev, generator=gen) * 2 - 1
    b = torch.rand(*((N, K) if s['transB'] else (K, N)), device=dev, generator=gen) * 2 - 1
    r = measure(a, b, s)
    row = {'shape': s['label'], 'M': M, 'K': K, 'N': N, 'transA': s['transA'], 'transB': s['transB'], **r}
    if r['status'] == 'ok':
        row['tflops'] = 2 * M * N * K / (r['ms'] * 1e-3) / 1e12
    results.append(row)
    print(json.dumps(row), flush=True)
    del a, b
    torch.cuda.empty_cache()

doc = {'device': device_name, 'torch': torch.__version__, 'tf32': False, 'min_ms': args.min_ms, 'tol': args.tol, 'results': results}
out_dir = os.environ.get('OUT')
if out_dir:
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, 'torch-matmul.json'), 'w') as f:
        json.dump(doc, f, indent=1)
    print(f'wrote {os.path.join(out_dir, "torch-matmul.json")}', flush=True)
bad = [r['shape'] for r in results if r['status'] != 'ok']
if bad:
    sys.exit(f'torch_matmul.py: invalid against float64: {", ".join(bad)}')
