"""Shared-memory parallel sampling: the same numbers as Gymnasium's AsyncVectorEnv, whether
the workers poll or block between steps; faults in a worker reported, workers gone after
close."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

from benchmark.vector import SharedMemoryVectorEnv


def _make_env():
    from benchmark.env import ImitationEnv

    return ImitationEnv("legs80-walk", split="train")


def test_steps_match_gymnasiums_async_vector_env_exactly():
    count, seeds = 3, [5, 6, 7]
    reference = gymnasium.vector.AsyncVectorEnv(
        [_make_env] * count, autoreset_mode=gymnasium.vector.AutoresetMode.SAME_STEP
    )
    with SharedMemoryVectorEnv(_make_env, count, workers=2) as envs:
        np.testing.assert_array_equal(envs.reset(seed=seeds)[0], reference.reset(seed=seeds)[0])
        rng, ends = np.random.default_rng(0), 0
        for _ in range(120):  # random excitation: episodes end and reset on the way
            action = rng.uniform(-1, 1, (count, 80)).astype(np.float32)
            mine, theirs = envs.step(action), reference.step(action)
            for a, b in zip(mine[:4], theirs[:4], strict=True):
                np.testing.assert_array_equal(a, b)
            if mine[4]:
                mask = mine[4]["_final_obs"]
                ends += int(mask.sum())
                for index in np.flatnonzero(mask):
                    np.testing.assert_array_equal(
                        mine[4]["final_obs"][index], theirs[4]["final_obs"][index]
                    )
    reference.close()
    assert ends > 0  # the autoreset path was exercised


def test_polling_and_blocking_workers_give_the_same_steps():
    count, rng = 4, np.random.default_rng(1)
    with (
        SharedMemoryVectorEnv(_make_env, count, workers=2) as polling,
        SharedMemoryVectorEnv(_make_env, count, workers=2, spin_s=0.0) as blocking,
    ):
        np.testing.assert_array_equal(polling.reset(seed=3)[0], blocking.reset(seed=3)[0])
        for _ in range(20):
            action = rng.uniform(-1, 1, (count, 80)).astype(np.float32)
            for a, b in zip(polling.step(action)[:4], blocking.step(action)[:4], strict=True):
                np.testing.assert_array_equal(a, b)


def test_a_step_in_two_halves_is_the_step_and_halves_come_in_order():
    action = np.zeros((2, 80), np.float32)
    with (
        SharedMemoryVectorEnv(_make_env, 2, workers=2) as whole,
        SharedMemoryVectorEnv(_make_env, 2, workers=2) as halves,
    ):
        whole.reset(seed=0)
        halves.reset(seed=0)
        with pytest.raises(RuntimeError, match="step_wait called without step_async"):
            halves.step_wait()
        halves.step_async(action)
        with pytest.raises(RuntimeError, match="step_async called twice"):
            halves.step_async(action)
        with pytest.raises(RuntimeError, match="reset called between"):
            halves.reset(seed=0)
        for a, b in zip(whole.step(action)[:4], halves.step_wait()[:4], strict=True):
            np.testing.assert_array_equal(a, b)


def test_a_negative_spin_is_refused():
    with pytest.raises(ValueError, match="spin_s is -1.0; expected seconds >= 0"):
        SharedMemoryVectorEnv(_make_env, 2, workers=1, spin_s=-1.0)


class _Broken(gymnasium.Env):
    observation_space = gymnasium.spaces.Box(-1, 1, (2,), np.float32)
    action_space = gymnasium.spaces.Box(-1, 1, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        return np.zeros(2, np.float32), {}

    def step(self, action):
        raise ValueError("the physics blew up")


def test_a_fault_in_a_worker_is_raised_with_its_traceback():
    envs = SharedMemoryVectorEnv(_Broken, 2, workers=2)
    envs.reset(seed=0)
    with pytest.raises(RuntimeError, match="the physics blew up"):
        envs.step(np.zeros((2, 1), np.float32))
    assert envs.closed and not any(p.is_alive() for p in envs._processes)
    envs.close()  # closing twice is harmless


def test_set_attr_reaches_every_environment_and_info_keys_come_back():
    def make():
        from benchmark.env import ImitationEnv

        return ImitationEnv("legs80-walk", termination="any-keypoint", termination_distance=0.5)

    with SharedMemoryVectorEnv(make, 3, workers=2, info_keys=("episode_steps", "ended_by")) as envs:
        envs.reset(seed=0)
        action = np.zeros((3, 80), np.float32)
        _, _, terminated, _, info = envs.step(action)
        assert not terminated.any()
        assert info["episode_steps"].tolist() == [1.0, 1.0, 1.0]
        assert info["ended_by"].tolist() == [-1.0, -1.0, -1.0]
        envs.set_attr("termination_distance", 1e-6)  # any error at all ends an episode
        _, _, terminated, _, info = envs.step(action)
        assert terminated.all()
        assert (info["ended_by"] >= 0).all() and info["episode_steps"].tolist() == [2.0] * 3
        with pytest.raises(RuntimeError, match="between step_async and step_wait"):
            envs.step_async(action)
            envs.set_attr("termination_distance", 0.15)
        envs.step_wait()


def test_workers_die_with_a_parent_killed_by_sigkill(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, time\n"
        "from benchmark.vector import SharedMemoryVectorEnv\n"
        "from benchmark.runner import pool_worker_init\n"
        "import multiprocessing, os\n"
        "def make():\n"
        "    import gymnasium\n"
        "    return gymnasium.make('CartPole-v1')\n"
        "envs = SharedMemoryVectorEnv(make, 2, workers=2)\n"
        "pool = multiprocessing.get_context('fork').Pool(\n"
        "    1, pool_worker_init, ('zero', os.getpid()))\n"
        "children = [p.pid for p in envs._processes] + [p.pid for p in pool._pool]\n"
        "print(' '.join(map(str, children)), flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    children = [int(p) for p in parent.stdout.readline().split()]
    assert len(children) == 3
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=30)
    deadline = time.time() + 20
    alive = children
    while alive and time.time() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in alive if _alive(pid)]
    for pid in alive:  # leave no orphan behind when the test fails
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"workers {alive} outlived their parent"


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for init to reap it has ended
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
