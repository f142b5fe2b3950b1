"""Training: a generator that yields events, checkpoints every epoch, resumes, and runs under torchrun."""

from .loop import TrainJob, train

__all__ = ["TrainJob", "train"]
