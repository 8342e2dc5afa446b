"""Model cards: each section drawn from what mlpy keeps, rendered three ways, with the CLI's errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.linear_model import LogisticRegression

from mlpy.cards import CardError, build_card, render
from mlpy.cli.main import main
from mlpy.demo.data import NUMERIC, TARGET, credit_data
from mlpy.drift import DriftProfile, check, record
from mlpy.experiments import ExperimentConfig, ExperimentRepository, Variant
from mlpy.registry import DRIFT_REFERENCE_TAG, InvalidInputError, ModelRegistry

SECTIONS = [
    "Model details",
    "Intended use",
    "Factors",
    "Metrics",
    "Training data",
    "Experiments",
    "Drift history",
    "Ethical considerations",
    "Caveats and recommendations",
    "Governance",
]


@pytest.fixture
def registry(sqlite_url: str, tmp_path: Path) -> ModelRegistry:
    """``credit`` v1 (with a training profile, promoted) and v2 (with the card's free text)."""
    reg = ModelRegistry(sqlite_url, str(tmp_path / "artifacts"))
    data = credit_data(600, seed=3)
    profile = DriftProfile.from_data(data[NUMERIC], source="credit-train.parquet")
    reference = profile.save(tmp_path / "reference.npz")
    model = LogisticRegression(max_iter=500).fit(data[NUMERIC], data[TARGET])
    reg.register(
        "credit",
        model,
        input_example=data[NUMERIC].head(),
        metrics={"auc": 0.81},
        params={"C": 1.0},
        tags={DRIFT_REFERENCE_TAG: reference, "team": "risk"},
        validation=(data[NUMERIC], data[TARGET]),
    )
    reg.promote("credit", 1, alias="production", reason="beat the rules engine", actor="ana")
    reg.register(
        "credit",
        model,
        parent=1,
        intended_use="Pre-screening of consumer credit applications, reviewed by an officer.",
        limitations="Not for business loans. Trained on <b>synthetic</b> data | one region.",
    )
    return reg


def test_the_card_has_every_section_in_the_order_of_the_practice(registry: ModelRegistry) -> None:
    card = build_card(registry, "credit", 1)
    assert [section.title for section in card.sections] == SECTIONS
    assert "Mitchell et al., 2019" in card.practice
    details = card.section("Model details")
    assert details.facts["sha256"] == registry.get_version("credit", 1).sha256
    assert details.facts["tags"] == {"team": "risk"}
    assert card.section("Metrics").facts == {"auc": 0.81}
    assert card.section("Metrics").rows == [{"parameter": "C", "value": 1.0}]
    factors = card.section("Factors").rows
    assert [row["name"] for row in factors] == NUMERIC
    importance = registry.get_version("credit", 1).importance or {}
    assert [row["importance"] for row in factors] == [importance[name]["mean"] for name in NUMERIC]
    training = card.section("Training data")
    assert training.facts["rows"] == 600
    assert training.facts["source"] == "credit-train.parquet"
    assert [row["name"] for row in training.rows] == NUMERIC
    assert all(row["mean"] is not None for row in training.rows)
    governance = card.section("Governance").rows
    assert [(r["action"], r["to_version"], r["actor"], r["reason"]) for r in governance] == [
        ("promote", 1, "ana", "beat the rules engine")
    ]
    # What was not given is said, not left out.
    assert "--intended-use" in (card.section("Intended use").note or "")
    assert card.section("Experiments").note == "credit:1 was in no experiment"


def test_lineage_and_the_free_text_of_a_child_version(registry: ModelRegistry) -> None:
    card = build_card(registry, "credit", 2)
    assert [row["version"] for row in card.section("Model details").rows] == ["credit:2", "credit:1"]
    assert card.section("Intended use").facts["text"].startswith("Pre-screening")
    assert "Not for business loans" in card.section("Caveats and recommendations").facts["text"]
    assert card.section("Governance").note == "no alias has pointed at credit:2"
    assert "not measured" in card.section("Factors").facts["importance"]
    assert "training inputs' profile was not kept" in (card.section("Training data").note or "")


def test_experiments_and_drift_checks_of_the_version_appear(registry: ModelRegistry) -> None:
    config = ExperimentConfig(
        variants=(Variant("control", 50, "credit@production"), Variant("candidate", 50, "credit:2"))
    )
    ExperimentRepository(registry.store).create("credit-ab", config)
    profile = DriftProfile.from_data(credit_data(600, seed=3)[NUMERIC])
    shifted = credit_data(600, seed=4)[NUMERIC].assign(income=lambda f: f["income"] * 3)
    record(check(profile, shifted), store=registry.store.url, dataset="credit")
    record(check(profile, shifted), store=registry.store.url, dataset="models/credit-drift")
    card = build_card(registry, "credit", 1, drift_datasets=["models/credit-drift"])
    (experiment,) = card.section("Experiments").rows
    assert (experiment["experiment"], experiment["variant"], experiment["status"]) == (
        "credit-ab",
        "control",
        "running",
    )
    checks = card.section("Drift history").rows
    assert sorted(row["dataset"] for row in checks) == ["credit", "models/credit-drift"]
    assert all(row["drifted_columns"] == "1 of 5" for row in checks)
    # The candidate's card names the same experiment under its own variant.
    (other,) = build_card(registry, "credit", 2).section("Experiments").rows
    assert other["variant"] == "candidate"


def test_markdown_html_and_json_say_the_same_and_html_is_escaped(registry: ModelRegistry) -> None:
    card = build_card(registry, "credit", 2)
    markdown = render(card, "markdown")
    headings = [line[3:] for line in markdown.splitlines() if line.startswith("## ")]
    assert headings == SECTIONS
    page = render(card, "html")
    assert page.startswith("<!doctype html>")
    assert "<h2>Governance</h2>" in page
    assert "<b>" not in page
    assert "&lt;b&gt;synthetic&lt;/b&gt;" in page
    assert "<table>" in page  # the lineage table
    data = json.loads(render(card, "json"))
    assert [s["title"] for s in data["sections"]] == SECTIONS
    assert data["model"] == "credit"
    assert data["version"] == 2
    with pytest.raises(CardError, match="no card format 'pdf'"):
        render(card, "pdf")


def test_a_missing_version_or_empty_free_text_is_a_clear_error(registry: ModelRegistry) -> None:
    with pytest.raises(CardError, match="no card for credit 9"):
        build_card(registry, "credit", 9)
    with pytest.raises(InvalidInputError, match="the intended use is empty"):
        registry.register("other", LogisticRegression(), intended_use="  ")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_prints_writes_and_fails_on_one_line(
    registry: ModelRegistry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ["registry", "--store", registry.store.url, "--artifacts", registry.artifacts.root]
    code, out, _ = run(capsys, *where, "card", "credit")  # @production by default
    assert code == 0
    assert out.startswith("# Model card: credit:1\n")
    target = tmp_path / "card.html"
    code, out, _ = run(capsys, *where, "card", "credit", "2", "--format", "html", "--output", str(target))
    assert code == 0
    assert out == f"wrote {target}\n"
    assert "<h1>Model card: credit:2</h1>" in target.read_text()
    code, _, err = run(capsys, *where, "card", "credit", "1", "--format", "pdf")
    assert code == 1
    assert err.startswith("error: no card format 'pdf'")
    assert err.count("\n") == 1
    code, _, err = run(capsys, *where, "card", "nosuch")
    assert code == 1
    assert err.startswith("error: no card for nosuch")
    assert err.count("\n") == 1


def test_the_fairness_of_declared_sensitive_features_is_in_the_card(registry: ModelRegistry) -> None:
    from datetime import timedelta

    from fairlearn.metrics import demographic_parity_difference

    from mlpy.predlog import LoggedPrediction, PredictionLogger
    from mlpy.store import utcnow

    fitted = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    version = registry.register("credit", fitted, sensitive_features=["region"])
    logger = PredictionLogger(registry.store.url)
    regions, predictions, outcomes = [], [], []
    for i in range(200):
        region = "north" if i % 2 else "south"
        predicted = int(i % 5 < (3 if region == "north" else 1))  # north selected 60%, south 20%
        regions.append(region)
        predictions.append(predicted)
        outcomes.append(int(i % 3 == 0))
        logger.offer(
            LoggedPrediction(
                f"r{i}", "credit", str(version.version), [[0.0]], [predicted], groups={"region": [region]},
                ts=utcnow() - timedelta(minutes=5),
            )
        )  # fmt: skip
        logger.record_outcome(f"r{i}", [outcomes[-1]])
    logger.flush()
    section = build_card(registry, "credit", version.version).section("Ethical considerations")
    assert section.facts["sensitive_features"] == "region"
    assert section.facts["labelled_samples"] == 200
    expected = demographic_parity_difference(outcomes, predictions, sensitive_features=regions)
    assert section.facts["region: demographic_parity_difference"] == pytest.approx(expected)
    assert sorted(row["group"] for row in section.rows) == ["north", "south"]
    # Shown where it belongs, not again among the tags.
    assert build_card(registry, "credit", version.version).section("Model details").facts["tags"] is None
