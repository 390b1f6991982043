"""The baselines' `benchmark` commands, `train` and `compare`, registered through the
`crossmimic.commands` entry point (the benchmark's CLI sits below the baselines in the data
flow, so it discovers them rather than importing them). `train`'s options are made from
`TrainConfig`'s fields: the dataclass is the one place a setting is defined."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

from baselines.compare import RunFolderError, compare, load_run, plot
from baselines.config import BACKENDS, PROXIMAL, TrainConfig
from benchmark.tables import format_table
from retargeting.files import check_output


def _train(args: argparse.Namespace) -> int:
    # torch: imported by `train` only, not for every command
    from baselines.ppo import train  # noqa: PLC0415
    from baselines.run_files import CheckpointError  # noqa: PLC0415

    out = args.output or Path("runs") / f"{args.task}-{args.algo}-seed{args.seed}"
    try:
        config = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
        final = train(config, out, resume=args.resume, progress=not args.quiet)
    except (CheckpointError, FileExistsError, ImportError, ValueError, FloatingPointError) as error:
        print(f"benchmark: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted; checkpoint in {out}; --resume continues", file=sys.stderr)
        return 130
    summary = final["summary"]
    rows = [[key, round(summary[key], 3)] for key in ("mpjpe_mm", "coverage", "success")]
    rows.append(["steps/s (with updates)", final["steps_per_s"]])
    print(format_table(["final, test clips", "value"], rows))
    print(f"\n{out}: curve.csv, final.json, policy.pt, policy.onnx")
    return 0


def _compare(args: argparse.Namespace) -> int:

    for output in (args.output, args.plot):
        if output is not None:
            check_output(output, [], args.overwrite)
    try:
        runs = [load_run(path) for path in args.runs]
        report = compare(runs, reps=args.reps)
    except RunFolderError as error:
        print(f"benchmark: {error}", file=sys.stderr)
        return 2
    rows = []
    for algo, entry in report["algorithms"].items():
        estimate = entry["estimates"]
        reach = estimate.get("steps_to_threshold")
        reached = f"{entry['reached']}/{len(entry['seeds'])}"
        if reach:
            low, high = reach["iqm_ci95"]
            reached += f" IQM {reach['iqm']:.0f} [{low:.0f}, {high:.0f}]"
        row = [algo, len(entry["seeds"])]
        for key in ("mpjpe_mm", "joint_rmse_rad", "activation_volume", "coverage", "success"):
            value = estimate[key]
            low, high = value["iqm_ci95"]
            row.append(f"{value['iqm']:.3g} [{low:.3g}, {high:.3g}]")
        row += [f"{estimate['mpjpe_area_mm']['iqm']:.1f}", reached]
        rows.append(row)
    headers = ["setup", "seeds", "MPJPE mm", "joint RMSE rad", "act. volume", "coverage"]
    headers += ["success"]
    headers += ["MPJPE area mm", f"reached {report['threshold_mm']:.0f} mm (steps)"]
    print(f"{report['task']}: final policies, IQM [95% CI] over seeds")
    print(format_table(headers, rows))
    for ratio in report["ratios"]:
        first, second = ratio["setups"]
        low, high = ratio["ci95"]
        print(
            f"steps to {report['threshold_mm']:.0f} mm, {first} / {second}: "
            f"{ratio['ratio']:.2f} [{low:.2f}, {high:.2f}] "
            f"(IQM ratio, 95% CI, over the seeds that reached it: "
            f"{ratio['reached'][0]} and {ratio['reached'][1]})"
        )
    if args.output:
        args.output.write_text(json.dumps(report, indent=1))
    if args.plot:
        plot(runs, args.plot, report["threshold_mm"])
        print(f"plot: {args.plot}")
    return 0


# `train`'s help per TrainConfig field; the flags, types and defaults come from the dataclass
HELP = {
    "task": "task id",
    "algo": "ppo | dep-ppo",
    "steps": "environment steps in all",
    "seed": "seeds the networks, the environments' resets and the sampling",
    "learning_rate": "Adam's step size",
    "envs": "parallel environments",
    "rollout": "steps per environment per iteration",
    "epochs": "passes over each rollout",
    "minibatches": "minibatches per pass",
    "gamma": "discount",
    "gae_lambda": "GAE lambda",
    "clip": "PPO's ratio clip",
    "dual_clip": "bound the objective of a negative advantage at c x the advantage, c > 1 "
    "(dual-clip PPO, Ye et al. 2020; c = 3 there); default: no bound",
    "value_coef": "value loss weight",
    "max_grad_norm": "gradient norm clip",
    "policy_learning_rate": "the actor's own Adam rate (Kinesis: 5e-5); default: "
    "--learning-rate for both networks",
    "target_kl": "stop an update's epochs once a minibatch's KL from the rollout's policy "
    "exceeds 1.5 x this (default: no stop)",
    "target_kl_stops": "what --target-kl stops: update (both networks) | actor (the value "
    "function takes its remaining minibatch steps)",
    "adaptive_kl": "adapt the learning rates to this KL: each falls by 1.5x when a minibatch's "
    "KL from the rollout's policy exceeds twice it, rises by 1.5x below half of it, within "
    "[1e-5, 1e-2] (rsl_rl's schedule; MyoSuite's leg walking: 0.01); default: off",
    "anneal_lr": "every learning rate falls linearly from its setting to 0 at --steps "
    "(CleanRL's default; a run continued to more steps follows the new --steps); default: off",
    "value_normalization": "the critic learns the returns scaled by their running mean and "
    "variance (rl_games's normalize_value); default: off",
    "hidden": "layer widths",
    "init_log_std": "initial log standard deviation of the policy",
    "exploration": "the policy's noise: diagonal (independent per action) | lattice (also on "
    "the last hidden layer, correlated across actions: Chiappa et al. 2023, Kinesis)",
    "eval_every": "steps between evaluations on the test clips",
    "threads": "torch threads in the update",
    "workers": "processes stepping the environments (default: one per core)",
    "overlap": "collect the next rollout with the last update's policy while the learner "
    "updates (PPO, CPU; each rollout's policy is one update old); default: off",
    "proximal": "under --overlap, the policy PPO's clip is taken against: behaviour (the "
    "rollout's, one update old) | learner (the learner's as the update starts, each sample "
    "weighted by learner / behaviour probability truncated at 1: the decoupled objective of "
    "Hilton et al. 2022)",
    "dep_preset": "myosuite_legs | ostrich (default: the one for the task's body)",
    "dep_warmup": "DEP-only steps (default: the preset's)",
    "dep_intervention_proba": "chance per step that DEP starts an intervention, stochastic "
    "switching (default: the preset's, 0.0004)",
    "dep_intervention_length": "DEP steps per intervention (default: the preset's)",
    "switching": "when DEP acts: stochastic | deterministic",
    "rl_length": "policy steps between DEP blocks (deterministic switching)",
    "dep_actions": "DEP's actions in the update: policy-logprob | exclude | exclude-warmup",
    "dep_original": "reproduce the reference DEP-RL's quirks",
    "action_interface": "how actions reach the muscles: excitation | muscle_length | "
    "reference_length | joint_target",
    "termination": "how training episodes end: mean-error (protocol v1's) | any-keypoint "
    "(Kinesis's)",
    "termination_distance": "metres x size scale (default: 0.5 for mean-error, 0.15 for "
    "any-keypoint)",
    "backend": "where training steps its environments: cpu | mjx (batched on the JAX "
    "device; pip install -e '.[gpu]'); evaluation always runs on the CPU",
    "termination_tilt": "also end training episodes when the root tilts more than this many "
    "radians from upright (CPU backend only)",
    "pose_reward": "weight w of DeepMimic's pose term in the training reward: (1 - w) protocol "
    "reward + w exp(-2 (root angle^2 + joint errors^2)); 0 off (CPU backend only)",
    "assist": "scale in [0, 1] of a torque on the root toward the reference's orientation in "
    "training, falling linearly to 0 at --assist-until (CPU backend only); 0 off",
    "assist_until": "the step at which the training assist reaches 0",
    "termination_curriculum": "adapt the distance from its start down to 0.1 m as fewer "
    "episodes terminate (MuscleMimic's rule)",
}
CHOICES = {
    "algo": ("ppo", "dep-ppo"),
    "backend": BACKENDS,
    "switching": ("stochastic", "deterministic"),
    "dep_actions": ("policy-logprob", "exclude", "exclude-warmup"),
    "exploration": ("diagonal", "lattice"),
    "target_kl_stops": ("update", "actor"),
    "proximal": PROXIMAL,
}
TYPES = {"int": int, "float": float, "str": str}


def _config_options(parser: argparse.ArgumentParser) -> None:
    """One option per TrainConfig field: `--learning-rate` for `learning_rate`."""
    for item in fields(TrainConfig):
        flag = "--" + item.name.replace("_", "-")
        kind = str(item.type)
        options = {"help": HELP.get(item.name), "default": item.default}
        if kind == "bool":
            options["action"] = "store_true"
        elif kind.startswith("tuple["):
            options.update(type=int, nargs="+", default=list(item.default))
        else:
            options["type"] = TYPES[kind.split(" | ")[0]]
        if item.name in CHOICES:
            options["choices"] = CHOICES[item.name]
        parser.add_argument(flag, **options)


def register(commands: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to the `benchmark` parser."""
    p = commands.add_parser(
        "train",
        help="train a reference baseline (PPO or DEP-PPO)",
        description="Train on the task's training clips, evaluate on its test clips every "
        "--eval-every steps; writes DIR/curve.csv, curve.json, checkpoint.pt (every "
        "iteration), evaluated/STEPS/ (each evaluated policy), final.json, policy.pt and "
        "policy.onnx. --resume continues exactly.",
    )
    _config_options(p)
    p.add_argument("-o", "--output", type=Path, help="run folder (default runs/TASK-ALGO-seedS)")
    p.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint.pt")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_train)

    p = commands.add_parser(
        "compare",
        help="sample efficiency and final metrics of training runs, across seeds",
        description="Steps until test MPJPE first reaches 100 mm x size scale, area under the "
        "MPJPE curve, final metrics; interquartile means with 95%% stratified-bootstrap "
        "intervals (rliable) per algorithm.",
    )
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR")
    p.add_argument("--plot", type=Path, help="learning-curve PNG")
    p.add_argument("-o", "--output", type=Path, help="write the comparison as JSON")
    p.add_argument("--reps", type=int, default=2000, help="bootstrap resamples")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.set_defaults(handler=_compare)
