"""The leaderboard: submissions validated (every tampering refused with its reason), stored
safely under concurrent submitters, ranked, and verified by re-running the policy. (About
430 lines: one fixture set of honest results serves every tampering case.)"""

from __future__ import annotations

import copy
import json
import math
import multiprocessing
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from benchmark.runner import aggregate, run
from benchmark.tasks import TASKS, get_task
from leaderboard.cli import main
from leaderboard.ranking import (
    clip_error_mm,
    cross_species,
    references,
    task_definition,
    task_standings,
)
from leaderboard.store import MIGRATIONS, DuplicateSubmission, Entry, Store, StoreError
from leaderboard.submission import (
    LIMITS,
    METADATA_FILE,
    RESULTS_FILE,
    SubmissionError,
    load,
    read_submission,
    validate,
)

METADATA = {
    "method": "zero excitation",
    "authors": ["A. Tester"],
    "link": "https://example.org/zero",
    "training_steps": 0,
    "training_wall_s": 0.0,
    "uses_reference_clips": False,
}


@pytest.fixture(scope="module")
def zero_dir(tmp_path_factory):
    """A real submission: the zero agent on legs80-walk, seeds 0 and 1 (4 episodes)."""
    out = tmp_path_factory.mktemp("zero") / "run"
    run("zero", ["legs80-walk"], out=out, seeds=[0, 1], progress=False)
    (out / METADATA_FILE).write_text(json.dumps(METADATA))
    return out


@pytest.fixture(scope="module")
def policy_dir(tmp_path_factory):
    """The shipped policy's run on legs80-walk, with the policy file beside it."""
    from baselines.shipped import POLICIES

    out = tmp_path_factory.mktemp("policy") / "run"
    run("baselines:pretrained", None, out=out, progress=False)
    shutil.copy(POLICIES / "legs80-walk.onnx", out / "policy.onnx")
    metadata = {**METADATA, "method": "PPO baseline", "uses_reference_clips": True}
    (out / METADATA_FILE).write_text(json.dumps(metadata))
    return out


def _copy(source: Path, destination: Path, edit=None) -> Path:
    shutil.copytree(source, destination)
    if edit is not None:
        results = json.loads((destination / RESULTS_FILE).read_text())
        edit(results)
        (destination / RESULTS_FILE).write_text(json.dumps(results, allow_nan=True))
    return destination


def test_a_real_run_is_accepted_and_lands(zero_dir, tmp_path):
    submission = load(zero_dir)
    store = Store(tmp_path / "board.sqlite")
    identifier = store.add(submission)
    entry = store.entry(identifier)
    assert entry.method == "zero excitation" and entry.tasks == ["legs80-walk"]
    assert not entry.verified and not entry.has_policy
    assert [e.id for e in store.entries("legs80-walk")] == [identifier]
    assert store.entries("ostrich-run") == []
    with pytest.raises(DuplicateSubmission, match=f"#{identifier}"):
        store.add(submission)


def _edit_aggregate(results):
    results["results"]["legs80-walk"]["mpjpe_mm"] += 1.0


def _drop_episode(results):
    results["episodes"].pop()


def _wrong_suite(results):
    results["suite_hash"] = "f" * 64


def _duplicate_episode(results):
    results["episodes"].append(copy.deepcopy(results["episodes"][0]))


def _non_finite(results):
    results["episodes"][1]["coverage"] = math.nan


def _schema(results):
    results["episodes"][0]["seed"] = "zero"


def _diagnostic(results):
    results["agent"]["is_controller"] = False


def _diagnostic_by_name(results):  # a diagnostic agent's name, its flag left true
    results["agent"]["spec"] = "reference"


def _claimed_success(results):
    results["episodes"][0]["success"] = True


TAMPERING = {
    "an edited aggregate": (_edit_aggregate, "field 'results.legs80-walk.mpjpe_mm' is"),
    "a missing episode": (_drop_episode, "missing 1: legs80-walk|1|walk_1.5"),
    "a wrong suite hash": (_wrong_suite, "field 'suite_hash' is ffffffffffff"),
    "a duplicated episode": (_duplicate_episode, "duplicate episode legs80-walk|0|walk_1"),
    "a non-finite number": (_non_finite, "field 'episodes[1].coverage': non-finite number nan"),
    "a schema violation": (_schema, "field 'episodes[0].seed': 'zero' is not of type 'integer'"),
    "a diagnostic agent": (_diagnostic, "is diagnostic"),
    "a diagnostic agent by name": (_diagnostic_by_name, "names 'reference', a diagnostic agent"),
    "a claimed success": (_claimed_success, "success, but the episode did not run the whole clip"),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_tampered_submissions_are_refused_with_the_reason(zero_dir, tmp_path, case):
    edit, reason = TAMPERING[case]
    folder = _copy(zero_dir, tmp_path / "tampered", edit)
    with pytest.raises(SubmissionError) as error:
        load(folder)
    assert any(reason in line for line in error.value.reasons), error.value.reasons


def test_an_oversized_file_is_refused_before_it_is_read(zero_dir, tmp_path):
    folder = _copy(zero_dir, tmp_path / "big")
    with (folder / RESULTS_FILE).open("ab") as stream:
        stream.truncate(LIMITS[RESULTS_FILE] + 1)  # sparse: no 16 MiB written
    with pytest.raises(SubmissionError, match="over the 16777216-byte limit for results.json"):
        read_submission(folder)


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("link", "javascript:alert(1)", "field 'link': 'javascript:alert(1)' does not match"),
        ("authors", [], "field 'authors': [] should be non-empty"),
        ("method", "x" * 121, "field 'method'"),
    ],
)
def test_bad_metadata_is_refused(zero_dir, field, value, reason):
    metadata = {**METADATA, field: value}
    with pytest.raises(SubmissionError) as error:
        load(zero_dir, metadata=metadata)
    assert any(reason in line and "submission.json" in line for line in error.value.reasons)


def test_a_nan_the_protocol_produces_is_accepted(zero_dir):
    """An episode that ended on its first step tracked nothing: its errors are NaN."""
    submission = read_submission(zero_dir)
    results = copy.deepcopy(submission.results)
    episode = results["episodes"][0]
    episode.update(steps=1, coverage=1 / episode["clip_steps"], strict_coverage=0.0)
    for name in ("mpjpe_mm", "mpjpe_root_relative_mm", "mpjpe_per_leg_length"):
        episode[name] = math.nan
    episode.update(joint_rmse_rad=math.nan, velocity_error=math.nan)
    results["results"] = aggregate([get_task("legs80-walk")], "test", [0, 1], results["episodes"])
    validate(type(submission)(metadata=submission.metadata, results=results))
    results["episodes"][1]["velocity_error"] = math.nan  # a tracked episode may not
    results["results"] = aggregate([get_task("legs80-walk")], "test", [0, 1], results["episodes"])
    with pytest.raises(SubmissionError, match=r"episodes\[1\].velocity_error': non-finite"):
        validate(type(submission)(metadata=submission.metadata, results=results))


def test_a_board_refused_as_locked_is_opened_when_free(tmp_path, monkeypatch):
    # SQLite can refuse a new board's open as "database is locked" without waiting (1 in
    # about 300 opens by 16 processes at once, switching it to WAL): Store retries
    refusals = [2]
    migrate = Store.migrate

    def refused_twice(self):
        if refusals[0]:
            refusals[0] -= 1
            raise sa.exc.OperationalError("BEGIN", {}, Exception("database is locked"))
        return migrate(self)

    monkeypatch.setattr(Store, "migrate", refused_twice)
    assert Store(tmp_path / "board.sqlite").version() == len(MIGRATIONS)
    assert refusals == [0]
    (tmp_path / "junk.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(StoreError, match="not a leaderboard database"):
        Store(tmp_path / "junk.sqlite")  # other database errors are not retried


def _submit_one(args) -> int | str:
    folder, board, method = args
    try:
        return Store(board).add(load(folder, metadata={**METADATA, "method": method}))
    except DuplicateSubmission as error:
        return f"duplicate of #{error.existing}"


def test_sixteen_concurrent_submissions_all_land_once(zero_dir, tmp_path):
    board = tmp_path / "board.sqlite"
    jobs = [(zero_dir, board, f"method {k}") for k in range(16)]
    jobs += [(zero_dir, board, "method 0")]  # the same submission twice, at the same time
    with multiprocessing.get_context("fork").Pool(8) as pool:
        outcomes = pool.map(_submit_one, jobs)
    landed = [o for o in outcomes if isinstance(o, int)]
    assert len(landed) == 16 and len(set(landed)) == 16
    assert [o for o in outcomes if isinstance(o, str)] == [
        f"duplicate of #{outcomes[0] if isinstance(outcomes[0], int) else outcomes[-1]}"
    ]
    methods = sorted(e.method for e in Store(board).entries())
    assert methods == sorted(f"method {k}" for k in range(16))


def test_migrations_are_versioned_and_a_newer_store_is_refused(tmp_path):
    import sqlalchemy as sa

    store = Store(tmp_path / "board.sqlite")
    assert store.version() == len(MIGRATIONS)
    assert Store(tmp_path / "board.sqlite").migrate() == len(MIGRATIONS)  # reopening: no-op
    with store.engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO schema_version (version) VALUES (99)"))
    with pytest.raises(StoreError, match="schema version 99 is newer"):
        Store(tmp_path / "board.sqlite")


def _entry(
    identifier: int,
    episodes: list[dict],
    method: str,
    interface: str = "excitation",
    verified: bool = False,
) -> Entry:
    results = {"tasks": ["legs80-walk"], "seeds": [0], "episodes": episodes}
    results["agent"] = {"name": method, "action_interface": interface}
    metadata = {**METADATA, "method": method}
    return Entry(identifier, "", metadata, results, verified, verified, None)


def _episode(clip: str, success: bool, mpjpe: float, steps: int, clip_steps: int = 180) -> dict:
    return {
        "task": "legs80-walk",
        "seed": 0,
        "clip": clip,
        "steps": steps,
        "clip_steps": clip_steps,
        "success": success,
        "coverage": steps / clip_steps,
        "mpjpe_mm": mpjpe,
    }


def test_ranking_is_by_success_then_mpjpe_and_ties_share_a_rank():
    clips = get_task("legs80-walk").test
    tracker = _entry(1, [_episode(c, True, 50.0, 180) for c in clips], "tracks")
    faller = _entry(2, [_episode(c, False, 10.0, 20) for c in clips], "falls, precise")
    worse = _entry(3, [_episode(c, False, 30.0, 20) for c in clips], "falls")
    twin = _entry(4, [_episode(c, False, 30.0, 20) for c in clips], "falls too")
    standings = task_standings([worse, faller, twin, tracker], "legs80-walk")
    assert [s.entry.id for s in standings] == [1, 2, 3, 4]
    assert [s.rank for s in standings] == [1, 2, 3, 3]
    assert standings[0].success == 1.0 and standings[0].success_ci == [1.0, 1.0]
    perfect = _entry(5, [_episode(c, True, 0.0, 180) for c in clips], "perfect")
    assert task_standings([perfect], "legs80-walk")[0].score == pytest.approx(100.0)


def test_verified_entries_rank_before_self_reported_ones():
    # a fabricated or cloned entry can be consistent in itself; only a re-run proves it
    clips = get_task("legs80-walk").test
    claimed = _entry(1, [_episode(c, True, 5.0, 180) for c in clips], "too good")
    rerun = _entry(2, [_episode(c, False, 90.0, 40) for c in clips], "honest", verified=True)
    other = _entry(3, [_episode(c, False, 95.0, 40) for c in clips], "honest 2", verified=True)
    standings = task_standings([claimed, rerun, other], "legs80-walk")
    assert [(s.entry.id, s.standing, s.rank) for s in standings] == [
        (2, "verified", 1),
        (3, "verified", 2),
        (1, "self-reported", 1),
    ]


def test_two_interfaces_are_never_ranked_as_one():
    clips = get_task("legs80-walk").test
    servo = _entry(1, [_episode(c, True, 20.0, 180) for c in clips], "servo", "muscle_length")
    direct = _entry(2, [_episode(c, False, 90.0, 40) for c in clips], "direct")
    other = _entry(3, [_episode(c, False, 95.0, 40) for c in clips], "direct 2")
    standings = task_standings([servo, direct, other], "legs80-walk")
    # protocol v1's reference interface first; each interface ranked among its own entries
    assert [(s.entry.id, s.interface, s.rank) for s in standings] == [
        (2, "excitation", 1),
        (3, "excitation", 2),
        (1, "muscle_length", 1),
    ]
    cross = cross_species([servo, direct])
    assert set(cross.methods) == {"direct", "servo [muscle_length]"}


def test_a_submission_must_declare_its_interface(zero_dir, tmp_path):
    copy = tmp_path / "undeclared"
    shutil.copytree(zero_dir, copy)
    results = json.loads((copy / "results.json").read_text())
    assert results["agent"]["action_interface"] == "excitation"
    del results["agent"]["action_interface"]
    (copy / "results.json").write_text(json.dumps(results))
    with pytest.raises(SubmissionError, match="'action_interface' is a required property"):
        validate(read_submission(copy))


def test_the_zero_agent_scores_zero_and_the_references_are_current(zero_dir):
    submission = read_submission(zero_dir)
    entry = Entry(1, "", submission.metadata, submission.results, False, False, None)
    assert task_standings([entry], "legs80-walk")[0].score == pytest.approx(0.0, abs=1e-9)
    stored = references()["tasks"]
    assert sorted(stored) == sorted(TASKS), "run python -m leaderboard.references"
    for task, reference in stored.items():  # a changed task needs new references
        assert reference["definition"] == task_definition(task), (
            f"{task} changed; run python -m leaderboard.references"
        )
    from leaderboard.references import zero_reference

    again = zero_reference("legs80-walk")
    assert again["definition"] == stored["legs80-walk"]["definition"]
    expected = stored["legs80-walk"]["zero_clip_error_mm"]
    assert again["suite_hash"] == stored["legs80-walk"]["suite_hash"]  # the shipped clips
    assert again["zero_clip_error_mm"] == expected


def test_clip_error_counts_untracked_frames_at_the_threshold():
    fell = {"steps": 11, "success": False, "clip_steps": 100, "mpjpe_mm": 100.0}
    assert clip_error_mm(fell, scale=1.0) == pytest.approx((10 * 100 + 90 * 500) / 100)
    done = {"steps": 100, "success": True, "clip_steps": 100, "mpjpe_mm": 20.0}
    assert clip_error_mm(done, scale=2.0) == pytest.approx(20.0)


def test_verify_reproduces_the_shipped_policy_and_catches_an_edited_episode(policy_dir, tmp_path):
    from leaderboard.verify import verify

    store = Store(tmp_path / "board.sqlite")
    honest = store.add(load(policy_dir))
    outcome = verify(store, honest)
    assert outcome.verified and outcome.max_abs_difference == 0.0
    assert store.entry(honest).verified

    def nudge(results):  # consistent aggregates, one episode's error edited
        results["episodes"][0]["mpjpe_mm"] -= 0.5
        tasks = [get_task(t) for t in results["tasks"]]
        results["results"] = aggregate(tasks, "test", results["seeds"], results["episodes"])

    edited = store.add(load(_copy(policy_dir, tmp_path / "edited", nudge)))
    outcome = verify(store, edited)
    assert not outcome.verified and not store.entry(edited).verified
    assert any("mpjpe_mm" in line for line in outcome.mismatches)
    without = store.add(load(zero_dir_like(policy_dir, tmp_path)))
    with pytest.raises(StoreError, match="has no policy"):
        verify(store, without)


def zero_dir_like(folder: Path, tmp_path: Path) -> Path:
    copy_ = _copy(folder, tmp_path / "no-policy")
    (copy_ / "policy.onnx").unlink()
    metadata = json.loads((copy_ / METADATA_FILE).read_text())
    (copy_ / METADATA_FILE).write_text(json.dumps({**metadata, "method": "no policy"}))
    return copy_


def _shipped_policy_through(interface: str, path: Path) -> None:
    """The shipped policy's graph saved to `path`, its metadata naming `interface`."""
    import onnx

    from baselines.shipped import POLICIES

    graph = onnx.load(str(POLICIES / "legs80-walk.onnx"))
    onnx.helper.set_model_props(graph, {"action_interface": interface})
    onnx.save(graph, str(path))


def test_a_policy_of_the_wrong_size_is_refused(zero_dir, tmp_path):
    folder = _copy(zero_dir, tmp_path / "with-policy")
    _shipped_policy_through("excitation", folder / "policy.onnx")
    load(folder)  # the right body and interface: accepted
    (folder / "policy.onnx").write_bytes(b"not an onnx graph")
    with pytest.raises(SubmissionError, match="policy.onnx: not a policy onnxruntime can run"):
        load(folder)


def test_a_policy_of_another_interface_than_its_results_is_refused(zero_dir, tmp_path):
    folder = _copy(zero_dir, tmp_path / "servo-policy")
    _shipped_policy_through("muscle_length", folder / "policy.onnx")
    with pytest.raises(SubmissionError, match="acts through interface 'muscle_length'"):
        load(folder)


def test_the_command_submits_lists_shows_and_refuses(zero_dir, tmp_path, capsys):
    board = str(tmp_path / "board.sqlite")
    folder = _copy(zero_dir, tmp_path / "cli")
    (folder / METADATA_FILE).unlink()
    arguments = ["--store", board, "submit", str(folder), "--method", "Zero <b>bold</b>"]
    assert main([*arguments, "--author", "B. Tester", "--no-reference-clips"]) == 0
    assert "submitted #1: Zero <b>bold</b> on legs80-walk" in capsys.readouterr().out
    assert main(["--store", board, "list"]) == 0
    assert "Zero <b>bold</b>" in capsys.readouterr().out
    assert main(["--store", board, "show", "legs80-walk"]) == 0
    shown = capsys.readouterr().out
    assert "0.00 [0.00, 0.00]" in shown and "Zero <b>bold</b>" in shown
    assert main(["--store", board, "show", "legs81-walk"]) == 2
    assert main(["--store", board, "submit", str(folder)]) == 2  # no metadata at all
    assert "submission.json: missing, and no metadata flags" in capsys.readouterr().err
    assert main(["--store", board, "verify", "7"]) == 2
    assert "no submission #7" in capsys.readouterr().err


def test_damaged_inputs_get_clean_errors(zero_dir, tmp_path, capsys):
    deep = _copy(zero_dir, tmp_path / "deep")
    (deep / RESULTS_FILE).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(SubmissionError, match="nested too deeply"):
        read_submission(deep)
    not_a_database = tmp_path / "board.sqlite"
    not_a_database.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="not a leaderboard database"):
        Store(not_a_database)
    assert main(["--store", str(not_a_database), "list"]) == 2
    assert "not a leaderboard database" in capsys.readouterr().err


def test_loose_edges_are_refused_or_cleaned(zero_dir, tmp_path):
    def short_activation(results):
        results["episodes"][0]["mean_activation"] = results["episodes"][0]["mean_activation"][:5]

    with pytest.raises(SubmissionError, match="mean_activation has 5 values; .* 80 muscles"):
        load(_copy(zero_dir, tmp_path / "short", short_activation))

    def padded(results):
        results["padding"] = "x" * 1000

    with pytest.raises(SubmissionError, match="Additional properties are not allowed"):
        load(_copy(zero_dir, tmp_path / "padded", padded))

    def padded_agent(results):
        results["agent"]["notes"] = "x" * 1000

    with pytest.raises(SubmissionError, match="agent"):
        load(_copy(zero_dir, tmp_path / "padded-agent", padded_agent))
    hostile = {**METADATA, "method": "evil\x1b[2J\u202ename", "authors": ["A.\x07 Tester"]}
    submission = load(zero_dir, metadata=hostile)
    assert submission.metadata["method"] == "evil[2Jname"
    assert submission.metadata["authors"] == ["A. Tester"]


def test_the_reference_replay_is_refused_whatever_its_flag_says(tmp_path):
    out = tmp_path / "reference"
    run("reference", ["legs80-walk"], out=out, progress=False)
    results = json.loads((out / RESULTS_FILE).read_text())
    results["agent"]["is_controller"] = True  # the flag flipped by hand
    results["agent"]["name"] = results["agent"]["spec"] = "my controller"
    (out / RESULTS_FILE).write_text(json.dumps(results))
    with pytest.raises(SubmissionError, match="tracks with zero error"):
        load(out, metadata=METADATA)
