"""The exported leaderboard site in a real browser (headless Chromium, driven by Selenium):
hostile names show as text and run nothing; tables, sort order and badges are there."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from benchmark.runner import run
from leaderboard.site import export_site
from leaderboard.store import Store
from leaderboard.submission import METADATA_FILE, load

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="needs Debian's chromium and chromium-driver (scripts/setup.sh installs them as root)",
)
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">Evil & co'


def _submit(store: Store, folder: Path, method: str, **extra) -> int:
    metadata = {"method": method, "authors": ["T. Ester"], "uses_reference_clips": False}
    (folder / METADATA_FILE).write_text(json.dumps({**metadata, **extra}))
    return store.add(load(folder))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A board with zero, random, the verified shipped policy and a hostile entry."""
    from baselines.shipped import POLICIES
    from leaderboard.verify import verify

    root = tmp_path_factory.mktemp("board")
    store = Store(root / "board.sqlite")
    for agent in ("zero", "random"):
        run(agent, ["legs80-walk"], out=root / agent, progress=False)
        _submit(store, root / agent, agent)
    run("baselines:pretrained", None, out=root / "ppo", progress=False)
    shutil.copy(POLICIES / "legs80-walk.onnx", root / "ppo" / "policy.onnx")
    curve = {"steps": [0, 500000, 1000000], "mpjpe_mm": [230.0, 215.0, 205.0]}
    ppo = _submit(store, root / "ppo", "PPO", training_steps=1003520, curve=curve)
    assert verify(store, ppo).verified
    shutil.copytree(root / "random", root / "hostile", ignore=shutil.ignore_patterns("*.json"))
    shutil.copy(root / "random" / "results.json", root / "hostile" / "results.json")
    hostile_meta = {"authors": [HOSTILE], "link": "https://example.org/?q=<b>x</b>"}
    _submit(store, root / "hostile", HOSTILE, **hostile_meta)
    export_site(store.entries(), root / "site")
    return root / "site"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    yield driver
    driver.quit()


def _rows(browser, table: str) -> list:
    from selenium.webdriver.common.by import By

    return browser.find_elements(By.CSS_SELECTOR, f"table#{table} tbody tr")


def test_a_hostile_name_shows_as_text_and_runs_nothing(site, browser):
    from selenium.webdriver.common.by import By

    browser.get((site / "task-legs80-walk.html").as_uri())
    assert browser.execute_script("return window.__pwned") is None
    text = browser.find_element(By.TAG_NAME, "body").text
    assert HOSTILE in text  # the markup, as characters
    assert not browser.find_elements(By.CSS_SELECTOR, "table#standings img")
    assert not browser.find_elements(By.CSS_SELECTOR, "table#standings script")
    link = browser.find_element(By.LINK_TEXT, HOSTILE)
    assert link.get_attribute("href").startswith("https://example.org/")
    browser.get((site / "index.html").as_uri())
    assert browser.execute_script("return window.__pwned") is None
    assert HOSTILE in browser.find_element(By.ID, "cross-species").text


def test_the_site_shows_ranked_sortable_tables_with_badges(site, browser, tmp_path):
    from PIL import Image
    from selenium.webdriver.common.by import By

    browser.get((site / "task-legs80-walk.html").as_uri())
    rows = _rows(browser, "standings")
    cells = [[td.text for td in row.find_elements(By.TAG_NAME, "td")] for row in rows]
    verified = [bool(row.find_elements(By.CSS_SELECTOR, ".badge.verified")) for row in rows]
    groups: dict[tuple[str, bool], list[list[str]]] = {}
    for row, is_verified in zip(cells, verified, strict=True):
        groups.setdefault((row[2], is_verified), []).append(row)
    # per interface, protocol v1's `excitation` first; verified entries before the others
    interfaces = list(dict.fromkeys(row[2] for row in cells))
    assert interfaces[0] == "excitation" and len(rows) == 4
    assert list(groups) == sorted(groups, key=lambda k: (interfaces.index(k[0]), not k[1]))
    for group in groups.values():  # each ranked by success rate, then MPJPE, from 1
        ranks = [int(row[0]) for row in group]
        assert ranks == sorted(ranks) and ranks[0] == 1
    assert [row[1] for row in groups[("excitation", False)]][-1] == "zero"
    ppo = next(key for key, group in groups.items() if group[0][1] == "PPO")
    assert ppo[1] and sum(verified) == 1  # the shipped policy, re-run by the board
    assert browser.find_elements(By.CSS_SELECTOR, "figure img")  # the submitted curve

    screenshot = tmp_path / "task-legs80-walk.png"
    browser.save_screenshot(str(screenshot))
    image = Image.open(screenshot).convert("L")
    assert image.size[0] >= 1000 and image.getextrema()[0] < 100  # drawn, not blank

    heading_path = "//table[@id='standings']//th[text()='MPJPE mm (IQM)']"
    heading = browser.find_element(By.XPATH, heading_path)
    column = heading.get_attribute("cellIndex")

    def mpjpe() -> list[float]:
        cells = [
            r.find_elements(By.TAG_NAME, "td")[int(column)] for r in _rows(browser, "standings")
        ]
        return [float(c.get_attribute("data-sort")) for c in cells]

    heading.click()
    assert mpjpe() == sorted(mpjpe())
    heading.click()
    assert mpjpe() == sorted(mpjpe(), reverse=True)

    browser.get((site / "index.html").as_uri())
    from benchmark.tasks import TASKS

    assert len(_rows(browser, "tasks")) == len(TASKS)
    cross = _rows(browser, "cross-species")
    methods = {r.find_elements(By.TAG_NAME, "td")[0].text for r in cross}
    assert {m.split(" [")[0] for m in methods} >= {"PPO", "zero"}  # "method [interface]"
