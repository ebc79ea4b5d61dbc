"""`RecurrentSACAgent`: SAC with recurrent actors and critics, learned from replayed sequences
with stored states and burn-in (R2D2)."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from reinforceable.agents.base import Collection
from reinforceable.agents.sac.base import Gradients, SACBase
from reinforceable.agents.sac.config import RecurrentSACConfig
from reinforceable.agents.sac.losses import actor_loss, critic_loss, soft_state_value
from reinforceable.agents.sac.networks import (
    critics_from,
    features_dim,
    recurrent_torso,
    sequence_features,
    zero_state,
)
from reinforceable.driver.trajectory import Trajectory
from reinforceable.envs.base import Environment
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.layers.noisy_dense import sampled_noise
from reinforceable.layers.recurrent_state import recurrent_layers
from reinforceable.ops.returns import n_step_returns
from reinforceable.replay.sequence import (
    SequenceBatch,
    SequenceReplay,
    sequence_priority,
    trajectory_sequences,
)
from reinforceable.replay.transitions import gather_following

__all__ = ["RecurrentSACAgent"]


def _with_time(spec_nest, steps: int):
    return tf.nest.map_structure(lambda s: tf.TensorSpec([steps, *s.shape], s.dtype), spec_nest)


class RecurrentSACAgent(SACBase):
    """Soft actor-critic with a recurrent actor and recurrent critics, for partially observed
    tasks, with continuous, discrete and hybrid actions (everything `SACAgent` does: a
    temperature per head, `backup_entropy`, n-step returns, UTD, warm-up, checkpoints, resume,
    save and load).

    **Data.** The actor acts step by step, carrying its recurrent state; the Driver records that
    state every `stride = sequence_length - overlap` rows. `observe` cuts each rollout into
    sequences of `L = sequence_length` steps (plus the observation after the last), stored in a
    `SequenceReplay` with the actor's state at each start (`trajectory_sequences`).

    **An update** samples `batch_size` sequences. The actor starts from the stored state (R2D2's
    "stored state"), the critics from zeros; all of them run the first `B = burn_in` steps
    without gradient (R2D2's burn-in, which refreshes states that the actor computed with older
    weights), then the remaining `L - B` steps are trained on: the critics' loss on the
    real transitions among them (`valid`), with `n_step` targets `R_t + γ^m V̄(h_{t+m})`
    cut at episode ends and at the sequence's end, and the actor's and temperatures' losses at
    the same steps. States are reset inside a sequence where an episode starts.

    **Choices** (after Ni et al. 2022, "Recurrent Model-Free RL Can Be a Strong Baseline for
    Many POMDPs", and R2D2, Kapturowski et al. 2019):

    * Separate recurrent torsos for the actor and the critics (Ni et al. found a shared one
      unstable); the twin critics share one torso with two heads, as in their code, and so do
      the target critics. Each head sees `[torso output, observation features, action]`; an
      observation that is not a flat float `Box` is encoded first, in the torso, as the
      ready-made actors encode it (one-hot, the Nature CNN, an encoder per `Dict` key).
    * The actor's loss back-propagates into the actor (its recurrent layer included, through
      the trained steps) but not into the critics' torso, whose features it treats as fixed.
    * Only the actor's state is stored: the critics' states are not known when acting (the
      actor does not run the critics), so they start from zeros and rely on the burn-in.
    * Inputs are the observations alone. Ni et al. also feed the previous action and reward;
      the Driver's timestep does not carry them, so wrap the environment to add them to the
      observation where a task needs them.
    * `burn_in` rows of each rollout's first sequence are seen only as burn-in; with
      `overlap > 0` every other row is trained on.

    Args:
        actor_model: A recurrent Keras actor (`rf.networks.sac_actor(env, recurrent="gru")` builds
            one): inputs `{"observation": [B, T, ...], "episode_start": [B, T], "state": ...}`,
            outputs `{"action": heads, "state": ...}` (see `KerasPolicy`).
        env: The `EnvSpec` (or an `Environment`).
        config: A `RecurrentSACConfig`.

    Raises:
        TypeError: For arguments of the wrong type.
        ValueError: For a memoryless actor (use `SACAgent`), an actor that does not take
            sequences, a `critic` (the critics are built from the config), or heads that do not
            cover the action space.

    Example:
        >>> env = rf.GymEnv("reinforceable/PendulumNoVel-v1", num_envs=1, seed=0)
        >>> actor = rf.networks.sac_actor(env, recurrent="gru")
        >>> agent = RecurrentSACAgent(actor, env, RecurrentSACConfig(learning_rate=1e-3))
        >>> agent.fit(50_000)
    """

    config_class = RecurrentSACConfig

    def __init__(
        self,
        actor_model: keras.Model,
        env: EnvSpec | Environment,
        config: RecurrentSACConfig | None = None,
        critic: keras.Model | None = None,
    ):
        if critic is not None:
            raise ValueError(
                "RecurrentSACAgent: `critic` is not supported; the recurrent critics are built "
                "from the config (`cell`, `units`, `embedding`, `hidden`)."
            )
        if config is not None and getattr(config, "hindsight", None) is not None:
            raise ValueError(
                "RecurrentSACAgent: `hindsight` replay of whole sequences is not built yet; "
                "use SACAgent or TD3Agent with a memoryless actor for goal tasks."
            )
        if config is not None and getattr(config, "crossq", False):
            raise ValueError(
                "RecurrentSACAgent: `crossq` is not built for recurrent critics yet; use SACAgent."
            )
        if config is not None and getattr(config, "normalize_observations", False):
            raise ValueError(
                "RecurrentSACAgent: `normalize_observations` is not built for replayed "
                "sequences yet; use SACAgent or TD3Agent, or normalise in the model."
            )
        super().__init__(actor_model, env, config)

    # ---------------------------------------------------------------------------- parts

    def _check_actor(self, actor: keras.Model) -> None:
        if not recurrent_layers(actor):
            raise ValueError(
                "RecurrentSACAgent: the actor is memoryless (no StatefulRNN layers), but the "
                "critics are recurrent; use SACAgent for a memoryless actor, or build a recurrent "
                "one (rf.networks.sac_actor(env, recurrent='gru'))."
            )

    def _example_distributions(self, example):
        policy = self.learner_policy
        if not policy.takes_sequences:
            raise ValueError(
                "RecurrentSACAgent: the actor must take [batch, time, ...] sequences (declare a "
                "time axis on its inputs, as rf.networks.sac_actor(env, recurrent=...) does)."
            )
        observation = tf.nest.map_structure(lambda x: x[:, None], example.observation)
        batch = tf.shape(example.reward)[0]
        distributions, _, _ = policy.sequence_distributions(
            observation, example.episode_start[:, None], policy.initial_state(batch)
        )
        return distributions

    def _build_critics(self, spec: EnvSpec, critic: keras.Model | None) -> None:
        config = self.config
        dim, space = features_dim(spec.observation_spec), spec.observation_space
        self.critic_torso, self.target_critic_torso = (
            recurrent_torso(dim, config.cell, config.units, config.embedding, name, space)
            for name in ("critic_torso", "target_critic_torso")
        )
        self.target_critic_torso.set_weights(self.critic_torso.get_weights())
        encoded_dim = self.critic_torso.output["encoded"].shape[-1]
        head_dim = config.units + encoded_dim + self.codec.action_dim
        self.critics, self.target_critics = critics_from(
            None, head_dim, config.hidden, count=config.n_critics, dropout=config.critic_dropout
        )

    def _critic_models(self) -> list[keras.Model]:
        return [self.critic_torso, *self.critics]

    def _target_critic_models(self) -> list[keras.Model]:
        return [self.target_critic_torso, *self.target_critics]

    def _make_buffer(self, spec: EnvSpec) -> SequenceReplay:
        config = self.config
        length = config.sequence_length
        steps = {
            "observation": _with_time(spec.observation_spec, length + 1),
            "episode_start": tf.TensorSpec([length + 1], tf.bool),
            "action": _with_time(spec.action_spec, length),
            "reward": tf.TensorSpec([length], tf.float32),
            "terminated": tf.TensorSpec([length], tf.bool),
            "truncated": tf.TensorSpec([length], tf.bool),
            "valid": tf.TensorSpec([length], tf.bool),
        }
        state = tf.nest.map_structure(
            lambda x: tf.TensorSpec(x.shape[1:], x.dtype), self.learner_policy.initial_state(1)
        )
        return SequenceReplay(
            steps,
            state,
            config.buffer_capacity // config.stride,
            prioritized=config.prioritized,
            priority_exponent=config.priority_exponent,
            importance_exponent=config.importance_exponent,
        )

    @property
    def collection(self) -> Collection:
        """`steps_per_iteration` steps per environment, the actor's state recorded every
        `stride` rows."""
        return Collection(
            steps_per_env=self.config.steps_per_iteration, sequence_length=self.config.stride
        )

    # ---------------------------------------------------------------------------- learning

    def _add(self, trajectory: Trajectory):
        steps, states = trajectory_sequences(
            trajectory, self.config.sequence_length, self.config.overlap
        )
        self.buffer.add(steps, states)
        self.env_steps.assign_add(tf.size(trajectory.reward, tf.int64))

    def _observe(self, trajectory: Trajectory) -> None:
        """Stores the trajectory's sequences and their recorded states."""
        stride = self.config.stride
        rows = int(trajectory.reward.shape[0])
        leaves = tf.nest.flatten(trajectory.sequence_states)
        if not leaves or rows % stride or leaves[0].shape[0] != rows // stride:
            raise ValueError(
                f"RecurrentSACAgent.observe: the trajectory must record the actor's state every "
                f"{stride} rows (`sequence_length - overlap`) over a multiple of {stride} rows: "
                f"collect with Driver(..., sequence_length={stride}) (agent.collection says so); "
                f"received {rows} rows and "
                f"{leaves[0].shape[0] if leaves else 'no'} recorded states."
            )
        if rows < self.config.sequence_length:
            raise ValueError(
                f"RecurrentSACAgent.observe: a sequence of {self.config.sequence_length} steps "
                f"does not fit a trajectory of {rows} rows."
            )
        super()._observe(trajectory)

    def _torso(self, torso, features, episode_start, state):
        """The torso's recurrent features, its encoding of the observation and its final state."""
        outputs = torso({"features": features, "episode_start": episode_start, "state": state})
        return outputs["features"], outputs["encoded"], outputs["state"]

    def _gradients(self, seed, batch=None) -> Gradients:
        """One update's gradients on `batch_size` replayed sequences (see the class docstring);
        always from its own `SequenceReplay` (`batch` is for `SACAgent`'s shared replay)."""
        sample_seed, actor_seed = tf.unstack(tf.random.split(seed, 2))
        # NoisyDense layers (none in most actors) hold fresh noise over each sequence.
        noise_seed = tf.random.experimental.stateless_fold_in(seed, 1)
        with sampled_noise(self.model, self.config.batch_size, noise_seed):
            return self.sequence_gradients(
                self.buffer.sample(self.config.batch_size, sample_seed), actor_seed
            )

    def sequence_gradients(self, batch: SequenceBatch, seed) -> Gradients:
        """The gradients of the critics', actor's and temperatures' losses on a batch of
        sequences (`SequenceReplay.sample`'s), with the actor's samples drawn from `seed`; sets
        the sequences' priorities where the replay is prioritised."""
        config, codec, policy = self.config, self.codec, self.learner_policy
        burn, length = config.burn_in, config.sequence_length
        n = tf.nest.flatten(batch.steps)[0].shape[0]
        trained = length - burn
        actor_seed = seed
        steps = batch.steps
        observation, starts = steps["observation"], steps["episode_start"]
        obs_features = sequence_features(observation)  # [N, L+1, D]
        alpha_c, alpha_d = self._temperatures()

        # Burn-in: the stored actor state and zero critic states run B steps, without gradient.
        actor_state = batch.state
        critic_state = zero_state(self.critic_torso, n)
        if burn:
            head = lambda x: x[:, :burn]  # noqa: E731
            _, _, actor_state = policy.sequence_distributions(
                tf.nest.map_structure(head, observation), head(starts), actor_state
            )
            _, _, critic_state = self._torso(
                self.critic_torso, head(obs_features), head(starts), critic_state
            )
            actor_state = tf.nest.map_structure(tf.stop_gradient, actor_state)
            critic_state = tf.nest.map_structure(tf.stop_gradient, critic_state)
        tail = lambda x: x[:, burn:]  # noqa: E731  steps B .. L: L - B + 1 rows
        flat = lambda x: tf.reshape(x, [-1, *x.shape[2:]])  # noqa: E731  [N, T, ...] -> [N·T, ...]
        rows = trained + 1

        # The target torso runs the whole sequence from zeros (it carries no gradient anyway).
        target_h, target_encoded, _ = self._torso(
            self.target_critic_torso, obs_features, starts, zero_state(self.target_critic_torso, n)
        )
        target_in = flat(tf.concat([tail(target_h), tail(target_encoded)], 2))  # [N·(L-B+1), .]

        with tf.GradientTape(persistent=True) as tape:
            distributions, _, _ = policy.sequence_distributions(
                tf.nest.map_structure(tail, observation), tail(starts), actor_state
            )
            c, log_pc, pd, entropy_d = codec.sample(distributions, n * rows, actor_seed)
            online_h, online_encoded, _ = self._torso(
                self.critic_torso, tail(obs_features), tail(starts), critic_state
            )
            online_in = tf.concat([online_h, online_encoded], 2)[:, :trained]
            online_in = flat(online_in)  # [N·(L-B), U + F]

            # Targets: soft values of the next rows from the target critics, n-step returns.
            backup_d, backup_c = self.entropy_backup
            stop = tf.stop_gradient
            training = self._critic_training
            next_q = codec.q_all(
                self.target_critics,
                target_in,
                stop(c),
                subset=self._critic_subset(seed),
                training=training,
            )
            values = soft_state_value(
                next_q,
                stop(pd),
                stop(entropy_d),
                stop(log_pc),
                backup_d * alpha_d,
                backup_c * alpha_c,
            )
            target, mask = self._targets(steps, tf.reshape(values, [n, rows]))
            weights = flat(mask * batch.weights[:, None])

            stored_c, stored_d = codec.encode(
                tf.nest.map_structure(lambda x: flat(tail(x)), steps["action"])
            )
            inputs = tf.concat([online_in, stored_c, stored_d], 1)
            qs = [critic(inputs, training=training) for critic in self.critics]
            q_loss = critic_loss(qs, flat(target), weights)

            # The actor and temperatures, on its own samples at the trained steps.
            def now(x):
                return flat(tf.reshape(x, [n, rows, *x.shape[1:]])[:, :trained])

            c_now, log_pc_now, pd_now, entropy_now = now(c), now(log_pc), now(pd), now(entropy_d)
            q_pi = codec.q_all(
                self.critics, stop(online_in), c_now, self._actor_reduce, training=training
            )
            pi_loss = actor_loss(q_pi, pd_now, entropy_now, log_pc_now, alpha_d, alpha_c, weights)
            alpha_loss = self._temperature_loss(log_pc_now, entropy_now, weights)
        critic_grads = tape.gradient(q_loss, self._critic_variables)
        if config.prioritized:
            td = tf.reshape(flat(target) - tf.reduce_min(tf.stack(qs), 0), [n, trained])
            self.buffer.update_priorities(
                batch.indices, sequence_priority(td, mask, config.priority_eta)
            )
        return self._gradients_of(
            tape, critic_grads, q_loss, pi_loss, alpha_loss, qs[0], log_pc_now, entropy_now
        )

    def _targets(self, steps, values) -> tuple[tf.Tensor, tf.Tensor]:
        """n-step targets `R_t + γ_t V(h_{t+m})` of the trained steps, `[N, L - B]`, and the
        mask of those that are real transitions, from the soft values `[N, L - B + 1]` of steps
        `B .. L`."""
        burn = self.config.burn_in

        def time_major(name):
            return tf.transpose(steps[name][:, burn:])

        returns, discounts, next_index = n_step_returns(
            time_major("reward"),
            time_major("terminated"),
            time_major("truncated"),
            time_major("valid"),
            self.config.discount,
            self.config.n_step,
        )  # [L - B, N]; next_index in [1, L - B]
        following = gather_following(tf.transpose(values), next_index)
        target = tf.transpose(returns + discounts * following)
        return target, tf.cast(tf.transpose(time_major("valid")), tf.float32)

    # ---------------------------------------------------------------------------- state

    def saved_state(self) -> dict[str, Any]:
        return {
            **super().saved_state(),
            "critic_torso": self.critic_torso,
            "target_critic_torso": self.target_critic_torso,
        }
