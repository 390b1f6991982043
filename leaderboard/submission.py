"""A submission: the results directory of `benchmark run` plus the submitter's metadata and,
optionally, an ONNX policy; read and checked before anything is stored. (About 460 lines on
purpose: every check a submission passes, in one file, so the list below and the code that
makes it are read together.)

A submission directory holds `results.json` (as `benchmark run` wrote it),
`submission.json` (the metadata: method, authors, link, training steps and wall time,
whether the method used the reference clips at training time, optionally its learning
curve) and optionally `policy.onnx`. The checks, each refusal naming the file and field:

- sizes, before anything is read (`LIMITS`);
- JSON that parses, and the published schema (`schema/submission-v1.schema.json`);
- no non-finite number, except NaN where the protocol produces it: the error metrics of an
  episode that tracked no step, and a task mean that only such episodes make;
- protocol version and suite hash equal to the installed suite's; a controller agent (a
  diagnostic one such as `reference` is never ranked); the test split;
- every episode there once: each task's every test clip for every seed, no duplicate, no
  extra; each episode consistent in itself and with the installed clip's length;
- every aggregate recomputed from the episodes (`benchmark.runner.aggregate`) and equal to
  the submitted one;
- not the reference replayed, whatever `agent.is_controller` says: no controller tracks
  every clip with zero error;
- a policy that onnxruntime can load, with the tasks' observation and action sizes.

Nothing from a submission is executed: JSON is parsed, and a policy is only ever run by
onnxruntime (`leaderboard verify`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import tempfile
import unicodedata
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema

from benchmark.agents import BUILT_IN, AgentLoadError, OnnxAgent, is_controller
from benchmark.env import ImitationEnv
from benchmark.protocol import PROTOCOL_VERSION
from benchmark.runner import aggregate, plan
from benchmark.tasks import TASKS, get_task, suite_hash

RESULTS_FILE = "results.json"
METADATA_FILE = "submission.json"
POLICY_FILE = "policy.onnx"
SCHEMA_VERSION = 1
# bytes; a full suite run with 10 seeds is about 1 MB of results
# built-in agents that are not controllers (benchmark.agents): refused by name
DIAGNOSTIC_AGENTS = frozenset(n for n, a in BUILT_IN.items() if not is_controller(a))
LIMITS = {RESULTS_FILE: 16 << 20, METADATA_FILE: 1 << 20, POLICY_FILE: 64 << 20}
# episode metrics that are NaN when an episode tracked no step (it ended on its first)
UNTRACKED_NAN = (
    "mpjpe_mm",
    "mpjpe_root_relative_mm",
    "mpjpe_per_leg_length",
    "joint_rmse_rad",
    "velocity_error",
)
RELATIVE_TOLERANCE = 1e-9  # recomputed aggregates against submitted ones
# The reference replayed reads the float32 rounding of the shipped clips (up to 6 um), not 0;
# no controller tracks every clip within 0.1 mm.
REPLAY_MM, REPLAY_RAD = 0.1, 1e-5


class SubmissionError(ValueError):
    """A refused submission, with every reason found."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = list(reasons)
        super().__init__("submission refused:\n  - " + "\n  - ".join(self.reasons))


@dataclass(frozen=True)
class Submission:
    metadata: dict[str, Any]
    results: dict[str, Any]
    policy: bytes | None = None

    @property
    def document(self) -> dict[str, Any]:
        """What the schema describes and the store keeps."""
        return {"schema": SCHEMA_VERSION, "metadata": self.metadata, "results": self.results}

    @property
    def digest(self) -> str:
        """SHA-256 of the document and the policy: one submission lands once."""
        digest = hashlib.sha256(canonical_json(self.document).encode())
        digest.update(self.policy or b"")
        return digest.hexdigest()


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True)


@functools.cache
def schema() -> dict[str, Any]:
    """The published JSON Schema of a submission (version 1)."""
    text = files("leaderboard").joinpath("schema/submission-v1.schema.json").read_text()
    return json.loads(text)


def read_submission(
    directory: str | Path,
    *,
    policy: str | Path | None = None,
    metadata: dict[str, Any] | None = None,
) -> Submission:
    """Read a submission directory (sizes and JSON syntax checked; `validate` does the rest).

    `metadata` replaces `submission.json`; `policy` names a policy file other than
    `DIRECTORY/policy.onnx`.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise SubmissionError([f"{directory}: not a directory"])
    results = read_json(directory / RESULTS_FILE, RESULTS_FILE)
    if metadata is None:
        metadata = read_json(directory / METADATA_FILE, METADATA_FILE)
    metadata = _without_control_characters(metadata)
    policy_path = Path(policy) if policy else directory / POLICY_FILE
    policy_bytes = None
    if policy or policy_path.exists():
        _check_size(policy_path, POLICY_FILE)
        policy_bytes = policy_path.read_bytes()
    return Submission(metadata=metadata, results=results, policy=policy_bytes)


def _without_control_characters(metadata: dict[str, Any]) -> dict[str, Any]:
    """The names a person reads (method, authors) without control or format characters
    (an ESC or a right-to-left override would reach the terminal of `leaderboard list`)."""

    def clean(text: Any) -> Any:
        if not isinstance(text, str):
            return text
        return "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf"))

    cleaned = dict(metadata)
    if "method" in cleaned:
        cleaned["method"] = clean(cleaned["method"])
    if isinstance(cleaned.get("authors"), list):
        cleaned["authors"] = [clean(a) for a in cleaned["authors"]]
    return cleaned


def _check_size(path: Path, kind: str) -> None:
    if not path.is_file():
        raise SubmissionError([f"{path}: missing (a submission needs its {kind})"])
    size = path.stat().st_size
    if size > LIMITS[kind]:
        raise SubmissionError(
            [f"{path}: {size} bytes, over the {LIMITS[kind]}-byte limit for {kind}"]
        )


def read_json(path: Path, kind: str) -> dict[str, Any]:
    _check_size(path, kind)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SubmissionError([f"{path}: not valid JSON ({error})"]) from None
    except RecursionError:
        raise SubmissionError([f"{path}: JSON nested too deeply to be a submission"]) from None
    if not isinstance(value, dict):
        raise SubmissionError([f"{path}: expected a JSON object, found {type(value).__name__}"])
    return value


def validate(submission: Submission) -> None:
    """Raise `SubmissionError` with every reason the submission cannot be ranked."""

    validator = jsonschema.Draft202012Validator(schema())
    problems = [
        f"{_file_of(error.absolute_path)}: field '{_path(error.absolute_path)}': {error.message}"
        for error in sorted(validator.iter_errors(submission.document), key=lambda e: e.path)
    ]
    if problems:  # the checks below read the structure the schema guarantees
        raise SubmissionError(problems)
    results = submission.results
    problems += _non_finite(results)
    problems += _protocol(results)
    if problems:
        raise SubmissionError(problems)
    problems += _episodes(results)
    if not problems:
        problems += _aggregates(results)
    agent = results["agent"]
    named = sorted(DIAGNOSTIC_AGENTS & {agent["name"], agent.get("spec")})
    if named:  # by name, whatever the flag says
        problems.append(
            f"{RESULTS_FILE}: field 'agent' names {named[0]!r}, a diagnostic agent (it replays "
            "the reference); it is never ranked"
        )
    if not problems and all(
        e["success"] and e["mpjpe_mm"] < REPLAY_MM and e["joint_rmse_rad"] < REPLAY_RAD
        for e in results["episodes"]
    ):
        problems.append(
            f"{RESULTS_FILE}: field 'episodes': every episode tracks with zero error (under "
            f"{REPLAY_MM} mm), as the diagnostic reference agent's replay does; it is never ranked"
        )
    if submission.policy is not None:
        problems += _policy(submission.policy, results["tasks"], results["agent"])
    if problems:
        raise SubmissionError(problems)


def load(
    directory: str | Path,
    *,
    policy: str | Path | None = None,
    metadata: dict[str, Any] | None = None,
) -> Submission:
    """Read and validate a submission directory."""
    submission = read_submission(directory, policy=policy, metadata=metadata)
    validate(submission)
    return submission


# -- the checks ------------------------------------------------------------------------------
def _file_of(path) -> str:
    parts = list(path)
    return METADATA_FILE if parts[:1] == ["metadata"] else RESULTS_FILE


def _path(path) -> str:
    parts = list(path)[1:] if list(path)[:1] in (["metadata"], ["results"]) else list(path)
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _non_finite(results: dict[str, Any]) -> list[str]:
    problems = []

    def walk(value: Any, where: list) -> None:
        if (
            isinstance(value, float)
            and not math.isfinite(value)
            and not _allowed_nan(value, where, results)
        ):
            problems.append(f"{RESULTS_FILE}: field '{_path(where)}': non-finite number {value}")
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, [*where, key])
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, [*where, index])

    walk(results, [])
    return problems


def _allowed_nan(value: float, where: list, results: dict[str, Any]) -> bool:
    if not math.isnan(value):
        return False  # infinity is never a protocol value
    if len(where) == 3 and where[0] == "episodes" and where[2] in UNTRACKED_NAN:
        episode = results["episodes"][where[1]]
        return _tracked_steps(episode) <= 0
    # a task mean over episodes that are all NaN; `_aggregates` checks that it is so
    return len(where) == 3 and where[0] == "results" and where[2] in UNTRACKED_NAN


def _tracked_steps(episode: dict[str, Any]) -> int:
    """Steps the errors average over: all of them, less a terminating or failing one."""
    return episode["steps"] - (0 if episode["success"] else 1)


def _protocol(results: dict[str, Any]) -> list[str]:

    problems = []
    if results["protocol"] != PROTOCOL_VERSION:
        problems.append(
            f"{RESULTS_FILE}: field 'protocol' is {results['protocol']!r}; the installed suite "
            f"scores protocol {PROTOCOL_VERSION!r}"
        )
    if results["split"] != "test":
        problems.append(
            f"{RESULTS_FILE}: field 'split' is {results['split']!r}; the board ranks the test "
            "split (benchmark run --split test)"
        )
    if not results["agent"]["is_controller"]:
        problems.append(
            f"{RESULTS_FILE}: field 'agent.is_controller' is false: {results['agent']['name']} "
            "is diagnostic (it replays the reference) and is never ranked"
        )

    if not results["complete"]:
        problems.append(
            f"{RESULTS_FILE}: field 'complete' is false: the run was interrupted "
            "(finish it with benchmark run --resume)"
        )
    unknown = [t for t in results["tasks"] if t not in TASKS]
    if unknown:
        problems.append(
            f"{RESULTS_FILE}: field 'tasks' names unknown tasks {unknown}; "
            f"the installed suite has {', '.join(TASKS)}"
        )
    return problems


def _episodes(results: dict[str, Any]) -> list[str]:

    tasks = [get_task(t) for t in results["tasks"]]
    problems = []
    installed = suite_hash(tasks)
    if results["suite_hash"] != installed:
        problems.append(
            f"{RESULTS_FILE}: field 'suite_hash' is {results['suite_hash'][:12]}; the installed "
            f"suite for these tasks is {installed[:12]} (other clips or models were scored)"
        )
        return problems
    expected = {job.key: job for job in plan(tasks, "test", results["seeds"])}
    seen: dict[str, int] = {}
    lengths = {t.id: {c.name: len(c.qpos) - 1 for c in t.load_clips("test")} for t in tasks}

    muscles = {t.id: t.body.model().nu for t in tasks}
    for index, episode in enumerate(results["episodes"]):
        where = f"{RESULTS_FILE}: field 'episodes[{index}]'"
        key = f"{episode['task']}|{episode['seed']}|{episode['clip']}"
        if episode["key"] != key:
            problems.append(f"{where}: key {episode['key']!r} does not match its fields ({key})")
        if key in seen:
            problems.append(f"{where}: duplicate episode {key} (also episodes[{seen[key]}])")
            continue
        seen[key] = index
        if key not in expected:
            problems.append(f"{where}: episode {key} is not in the run's plan")
            continue
        problems += [f"{where}: {p}" for p in _episode_consistency(episode, lengths, muscles)]
    missing = sorted(set(expected) - set(seen))
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        problems.append(f"{RESULTS_FILE}: field 'episodes': missing {len(missing)}: {shown}")
    counts = {
        "episodes_total": len(expected),
        "episodes_done": len(results["episodes"]),
        "episodes_failed": sum(e["failure"] is not None for e in results["episodes"]),
    }
    for field, count in counts.items():
        if results[field] != count:
            problems.append(
                f"{RESULTS_FILE}: field '{field}' is {results[field]}, expected {count}"
            )
    return problems


def _episode_consistency(
    episode: dict[str, Any], lengths: dict[str, dict[str, int]], muscles: dict[str, int]
) -> list[str]:
    problems = []
    activations, expected = len(episode["mean_activation"]), muscles[episode["task"]]
    if activations != (expected if episode["steps"] else 0):
        problems.append(
            f"mean_activation has {activations} values; the body of {episode['task']} has "
            f"{expected} muscles (none for an episode of no step)"
        )
    clip_steps = lengths[episode["task"]][episode["clip"]]
    if episode["clip_steps"] != clip_steps:
        problems.append(
            f"clip_steps is {episode['clip_steps']}; clip {episode['clip']} has {clip_steps}"
        )
    if episode["steps"] > episode["clip_steps"]:
        problems.append(f"steps {episode['steps']} exceed the clip's {episode['clip_steps']}")
    if episode["success"]:
        if episode["steps"] != episode["clip_steps"] or episode["failure"] is not None:
            problems.append("success, but the episode did not run the whole clip cleanly")
        if episode["coverage"] != 1.0:
            problems.append(f"success with coverage {episode['coverage']}")
    elif not math.isclose(episode["coverage"], episode["steps"] / episode["clip_steps"]):
        problems.append(
            f"coverage {episode['coverage']} is not steps / clip_steps "
            f"({episode['steps']} / {episode['clip_steps']})"
        )
    if episode["strict_coverage"] > episode["coverage"] + 1e-12:
        problems.append("strict_coverage exceeds coverage")
    if episode["strict_success"] and not episode["success"]:
        problems.append("strict_success without success")
    return problems


def _aggregates(results: dict[str, Any]) -> list[str]:

    tasks = [get_task(t) for t in results["tasks"]]
    recomputed = aggregate(tasks, "test", results["seeds"], results["episodes"])
    submitted = results["results"]
    problems = []
    if sorted(submitted) != sorted(recomputed):
        problems.append(
            f"{RESULTS_FILE}: field 'results' covers {sorted(submitted)}; the run's tasks are "
            f"{sorted(recomputed)}"
        )
    for task, summary in recomputed.items():
        for path, mine, theirs in _compare(summary, submitted.get(task, {}), [task]):
            problems.append(
                f"{RESULTS_FILE}: field 'results.{path}' is {theirs}; the episodes give {mine}"
            )
    return problems


def _compare(mine: Any, theirs: Any, where: list[str]):
    """(path, recomputed, submitted) for every value that differs."""
    path = ".".join(str(p) for p in where)
    if isinstance(mine, dict):
        if not isinstance(theirs, dict):
            yield path, "an object", theirs
            return
        for key in sorted(set(mine) | set(theirs)):
            if key not in theirs:
                yield f"{path}.{key}", mine[key], "missing"
            elif key not in mine:
                yield f"{path}.{key}", "nothing", theirs[key]
            else:
                yield from _compare(mine[key], theirs[key], [*where, key])
    elif isinstance(mine, list):
        if not isinstance(theirs, list) or len(theirs) != len(mine):
            yield path, mine, theirs
            return
        for index, (a, b) in enumerate(zip(mine, theirs, strict=True)):
            yield from _compare(a, b, [*where[:-1], f"{where[-1]}[{index}]"])
    elif not _same_number(mine, theirs):
        yield path, mine, theirs


def _same_number(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, int | float):
        return a == b
    if not isinstance(b, int | float):
        return False
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12)


def _policy(policy: bytes, task_ids: list[str], agent_record: dict[str, Any]) -> list[str]:

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / POLICY_FILE
        path.write_bytes(policy)
        try:
            agent = OnnxAgent(path)
        except AgentLoadError as error:
            return [f"{POLICY_FILE}: {str(error).split(': ', 1)[-1]}"]
    problems = []
    if agent.action_interface != agent_record["action_interface"]:
        problems.append(
            f"{POLICY_FILE}: acts through interface {agent.action_interface!r} (its metadata); "
            f"{RESULTS_FILE} field 'agent.action_interface' is "
            f"{agent_record['action_interface']!r}"
        )
    for task in task_ids:
        env = ImitationEnv(task, split="test", evaluation=True)
        sizes = {"observation": env.observation_size, "action": env.action_space.shape[0]}
        for what, size in sizes.items():
            mine = getattr(agent, f"{what}_size")
            if mine is not None and mine != size:
                problems.append(
                    f"{POLICY_FILE}: takes {what}s of size {mine}; task {task} has {size}"
                )
    return problems
