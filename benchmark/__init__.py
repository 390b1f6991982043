"""The benchmark: tasks, the imitation environment, metrics, the scoring protocol and the
`benchmark` command.

    >>> import benchmark, gymnasium
    >>> env = gymnasium.make("crossmimic/legs80-walk-v1")
"""

from benchmark.tasks import register_environments

register_environments()
