"""`RunnerEvaluation`: the deterministic policy evaluated on a runner of its own, while the
learner goes on training."""

from __future__ import annotations

import traceback

from reinforceable._checks import check_positive_int
from reinforceable.distributed._ray import import_ray, init_ray, resource_options
from reinforceable.distributed.runner import RunnerError, check_env, make_env
from reinforceable.training.callbacks import Callback

__all__ = ["Evaluator", "RunnerEvaluation"]

_BACKENDS = ("ray", "local")


class Evaluator:
    """Its own environments and the agent's actor (built from the blueprint), evaluating the
    deterministic policy of each acting state it is given: the body of the Ray actor, or local.

    Raises:
        RunnerError: If the env factory or the actor cannot be built (with the traceback).
        ValueError: If the environments' spaces differ from the agent's spec.
    """

    def __init__(self, blueprint, env, num_envs, episodes, seed=None, threads=None):
        from reinforceable.driver.evaluation import evaluation_driver

        if threads is not None:  # a process of its own: TF's pools before TF starts
            from reinforceable._startup import configure_threads

            configure_threads(inter_op=threads, intra_op=threads)

        try:
            self.env = make_env(env, num_envs, seed)
        except Exception as error:
            raise RunnerError(
                f"the evaluation runner's env factory failed ({type(error).__name__}: {error})."
                "\n" + traceback.format_exc()
            ) from error
        from reinforceable.envs.env_spec import EnvSpec

        spec = EnvSpec.of(self.env, "the evaluation runner")
        try:
            blueprint.spec.check_compatible(spec, "RunnerEvaluation", "its environments")
            self.actor = blueprint.build()
            self.driver = evaluation_driver(self.actor.eval_policy, self.env, episodes)
        except Exception:
            self.env.close()
            raise
        self.episodes = episodes

    def evaluate(self, acting_state) -> dict[str, float]:
        """`eval/episode_return`, `eval/episode_length` (means over `episodes` episodes from
        fresh resets) and `eval/version`, the acting state's version."""
        from reinforceable.driver.evaluation import evaluate_episodes

        self.actor.update(acting_state)
        version = float(acting_state["version"])
        return {**evaluate_episodes(self.driver, self.episodes), "eval/version": version}

    def close(self) -> None:
        self.env.close()


class RunnerEvaluation(Callback):
    """Evaluates `agent.eval_policy` every `every` iterations on a runner of its own.

    With the Ray backend the evaluation runs in a Ray actor while training goes on: the request
    carries the current acting state, and its result is added to the logs of the iteration in
    which it arrives, with `eval/version` (the iteration whose policy was evaluated); one
    evaluation at a time. The last iteration waits and evaluates the final policy, so the last
    logs always hold it, as with `Evaluation`. The local backend evaluates in this process,
    synchronously.

    Args:
        env: A gymnasium id or a picklable factory `env(num_envs, seed)`, as for `RayRunners`.
        every: Iterations between evaluations.
        episodes: Episodes per evaluation.
        num_envs: Environments of the evaluation runner (by default `min(episodes, 16)`).
        backend: `"ray"` (a Ray actor; joins the Ray of the runners, or starts one) or
            `"local"`.
        seed: Seed of the evaluation environments.
        resources: Ray resources of the actor: none by default (`{"CPU": 0}`: it runs now and
            then, beside runners that take every CPU; give it `{"CPU": 1}` where there is room).
        address: The Ray cluster to join if Ray is not started yet.
        timeout: Seconds the last iteration waits for its evaluation before a `RunnerError`.

    Example:
        >>> agent.fit(100_000, runners=RayRunners(2, "Pendulum-v1", 4),
        ...           callbacks=[RunnerEvaluation("Pendulum-v1", every=20)])
    """

    adds_logs = True

    def __init__(
        self,
        env,
        every: int = 10,
        episodes: int = 10,
        num_envs: int | None = None,
        backend: str = "ray",
        seed: int | None = 0,
        resources: dict[str, float] | None = None,
        address: str | None = None,
        timeout: float = 600.0,
    ):
        check_positive_int("RunnerEvaluation", "every", every)
        check_positive_int("RunnerEvaluation", "episodes", episodes)
        num_envs = min(episodes, 16) if num_envs is None else num_envs
        check_positive_int("RunnerEvaluation", "num_envs", num_envs)
        if backend not in _BACKENDS:
            raise ValueError(
                f"RunnerEvaluation: `backend` must be one of {_BACKENDS}; received {backend!r}."
            )
        check_env("RunnerEvaluation", env)
        if backend == "ray":
            import_ray()
        self.env, self.every, self.episodes, self.num_envs = env, every, episodes, num_envs
        self.backend, self.seed, self.address = backend, seed, address
        self.resources = {"CPU": 0} if resources is None else dict(resources)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise ValueError(
                f"RunnerEvaluation: `timeout` must be a positive number; received {timeout!r}."
            )
        self.timeout = float(timeout)
        self.evaluator = None
        self._pending = None
        self._owns_ray = False

    def on_train_begin(self, trainer):
        arguments = (trainer.agent.blueprint(), self.env, self.num_envs, self.episodes, self.seed)
        if self.backend == "local":
            self.evaluator = Evaluator(*arguments)
            return
        ray, self._owns_ray = init_ray(self.address, {})
        options = resource_options(self.resources)
        self.evaluator = ray.remote(Evaluator).options(**options).remote(*arguments, threads=1)

    def _result(self, ref) -> dict[str, float]:
        ray = import_ray()
        try:
            return ray.get(ref, timeout=self.timeout)
        except ray.exceptions.RayTaskError as error:
            raise RunnerError(f"the evaluation runner failed:\n{error}") from error
        except ray.exceptions.GetTimeoutError as error:
            raise RunnerError(
                f"the evaluation runner gave no result within {self.timeout:g} s (it needs "
                f"{self.resources}; the Ray cluster has {ray.available_resources()} free)."
            ) from error

    def on_iteration_end(self, trainer, logs):
        iteration = int(logs["iteration"])
        due = iteration % self.every == 0
        if self.backend == "local":
            if due or trainer.is_last_iteration:
                logs.update(self.evaluator.evaluate(trainer.agent.acting_state()))
            return
        ray = import_ray()
        if self._pending is not None and (
            trainer.is_last_iteration or ray.wait([self._pending], timeout=0)[0]
        ):
            logs.update(self._result(self._pending))
            self._pending = None
        if trainer.is_last_iteration:
            if logs.get("eval/version") != iteration:
                ref = self.evaluator.evaluate.remote(trainer.agent.acting_state())
                logs.update(self._result(ref))
        elif due and self._pending is None:
            self._pending = self.evaluator.evaluate.remote(trainer.agent.acting_state())

    def wait(self) -> bool:
        """Blocks until the evaluation in flight has finished (its result is logged at the next
        iteration); returns whether one was in flight."""
        if self._pending is None:
            return False
        import_ray().wait([self._pending])
        return True

    def on_train_end(self, trainer, logs):
        self.close()

    def close(self) -> None:
        """Ends the evaluation runner (and a Ray this started)."""
        if self.evaluator is None:
            return
        if self.backend == "local":
            self.evaluator.close()
        else:
            ray = import_ray()
            ray.kill(self.evaluator)
            if self._owns_ray and ray.is_initialized():
                ray.shutdown()
        self.evaluator, self._pending, self._owns_ray = None, None, False
