"""The benchmark's own command groups; `benchmark.cli` assembles them with the groups that
other packages register (see its docstring)."""
