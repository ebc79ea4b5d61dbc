"""`RayRunners`: one `Runner` per Ray actor (plain Ray core; the `distributed` extra)."""

from __future__ import annotations

import os
import time
import warnings

from reinforceable.distributed._ray import import_ray, init_ray, resource_options
from reinforceable.distributed.runner import Chunk, Runner, RunnerError
from reinforceable.distributed.runners import Runners, check_runner_arguments

__all__ = ["RayRunners"]


class _RemoteRunner:
    """The body of each Ray actor: TF's thread pools set before TF starts, then a `Runner`."""

    def __init__(self, index, blueprint, collection, env, num_envs, seed, threads, replay=None):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import ray

        from reinforceable._startup import configure_threads

        configure_threads(inter_op=threads, intra_op=threads)
        # A restarted runner draws other seeds than the one it replaces, reproducibly.
        with warnings.catch_warnings():  # Ray 2.60 warns about its own use of `actor_id`
            warnings.simplefilter("ignore", DeprecationWarning)
            restarted = ray.get_runtime_context().was_current_actor_reconstructed
        self.runner = Runner(
            index, blueprint, collection, env, num_envs, seed, int(restarted), replay
        )
        self.process = ray.get_runtime_context().get_worker_id()

    def spec(self):
        return self.runner.spec

    def where(self) -> dict:
        import ray
        import tensorflow as tf

        return {
            "node": ray.get_runtime_context().get_node_id(),
            "pid": os.getpid(),
            "threads": (
                tf.config.threading.get_inter_op_parallelism_threads(),
                tf.config.threading.get_intra_op_parallelism_threads(),
            ),
        }

    def collect(self, acting_state) -> Chunk:
        chunk = self.runner.collect(acting_state)
        chunk.process = self.process
        return chunk

    def update(self, acting_state) -> None:
        """Only takes the acting state (to time a broadcast)."""
        self.runner.actor.update(acting_state)

    def close(self) -> None:
        self.runner.close()


class RayRunners(Runners):
    """Runners in Ray actors, on this machine or a cluster.

    Each actor imports TensorFlow itself, sets its thread pools (`threads` each), builds a
    synchronous vector env (no fork inside a process that runs TF), its actor from the agent's
    blueprint and a Driver, once. Then only NumPy crosses: the acting state is `ray.put` once
    per broadcast (every runner reads the same object), and chunks come back as NumPy.

    Ray runs its workers at nice 15 by default, which starves runners that share cores with a
    learner; when this starts Ray it sets `RAY_worker_niceness=0`. For a cluster, start each
    node with it: `RAY_worker_niceness=0 ray start ...`.

    A runner whose process dies (killed, out of memory) is restarted by Ray (`max_restarts`
    times); the run goes on without the chunk it had in flight (if it had not finished it), says
    so in a warning, and counts the restart in `restarts` (the Trainer logs
    `charts/runner_restarts`), whether it is seen as a failed request or as chunks from a new
    process. An exception in an environment
    arrives as the `EnvError` naming the runner and the env index; one in building a runner as
    `RunnerError` naming the runner, with the remote traceback.

    Args:
        num_runners: How many Ray actors.
        env: A gymnasium id (each runner makes a synchronous `GymEnv`), or a picklable factory
            `env(num_envs, seed) -> Environment` called inside each runner.
        num_envs_per_runner: Environments per runner.
        resources: Ray resources of each runner: `{"CPU": 1}` by default; `"GPU"` and custom
            resource names as in `ray.remote`.
        address: The Ray cluster to join (`"auto"` for one started with `ray start`); `None`
            joins the Ray already initialised in this process, or starts a local one.
        threads: TF's inter- and intra-op threads in each runner.
        max_restarts: How many times Ray restarts a dead runner.
        spread: Place the runners on as many nodes as possible (Ray's `"SPREAD"` strategy).
        init_kwargs: More arguments of `ray.init` when this starts Ray (`num_cpus`, ...).
        start_timeout: Seconds to wait for the runners to start (placed, TF imported, envs and
            actors built) before a `RunnerError` that lists the cluster's free resources.

    Raises:
        ImportError: Without Ray installed (names `pip install "reinforceable[distributed]"`).
        ValueError: For `num_runners` or `num_envs_per_runner` not a positive int, or (from
            `start`, before any actor starts) resources that the cluster cannot provide.

    Example:
        >>> runners = RayRunners(2, "reinforceable/CartPoleNoVel-v1", num_envs_per_runner=4)
        >>> agent.fit(100_000, runners=runners)  # closes the runners (and a Ray it started)
    """

    def __init__(
        self,
        num_runners: int,
        env,
        num_envs_per_runner: int,
        resources: dict[str, float] | None = None,
        *,
        address: str | None = None,
        threads: int = 1,
        max_restarts: int = 3,
        spread: bool = True,
        init_kwargs: dict | None = None,
        start_timeout: float = 300.0,
    ):
        import_ray()
        check_runner_arguments("RayRunners", num_runners, env, num_envs_per_runner)
        if (
            isinstance(start_timeout, bool)
            or not isinstance(start_timeout, int | float)
            or not (start_timeout > 0)
        ):
            raise ValueError(
                f"RayRunners: `start_timeout` must be a positive number of seconds; received "
                f"{start_timeout!r}."
            )
        self.start_timeout = float(start_timeout)
        resources = {"CPU": 1} if resources is None else dict(resources)
        for name, amount in resources.items():
            if not isinstance(name, str) or isinstance(amount, bool):
                raise ValueError(f"RayRunners: bad resource {name!r}: {amount!r}.")
            if not isinstance(amount, int | float) or amount < 0:
                raise ValueError(
                    f"RayRunners: `resources[{name!r}]` must be a non-negative number; "
                    f"received {amount!r}."
                )
        self.num_runners, self.num_envs_per_runner = num_runners, num_envs_per_runner
        self.env, self.resources, self.address = env, resources, address
        self.threads, self.max_restarts, self.spread = threads, max_restarts, spread
        self.init_kwargs = dict(init_kwargs or {})
        self.actors: list = []
        self.restarts = 0
        self._owns_ray = False
        self._state_ref = None
        self._in_flight: dict = {}  # ObjectRef -> runner index
        self._restarting: set[int] = set()
        self._processes: dict[int, str] = {}  # runner index -> the process of its last chunk

    # ------------------------------------------------------------------------ starting

    def _init_ray(self):
        ray, owns = init_ray(self.address, self.init_kwargs)
        self._owns_ray = self._owns_ray or owns
        return ray

    def check_resources(self, ray) -> None:
        """A ValueError if the cluster cannot hold `num_runners` runners of `resources`."""
        total = ray.cluster_resources()
        nodes = [node["Resources"] for node in ray.nodes() if node.get("Alive")]
        for name, amount in self.resources.items():
            have = total.get(name, 0.0)
            if amount * self.num_runners > have + 1e-9:
                raise ValueError(
                    f"RayRunners: {self.num_runners} runners of {self.resources} need "
                    f"{amount * self.num_runners:g} {name}; the Ray cluster has {have:g}. Use "
                    "fewer runners or smaller `resources` (a runner's env and actor need one CPU "
                    "at most)."
                )
        if not any(
            all(n.get(k, 0.0) + 1e-9 >= v for k, v in self.resources.items()) for n in nodes
        ):
            raise ValueError(
                f"RayRunners: no node of the Ray cluster has {self.resources} for one runner; "
                f"its nodes have {[{k: n.get(k, 0.0) for k in self.resources} for n in nodes]}."
            )

    def _options(self) -> dict:
        options = {
            **resource_options(self.resources),
            "max_restarts": self.max_restarts,
            "max_task_retries": 0,
            "runtime_env": {"env_vars": {"TF_CPP_MIN_LOG_LEVEL": "3"}},
        }
        if self.spread:
            options["scheduling_strategy"] = "SPREAD"
        return options

    def start(self, blueprint, collection, seed=None, replay=None):
        ray = self._init_ray()
        try:
            self.check_resources(ray)
            remote = ray.remote(_RemoteRunner).options(**self._options())
            self.actors = [
                remote.remote(
                    i,
                    blueprint,
                    collection,
                    self.env,
                    self.num_envs_per_runner,
                    seed,
                    self.threads,
                    replay,
                )
                for i in range(self.num_runners)
            ]
            deadline = time.monotonic() + self.start_timeout
            specs = [self._started(ray, actor, i, deadline) for i, actor in enumerate(self.actors)]
        except BaseException:
            self.close()
            raise
        return specs[0]

    def _started(self, ray, actor, index: int, deadline: float):
        """Runner `index`'s EnvSpec once it has started, or a RunnerError at `deadline` (a
        runner that cannot be placed would otherwise be waited for forever)."""
        try:
            return self._get(actor.spec.remote(), index, max(deadline - time.monotonic(), 0.0))
        except ray.exceptions.GetTimeoutError as error:
            free, total = ray.available_resources(), ray.cluster_resources()
            raise RunnerError(
                f"runner {index} did not start within start_timeout={self.start_timeout:g} s. "
                f"Each runner needs {self.resources}; the Ray cluster has "
                f"{ {k: free.get(k, 0.0) for k in self.resources} } free of "
                f"{ {k: total.get(k, 0.0) for k in self.resources} } (a RayReplay or "
                "RunnerEvaluation given resources holds its share). Use fewer runners or smaller "
                "`resources`, or raise `start_timeout` for a cluster that is still growing."
            ) from error

    def placement(self) -> list[dict]:
        """Where each runner runs: `{"node": node id, "pid": process id}`."""
        ray = import_ray()
        return ray.get([actor.where.remote() for actor in self.actors])

    # ------------------------------------------------------------------------ collecting

    def _get(self, ref, index: int, timeout: float | None = None):
        """`ray.get(ref)` with the runner's errors in the library's terms."""
        ray = import_ray()
        from reinforceable.envs.vector import EnvError

        try:
            return ray.get(ref, timeout=timeout)
        except ray.exceptions.RayTaskError as error:
            cause = getattr(error, "cause", None)
            if isinstance(cause, EnvError | RunnerError):
                raise type(cause)(f"{cause}\n(remote traceback)\n{error}") from error
            raise RunnerError(f"runner {index} failed:\n{error}") from error
        except ray.exceptions.ActorDiedError as error:
            if "creation task" in str(error) or "__init__" in str(error):
                raise RunnerError(f"runner {index} could not start:\n{error}") from error
            raise

    def _failed(self, index: int, error) -> None:
        """A request to runner `index` failed because its process is gone: the first failure
        of an outage counts as a restart (its chunk in flight is lost), the ones while Ray
        restarts it are retried; a runner that Ray gave up on ends the run."""
        ray = import_ray()
        if isinstance(error, ray.exceptions.ActorDiedError):
            raise RunnerError(
                f"runner {index} died and Ray will not restart it (max_restarts="
                f"{self.max_restarts}):\n{error}"
            ) from error
        if index in self._restarting:
            time.sleep(0.2)  # still restarting: ask again shortly
            return
        self._restarting.add(index)
        lost = "Ray restarts it, and its chunk in flight is lost"
        self._restarted(index, f"died ({type(error).__name__}); {lost}")

    def _restarted(self, index: int, what: str) -> None:
        self.restarts += 1
        warnings.warn(
            f"RayRunners: runner {index} {what} (restart {self.restarts}).",
            RuntimeWarning,
            stacklevel=4,
        )

    def _received(self, ref, index: int, chunks: list) -> None:
        """Gets runner `index`'s chunk into `chunks`, or handles the runner's death. A chunk
        from a new process after no failed request means the runner died between requests."""
        ray = import_ray()
        try:
            chunk = self._get(ref, index)
        except ray.exceptions.RayActorError as error:
            self._failed(index, error)
            return
        previous = self._processes.get(index, chunk.process)
        if chunk.process != previous and index not in self._restarting:
            again = "Ray restarted it, and its environments began again"
            self._restarted(index, f"died between two chunks; {again}")
        self._processes[index] = chunk.process
        self._restarting.discard(index)
        chunks.append(chunk)

    def sample(self, acting_state):
        ray = import_ray()
        state = ray.put(acting_state)
        chunks: list[Chunk] = []
        pending = list(range(self.num_runners))
        while pending:
            refs = {self.actors[i].collect.remote(state): i for i in pending}
            for ref, index in refs.items():
                self._received(ref, index, chunks)
            done = {chunk.runner for chunk in chunks}
            pending = [i for i in range(self.num_runners) if i not in done]  # again, restarted
        return sorted(chunks, key=lambda chunk: chunk.runner)

    def broadcast(self, acting_state):
        ray = import_ray()
        self._state_ref = ray.put(acting_state)

    def _request(self, index: int) -> None:
        self._in_flight[self.actors[index].collect.remote(self._state_ref)] = index

    def poll(self):
        ray = import_ray()
        if self._state_ref is None:
            raise RuntimeError("RayRunners.poll: broadcast an acting state first.")
        busy = set(self._in_flight.values())
        for index in range(self.num_runners):
            if index not in busy:
                self._request(index)
        chunks: list[Chunk] = []
        while not chunks:
            ray.wait(list(self._in_flight), num_returns=1)
            ready, _ = ray.wait(list(self._in_flight), num_returns=len(self._in_flight), timeout=0)
            for ref in ready:
                index = self._in_flight.pop(ref)
                self._received(ref, index, chunks)
                self._request(index)
        return sorted(chunks, key=lambda chunk: chunk.runner)

    # ------------------------------------------------------------------------ ending

    def close(self):
        if not self.actors and not self._owns_ray:
            return
        ray = import_ray()
        for actor in self.actors:
            ray.kill(actor, no_restart=True)
        self.actors, self._in_flight, self._state_ref = [], {}, None
        self._processes, self._restarting = {}, set()
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()
        self._owns_ray = False
