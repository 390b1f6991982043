"""Agents that misbehave, for the runner's tests (loaded by file path)."""

import numpy as np


class WrongShape:
    def act(self, observation):
        return np.zeros(3)


class Nan:
    def reset(self, task_info):
        self.size = task_info["action_size"]

    def act(self, observation):
        return np.full(self.size, np.nan)


class Raises:
    def act(self, observation):
        raise RuntimeError("boom")


class Mild:
    """A deterministic controller: constant low excitation."""

    def reset(self, task_info):
        self.size = task_info["action_size"]

    def act(self, observation):
        return np.full(self.size, -0.8, dtype=np.float32)


agent = Mild()


class Slow:
    """Takes its time, so a test can interrupt a run halfway."""

    def reset(self, task_info):
        self.size = task_info["action_size"]

    def act(self, observation):
        import time

        time.sleep(0.03)
        return np.zeros(self.size, dtype=np.float32)


class Exits:
    def act(self, observation):
        import sys

        sys.exit(3)


class Hangs:
    def act(self, observation):
        import time

        time.sleep(3600)
