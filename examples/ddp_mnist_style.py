"""Data-parallel training the PyTorch way: init_process_group, DistributedSampler,
DistributedDataParallel, on MNIST-shaped random data (a fixed random teacher labels it, so the
loss falls).

    python -m ember.distributed.run --nproc-per-node 2 examples/ddp_mnist_style.py --steps 50

PyTorch's `torchrun --nproc-per-node 2`, or processes started by hand with RANK, WORLD_SIZE,
MASTER_ADDR and MASTER_PORT set, run it as well.

Every process trains on its share of each batch; gradients are averaged across processes, so the
replicas stay equal. Below the `import`, this is PyTorch code: `--framework torch` runs the same
file with PyTorch under `torchrun --nproc-per-node 2`.
"""
import argparse
import importlib
import os
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--batch-size", type=int, default=64, help="per process")
    p.add_argument("--model", choices=("mlp", "cnn"), default="mlp")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--samples", type=int, default=4096)
    p.add_argument("--save", help="write the DDP state_dict here (rank 0)")
    p.add_argument("--framework", choices=("ember", "torch"), default="ember")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch = importlib.import_module(args.framework)
    nn, F = torch.nn, torch.nn.functional
    dist = torch.distributed
    from_utils = importlib.import_module(f"{args.framework}.utils.data")
    DataLoader, DistributedSampler, TensorDataset = (from_utils.DataLoader, from_utils.DistributedSampler,
                                                     from_utils.TensorDataset)
    DDP = torch.nn.parallel.DistributedDataParallel

    dist.init_process_group(backend="gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", 0))

    torch.manual_seed(0)  # the same data set on every rank; the sampler splits it
    images = torch.randn(args.samples, 1, 28, 28)
    teacher = torch.randn(28 * 28, 10)
    labels = (images.flatten(1) @ teacher).argmax(1)
    dataset = TensorDataset(images, labels)
    sampler = DistributedSampler(dataset, shuffle=True, seed=0, drop_last=True)
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler, drop_last=True)

    torch.manual_seed(1 + rank)  # different on purpose: DDP copies rank 0's weights
    if args.model == "mlp":
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    else:
        model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(16 * 7 * 7, 10))
    model = DDP(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)

    step, epoch, first_loss, start = 0, 0, None, None
    while step < args.steps:
        sampler.set_epoch(epoch)
        for x, y in loader:
            if step == 1:
                start = time.perf_counter()  # the first step pays for warm-up
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            mean_loss = loss.detach().clone()
            dist.all_reduce(mean_loss)  # SUM: gloo has no AVG
            mean_loss = mean_loss.item() / world
            first_loss = mean_loss if first_loss is None else first_loss
            if rank == 0 and (step % 10 == 0 or step == args.steps - 1):
                print(f"step {step:4d}  loss {mean_loss:.4f}", flush=True)
            step += 1
            if step == args.steps:
                break
        epoch += 1
    elapsed = time.perf_counter() - start if start is not None else float("nan")

    # every replica holds the same weights
    checksum = torch.stack([p.detach().double().sum() for p in model.parameters()])
    sums = [torch.zeros_like(checksum) for _ in range(world)]
    dist.all_gather(sums, checksum)
    assert all(torch.equal(s, sums[0]) for s in sums), f"rank {rank}: replicas differ"
    if rank == 0:
        rate = (args.steps - 1) * args.batch_size * world / elapsed
        print(f"world {world} (local rank {local_rank})  loss {first_loss:.4f} -> {mean_loss:.4f}  "
              f"{rate:.0f} samples/s  replicas equal", flush=True)
        if args.save:
            torch.save(model.state_dict(), args.save)
    dist.barrier()  # nobody tears down its connections while a peer still uses them
    dist.destroy_process_group()
    return first_loss, mean_loss


if __name__ == "__main__":
    main()
