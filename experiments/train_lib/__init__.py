"""Training library used by every trained method of the zoo.

``train(task, config, workdir)`` runs a data-parallel jitted step over a ``jax.sharding.Mesh``
(1 device or N; multi-host through ``jax.distributed``), resumes from the newest orbax checkpoint in
the workdir, writes ``metrics.jsonl`` (and TensorBoard event files when tensorboardX is installed),
prints progress with steps/s and ETA, and stops on a non-finite metric naming the step.
"""
from experiments.train_lib.checkpoint import Checkpoints
from experiments.train_lib.loop import NonFiniteError, TrainResult, train
from experiments.train_lib.mesh import (batch_sharding, initialize_distributed, make_mesh, replicated,
                                        shard_batch)
from experiments.train_lib.state import TrainState, num_params
from experiments.train_lib.step import make_optimizer, make_train_step
from experiments.train_lib.writers import MetricWriter, Progress, read_metrics
