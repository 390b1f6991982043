"""The benchmark: tasks, the imitation environment, metrics, the scoring protocol and the
`benchmark` command."""
