"""The real ostrich clips split once for every use: the `ostrich-run-real` task trains on
`OSTRICH_TRAIN` and is scored on `OSTRICH_TEST`, and the priors of the human -> ostrich
retargeter (`posture_prior`, `cadence_prior`) are fitted without the test clips, so
`benchmark gait-compare` checks them on clips they never saw. (The human tasks' splits are
the task definitions', `benchmark.tasks`.)"""

OSTRICH_TRAIN = ("0005", "0006", "0010", "0012", "0029", "0031", "cyclic")
OSTRICH_TEST = ("0035", "0047", "0048", "0050")
