"""actor_critic: heads for every action space, recurrent or not, shared or separate torsos."""

import keras
import pytest

import reinforceable as rf
from reinforceable.networks import actor_critic


@pytest.mark.parametrize("recurrent", [None, "gru", "lstm"])
@pytest.mark.parametrize("shared_torso", [False, True])
def test_outputs_and_torsos(recurrent, shared_torso):
    env = rf.GymEnv("reinforceable/MixedAction2D-v0", num_envs=3, seed=0)
    model = actor_critic(env, hidden=(8,), recurrent=recurrent, units=4, shared_torso=shared_torso)
    policy = rf.KerasPolicy(model)
    timestep = env.example_timestep()
    policy.build(timestep)
    step = policy.step(timestep, policy.initial_state(3), seed=[0, 0])
    assert set(step.action) == {"axis", "move", "done"}
    assert step.extras["value"].shape == (3,)
    assert len(rf.layers.recurrent_layers(model)) == (0 if recurrent is None else 2 - shared_torso)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert len(dense) == (1 if shared_torso else 2) + 1  # torso layers + the value layer
    env.close()


def test_unsupported_spaces_are_rejected():
    env = rf.GymEnv("CartPole-v1", num_envs=1)
    with pytest.raises(ValueError, match="`recurrent`"):
        actor_critic(env, recurrent="rnn")
    env.close()
    env = rf.GymEnv("reinforceable/MixedAction2D-v0", num_envs=1)
    with pytest.raises(TypeError, match="Unsupported gymnasium space Text"):
        actor_critic(env.spec.replace(observation_space=rf.envs.specs.gym.spaces.Text(5)))
