"""Actors in fresh processes, for the actor/learner tests: only pickled blueprints, acting states
(NumPy) and trajectories (NumPy) cross the process boundary."""

import contextlib
import multiprocessing


def _serve(connection, blueprint, env_id, num_envs, env_seed, driver_seed, collection):
    """The actor's process: builds its own env, actor and Driver; for every acting state it
    receives, collects one trajectory and sends it back as NumPy; `None` stops it."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import reinforceable as rf
    from reinforceable._nest import numpy_nest

    rf.training.configure_threads(inter_op=1, intra_op=1)
    env = rf.GymEnv(env_id, num_envs, seed=env_seed)
    actor = blueprint.build()
    driver = rf.Driver(
        actor.policy, env, seed=driver_seed, sequence_length=collection.sequence_length
    )
    try:
        while (state := connection.recv()) is not None:
            actor.update(state)
            connection.send(numpy_nest(actor.process(collection.run(driver))))
    finally:
        env.close()
        connection.close()


class ActorProcess:
    """An actor in a spawned process (no fork: the parent already runs TF threads)."""

    def __init__(self, blueprint, env_id, num_envs, env_seed, driver_seed, collection):
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=_serve,
            args=(child, blueprint, env_id, num_envs, env_seed, driver_seed, collection),
            daemon=True,
        )
        self.process.start()
        child.close()

    def collect(self, acting_state, timeout: float = 300.0):
        """One trajectory (NumPy) collected with `acting_state`."""
        self.connection.send(acting_state)
        if not self.connection.poll(timeout):
            raise TimeoutError("the actor process sent nothing back")
        return self.connection.recv()

    def close(self):
        with contextlib.suppress(BrokenPipeError, OSError):
            self.connection.send(None)
        self.process.join(60)
        if self.process.is_alive():
            self.process.kill()


def collect(policy, job: dict):
    """One collection of `policy` as `job` says: `env_id`, `num_envs`, `env_seed`,
    `make_kwargs`, `driver_seed` and `collection` (sequence states recorded where it asks)."""
    import reinforceable as rf
    from reinforceable._nest import numpy_nest

    env = rf.GymEnv(job["env_id"], job["num_envs"], seed=job["env_seed"], **job["make_kwargs"])
    collection = job["collection"]
    driver = rf.Driver(
        policy, env, seed=job["driver_seed"], sequence_length=collection.sequence_length
    )
    trajectory = numpy_nest(collection.run(driver))
    env.close()
    return trajectory


def _run_jobs(connection, jobs):
    """Builds each job's actor from its blueprint and acting state in this fresh process,
    collects once, and sends back the NumPy trajectories."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    results = []
    for job in jobs:
        actor = job["blueprint"].build()
        actor.update(job["acting_state"])
        results.append(collect(actor.policy, job))
    connection.send(results)
    connection.close()


def run_in_a_fresh_process(jobs, timeout: float = 600.0):
    """The trajectory each job's actor collected (see `collect`), all in one spawned process."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_run_jobs, args=(sender, jobs), daemon=True)
    process.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            raise TimeoutError("the fresh process sent nothing back")
        return receiver.recv()
    finally:
        process.join(60)
        if process.is_alive():
            process.kill()
