"""A small fit that test_kill_resume.py runs in a subprocess, kills with SIGKILL and resumes.

Usage: ``python killresume_child.py SCENARIO WORKDIR``. The fit resumes from
``WORKDIR/ckpt/last.ckpt`` when that file exists. It prints one line per phase
(``P step``, ``P val``, ``P ckpt``, ``P epoch``) so the parent can kill it inside a chosen
phase, and writes its final state to ``WORKDIR/result.ember`` when it completes.
"""
import os
import random
import sys

import numpy as np

import ember
import ember.nn as nn
import ember.train.trainer as trainer_module
from ember.train import CSVLogger, EarlyStopping, LambdaCallback, ModelCheckpoint, Trainer
from ember.utils.data import DataLoader, Dataset, TensorDataset


def signal(phase: str) -> None:
    sys.stdout.write(f"P {phase}\n")
    sys.stdout.flush()


class Augmented(Dataset):
    """Samples with noise drawn from all three process-wide generators (ember's, NumPy's and
    Python's), as a random augmentation would."""

    def __init__(self, n: int):
        g = ember.Generator().manual_seed(0)
        self.x = ember.randn(n, 4, generator=g)
        self.y = (self.x[:, 0] + self.x[:, 1] > 0).long()

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i):
        noise = ember.randn(4) * 0.1 + float(np.random.normal(0, 0.1)) + (random.random() - 0.5) * 0.1
        return self.x[i] + noise, self.y[i]


class SignalingValidation(TensorDataset):
    def __getitem__(self, i):
        signal("val")
        return super().__getitem__(i)


def _validation_data() -> SignalingValidation:
    g = ember.Generator().manual_seed(1)
    x = ember.randn(12, 4, generator=g)
    return SignalingValidation(x, (x[:, 0] + x[:, 1] > 0).long())


def _signaling_save(save):
    def save_checkpoint(state, path):
        signal("ckpt")
        return save(state, path)
    return save_checkpoint


def main(scenario: str, workdir: str) -> None:
    trainer_module.save_checkpoint = _signaling_save(trainer_module.save_checkpoint)
    ckpt_dir = os.path.join(workdir, "ckpt")
    last = os.path.join(ckpt_dir, "last.ckpt")
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))
    early = EarlyStopping(patience=1, min_delta=0.02, restore_best_weights=True, verbose=False)
    step_signal = LambdaCallback(on_batch_start=lambda t, b, logs: signal("step"))
    epoch_signal = LambdaCallback(on_epoch_end=lambda t, e, logs: signal("epoch"))
    if scenario == "workers":
        opt = ember.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
        sched = ember.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        loader = DataLoader(Augmented(40), batch_size=8, shuffle=True, num_workers=2)
        callbacks = [step_signal, ModelCheckpoint(dirpath=ckpt_dir, save_best_only=False, every_n_steps=2),
                     early, epoch_signal]
        trainer = Trainer(model, nn.CrossEntropyLoss(), opt, scheduler=sched, callbacks=callbacks,
                          seed=5, progress=False)
    else:
        opt = ember.optim.Adam(model.parameters(), lr=0.05)
        sched = ember.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
        loader = DataLoader(Augmented(36), batch_size=6, shuffle=True)
        callbacks = [step_signal, ModelCheckpoint(dirpath=ckpt_dir, every_n_steps=3), early,
                     CSVLogger(os.path.join(workdir, "log.csv")), epoch_signal]
        trainer = Trainer(model, nn.CrossEntropyLoss(), opt, scheduler=sched, callbacks=callbacks,
                          accumulate_grad_batches=2, seed=9, progress=False)
    history = trainer.fit(loader, _validation_data(), epochs=8,
                          resume_from=last if os.path.exists(last) else None)
    csv_path = os.path.join(workdir, "log.csv")
    result = {"weights": [p.detach() for p in model.parameters()], "history": history.state_dict(),
              "early_stopping": {"best": early.best, "wait": early.wait, "best_epoch": early.best_epoch,
                                 "stopped_epoch": early.stopped_epoch, "best_weights": early.best_weights}, "global_step": trainer.global_step,
              "lr": [g["lr"] for g in opt.param_groups],
              "csv": open(csv_path).read() if os.path.exists(csv_path) else None}
    ember.save(result, os.path.join(workdir, "result.ember"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
