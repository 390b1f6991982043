"""The crossmimic leaderboard: submissions of `benchmark run` results that are validated
(`submission`), stored (`store`), ranked (`ranking`), verified by re-running a submitted ONNX
policy (`verify`) and shown as a static site (`site`); the `leaderboard` command (`cli`).
It sits last in the data flow and reads the benchmark; nothing below imports it."""
