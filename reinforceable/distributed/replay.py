"""A replay of its own (Ape-X): runners add to it, learners sample from it.

Off-policy agents keep their replay in the learner by default: runners send their chunks to the
learner, which stores them. With a `SharedReplay`, every runner stores its trajectories in the
replay itself, the learner receives only what it logs (steps, episodes, versions) and samples
its update batches from the replay, and any number of runners, and of learners given the same
replay, share it. `RayReplay` puts it in a Ray actor of its own; `LocalReplay` keeps it in this
process (tests, one machine).
"""

from __future__ import annotations

import abc

import numpy as np

from reinforceable.distributed._ray import import_ray, init_ray, resource_options
from reinforceable.distributed.runner import RunnerError
from reinforceable.replay.spec import ReplaySpec

__all__ = [
    "LocalReplay",
    "RayReplay",
    "ReplayServer",
    "ReplaySpec",
    "SharedReplay",
    "make_replay",
]


class ReplayServer:
    """A `ReplayBuffer` with the agent's transform, driven by plain calls (the body of the Ray
    actor, or held in this process); batches come out as NumPy.

    Args:
        spec: The agent's `ReplaySpec`.
        seed: Seed of the sampling (`None`: nondeterministic).
    """

    def __init__(self, spec: ReplaySpec, seed: int | None = None):
        import tensorflow as tf

        from reinforceable.replay.buffer import ReplayBuffer

        self.spec = spec
        self.buffer = ReplayBuffer(spec.item_spec, spec.capacity)
        self._rng = np.random.default_rng(seed)
        self._add = tf.function(
            lambda trajectory: self.buffer.add(spec.transform(trajectory)),
            autograph=False,
            reduce_retracing=True,
        )
        buffer = self.buffer

        def draw(count, batch_size, seed):  # not a method: Ray wraps an actor's methods
            # i.i.d. uniform rows (with replacement) for all batches at once, then split
            rows = tf.random.stateless_uniform(
                [count * batch_size], seed, minval=0, maxval=buffer.size, dtype=tf.int64
            )
            return tf.nest.map_structure(
                lambda x: tf.reshape(x, [count, batch_size, *x.shape[1:]]), buffer.gather(rows)
            )

        self._sample = tf.function(draw, autograph=False, reduce_retracing=True)

    def add(self, trajectory) -> int:
        """Stores a trajectory's items; returns the replay's size."""
        self._add(trajectory)
        return self.size()

    def size(self) -> int:
        return int(self.buffer.size.numpy())

    def sample(self, count: int, batch_size: int):
        """`count` batches of `batch_size` items drawn uniformly: NumPy `[count, batch_size,
        ...]` per leaf. Raises a ValueError if the replay holds fewer than `batch_size`."""
        import tensorflow as tf

        if self.size() < batch_size:
            raise ValueError(
                f"ReplayServer.sample: the replay holds {self.size()} items, fewer than "
                f"batch_size={batch_size}."
            )
        seed = tf.constant(self._rng.integers(0, 2**31 - 1, size=2), tf.int32)
        batches = self._sample(count, batch_size, seed)
        return tf.nest.map_structure(lambda x: x.numpy(), batches)

    def state(self) -> dict:
        return self.buffer.get_state()

    def load(self, state: dict) -> int:
        self.buffer.set_state(state)
        return self.size()


class SharedReplay(abc.ABC):
    """A replay that runners add to and learners sample from (see the module's docstring).

    The Trainer starts it with the agent's `ReplaySpec` before the runners, gives the runners
    its `sink()`, and before each checkpoint copies its contents into the agent's own buffer,
    so a checkpoint holds the replay and a resumed run refills the shared one from it.
    """

    @abc.abstractmethod
    def start(self, spec: ReplaySpec, seed: int | None = None) -> None:
        """Builds the replay (or joins the one already running, for `RayReplay(name=...)`)."""

    @abc.abstractmethod
    def sink(self):
        """What each runner stores its trajectories through: an object with `add(trajectory)`,
        picklable for `RayRunners`."""

    @abc.abstractmethod
    def size(self) -> int: ...

    @abc.abstractmethod
    def sample(self, count: int, batch_size: int):
        """`count` batches of `batch_size` items (NumPy `[count, batch_size, ...]`)."""

    @abc.abstractmethod
    def state(self) -> dict:
        """The contents (NumPy), for a checkpoint."""

    @abc.abstractmethod
    def load(self, state: dict) -> None:
        """Replaces the contents with `state` (a resumed run)."""

    def close(self) -> None:  # noqa: B027 (nothing to release by default)
        """Releases the replay."""


class LocalReplay(SharedReplay):
    """A shared replay in this process (with `LocalRunners`, or to test a setup)."""

    def __init__(self):
        self.server: ReplayServer | None = None

    def start(self, spec, seed=None):
        self.server = ReplayServer(spec, seed)

    def sink(self):
        return self.server

    def size(self):
        return self.server.size()

    def sample(self, count, batch_size):
        return self.server.sample(count, batch_size)

    def state(self):
        return self.server.state()

    def load(self, state):
        self.server.load(state)

    def close(self):
        self.server = None


class _RemoteSink:
    """A runner's handle on a `RayReplay`: `add` waits until the replay has the trajectory, so
    the learner never counts steps that the replay does not hold yet."""

    def __init__(self, actor):
        self.actor = actor

    def add(self, trajectory) -> None:
        import_ray().get(self.actor.add.remote(trajectory))


class RayReplay(SharedReplay):
    """The replay as a Ray actor of its own (Ape-X), shared by every runner, and by every learner
    that names it.

    Args:
        name: Name of the Ray actor. A learner whose `RayReplay` has the name of one that runs
            already (in the same Ray namespace) samples from that one instead of starting its own.
        resources: Ray resources of the replay: none by default (`{"CPU": 0}`: it stores and
            samples, a small share of a core, and so fits beside runners that take every CPU;
            give it `{"CPU": 1}` on a cluster with room for it).
        address: The Ray cluster to join, as for `RayRunners` (`None`: the Ray already started
            in this process, or a local one).
        init_kwargs: More arguments of `ray.init` when this starts Ray.

    Example:
        >>> agent.fit(100_000, runners=RayRunners(4, "HalfCheetah-v5", 8), replay=RayReplay())
    """

    def __init__(
        self,
        name: str | None = None,
        resources: dict[str, float] | None = None,
        *,
        address: str | None = None,
        init_kwargs: dict | None = None,
    ):
        import_ray()
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"RayReplay: `name` must be a non-empty str or None; got {name!r}.")
        self.name, self.address = name, address
        self.resources = {"CPU": 0} if resources is None else dict(resources)
        self.init_kwargs = dict(init_kwargs or {})
        self.actor = None
        self._owns_ray = self._owns_actor = False

    def start(self, spec, seed=None):
        ray, self._owns_ray = init_ray(self.address, self.init_kwargs)
        options = resource_options(self.resources)
        if self.name is not None:
            try:
                self.actor = ray.get_actor(self.name)
                return
            except ValueError:
                options["name"] = self.name
        self.actor = ray.remote(ReplayServer).options(**options).remote(spec, seed)
        self._owns_actor = True
        self.size()  # it runs

    def sink(self):
        return _RemoteSink(self.actor)

    def _get(self, ref):
        """`ray.get(ref)`, with the replay's failures as a `RunnerError` that names it."""
        ray = import_ray()
        try:
            return ray.get(ref)
        except ray.exceptions.RayActorError as error:
            raise RunnerError(
                f"the shared replay (RayReplay{f' {self.name!r}' if self.name else ''}) is gone "
                f"(its process died: out of memory?); the last checkpoint holds its contents as of "
                f"that checkpoint:\n{error}"
            ) from error
        except ray.exceptions.RayTaskError as error:
            raise RunnerError(f"the shared replay failed:\n{error}") from error

    def size(self):
        return self._get(self.actor.size.remote())

    def sample(self, count, batch_size):
        return self._get(self.actor.sample.remote(count, batch_size))

    def state(self):
        return self._get(self.actor.state.remote())

    def load(self, state):
        self._get(self.actor.load.remote(state))

    def close(self):
        ray = import_ray()
        if self.actor is not None and self._owns_actor:
            ray.kill(self.actor)
        self.actor, self._owns_actor = None, False
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()
        self._owns_ray = False


def make_replay(kind: str, address: str | None = None) -> SharedReplay | None:
    """The replay that an example's `--replay` flag asks for: `None` for `""` (in the learner,
    the default), `RayReplay` for `"ray"` (joining `address`), `LocalReplay` for `"local"`.

    Raises:
        ValueError: For another `kind`.
    """
    if kind == "":
        return None
    if kind == "ray":
        return RayReplay(address=address or None)
    if kind == "local":
        return LocalReplay()
    raise ValueError(f"make_replay: `kind` must be '', 'ray' or 'local'; received {kind!r}.")
