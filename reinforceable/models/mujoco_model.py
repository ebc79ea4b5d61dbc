"""`MujocoModel`: the MuJoCo simulator of a gymnasium env as a `Model`, for planners."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
import tensorflow as tf

from reinforceable._mujoco_quiet import quiet_mujoco
from reinforceable.models.base import Model

__all__ = ["MujocoModel", "half_cheetah_reward", "inverted_pendulum_reward"]


def inverted_pendulum_reward(qpos_before, qpos, qvel, action, dt):
    """A planning reward for InvertedPendulum: gymnasium pays 1 per step while the pole is within
    0.2 rad; this adds a pull towards upright, still and centred (the cart's rail is short), so
    that sequences that all survive the horizon can still be ranked."""
    cart, angle = qpos[..., 0], qpos[..., 1]
    alive = np.abs(angle) <= 0.2
    return alive - angle**2 - 0.1 * cart**2 - 0.01 * np.sum(qvel**2, -1)


def half_cheetah_reward(qpos_before, qpos, qvel, action, dt):
    """gymnasium's HalfCheetah-v5 reward: forward velocity minus 0.1 Σ u²."""
    return (qpos[..., 0] - qpos_before[..., 0]) / dt - 0.1 * np.sum(action**2, -1)


REWARDS = {"InvertedPendulum": inverted_pendulum_reward, "HalfCheetah": half_cheetah_reward}


class MujocoModel(Model):
    """Rolls the real MuJoCo simulator of a gymnasium MuJoCo env forward, as a `Model`.

    The state is `[qpos, qvel]`; one step applies the action for the env's `frame_skip`
    simulator steps, as the env does. `sequence_cost` rolls all of a planner's sequences out at
    once with `mujoco.rollout` on `num_threads` threads, so MPPI controls MuJoCo tasks with no
    learned model. The ops run through `tf.numpy_function`: they work inside the Driver's graph
    but have no gradient (this model is for sampling planners, not for analytic gradients).

    The env's observation must be the state (`[qpos, qvel]`). InvertedPendulum's is; for
    HalfCheetah pass `exclude_current_positions_from_observation=False`.

    Args:
        env_id: A gymnasium MuJoCo id.
        reward: `reward(qpos_before, qpos, qvel, action, dt) -> [...]` on NumPy arrays; `None`
            uses the built-in one for InvertedPendulum or HalfCheetah.
        num_threads: Threads of the rollouts.
        **make_kwargs: Passed to `gymnasium.make` (the same as for the env controlled).

    Raises:
        ValueError: For an unknown id, an env whose observation is not `[qpos, qvel]`, or no
            reward for the task.
    """

    xla_compatible = False  # the simulator runs through tf.numpy_function

    def __init__(
        self,
        env_id: str,
        reward: Callable | None = None,
        num_threads: int = 2,
        **make_kwargs,
    ):
        import mujoco
        import mujoco.rollout

        quiet_mujoco()

        try:
            env = gym.make(env_id, **make_kwargs)
        except gym.error.Error as error:
            raise ValueError(f"MujocoModel: unknown environment id {env_id!r}: {error}") from None
        unwrapped = env.unwrapped
        if not hasattr(unwrapped, "model") or not hasattr(unwrapped, "frame_skip"):
            raise ValueError(f"MujocoModel: {env_id!r} is not a gymnasium MuJoCo env.")
        if reward is None:
            reward = next((fn for name, fn in REWARDS.items() if env_id.startswith(name)), None)
            if reward is None:
                raise ValueError(f"MujocoModel: no built-in reward for {env_id!r}; pass `reward`.")
        self.mj_model = unwrapped.model
        self.frame_skip = int(unwrapped.frame_skip)
        self.dt = float(unwrapped.dt)
        self.nq, self.nv = self.mj_model.nq, self.mj_model.nv
        self.state_dim = self.nq + self.nv
        self.action_dim = self.mj_model.nu
        self.action_low = np.asarray(env.action_space.low, np.float64)
        self.action_high = np.asarray(env.action_space.high, np.float64)
        observation, _ = env.reset(seed=0)
        state = np.concatenate([unwrapped.data.qpos, unwrapped.data.qvel])
        if observation.shape != state.shape or not np.allclose(observation, state, atol=1e-6):
            raise ValueError(
                f"MujocoModel: the observation of {env_id!r} is not the state [qpos, qvel] "
                f"(shape {observation.shape}, state {state.shape}); planners need it. For "
                "HalfCheetah and similar envs pass exclude_current_positions_from_observation="
                "False."
            )
        self.reward_fn = reward
        self._spec = mujoco.mjtState.mjSTATE_FULLPHYSICS
        self._template = np.zeros(mujoco.mj_stateSize(self.mj_model, self._spec))
        mujoco.mj_getState(self.mj_model, unwrapped.data, self._template, self._spec)
        self._template[0] = 0.0  # time
        self._datas = [mujoco.MjData(self.mj_model) for _ in range(max(1, num_threads))]
        self._pool = mujoco.rollout.Rollout(nthread=num_threads)
        self.num_threads = num_threads
        env.close()

    # ---------------------------------------------------------------------------- NumPy side

    def _full_states(self, states: np.ndarray) -> np.ndarray:
        full = np.repeat(self._template[None], len(states), axis=0)
        full[:, 1 : 1 + self.nq] = states[:, : self.nq]
        full[:, 1 + self.nq : 1 + self.nq + self.nv] = states[:, self.nq :]
        return full

    def _roll(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        """states `[N, S]`, actions `[N, H, A]` → the states after each env step `[N, H, S]`."""
        controls = np.repeat(
            np.clip(actions, self.action_low, self.action_high), self.frame_skip, 1
        )
        result, _ = self._pool.rollout(
            self.mj_model, self._datas, self._full_states(states), controls
        )
        after = result[:, self.frame_skip - 1 :: self.frame_skip]  # [N, H, full]
        return after[..., 1 : 1 + self.nq + self.nv]

    def _np_costs(self, states, actions, discount):
        b, k, h, a = actions.shape
        flat_states = np.repeat(states.astype(np.float64), k, axis=0)
        flat_actions = actions.reshape(b * k, h, a).astype(np.float64)
        after = self._roll(flat_states, flat_actions)
        before = np.concatenate([flat_states[:, None], after[:, :-1]], axis=1)
        rewards = self.reward_fn(
            before[..., : self.nq], after[..., : self.nq], after[..., self.nq :], flat_actions,
            self.dt,
        )  # fmt: skip
        costs = -(rewards * discount ** np.arange(h)).sum(-1)
        return costs.reshape(b, k).astype(states.dtype)

    def _np_step(self, states, actions):
        flat = states.reshape(-1, self.state_dim).astype(np.float64)
        acts = actions.reshape(-1, 1, self.action_dim).astype(np.float64)
        return self._roll(flat, acts)[:, 0].reshape(states.shape).astype(states.dtype)

    def _np_reward(self, states, actions):
        flat = states.reshape(-1, self.state_dim).astype(np.float64)
        acts = actions.reshape(-1, 1, self.action_dim).astype(np.float64)
        after = self._roll(flat, acts)[:, 0]
        reward = self.reward_fn(
            flat[:, : self.nq], after[:, : self.nq], after[:, self.nq :], acts[:, 0], self.dt
        )
        return np.asarray(reward).reshape(states.shape[:-1]).astype(states.dtype)

    # ---------------------------------------------------------------------------- Model

    def _step(self, state, action):
        result = tf.numpy_function(self._np_step, [state, action], state.dtype)
        return tf.ensure_shape(result, state.shape)

    def _reward(self, state, action):
        result = tf.numpy_function(self._np_reward, [state, action], state.dtype)
        return tf.ensure_shape(result, state.shape[:-1])

    def sequence_cost(self, state, actions, discount: float = 1.0) -> tf.Tensor:
        state, actions = tf.convert_to_tensor(state), tf.convert_to_tensor(actions)
        costs = tf.numpy_function(
            lambda s, a: self._np_costs(s, a, discount), [state, tf.cast(actions, state.dtype)],
            state.dtype,
        )  # fmt: skip
        return tf.ensure_shape(costs, actions.shape[:2])

    def initial_state_bounds(self):
        state = self._template[1 : 1 + self.nq + self.nv]
        return state - 0.01, state + 0.01
