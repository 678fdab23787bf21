from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import bot.intents as intents
from bot.intents import IntentClassifier, IntentConfig, trained_classifier
from bot.nlu import load_nlu, parse_nlu
from core.errors import ConfigurationError
from core.models.fake import HashingEmbedder

DEMO_NLU = Path(__file__).resolve().parents[2] / "demo" / "nlu.yml"


def test_rasa_entity_annotations_are_reduced_to_their_text() -> None:
    examples = parse_nlu(
        'version: "3.1"\nnlu:\n- intent: order_status\n  examples: |\n    - where is [ORD-10041](order_id)?\n'
        "- synonym: parcel\n  examples: |\n    - package\n"
    )
    assert [(e.text, e.intent) for e in examples] == [("where is ORD-10041?", "order_status")]


def test_a_file_without_intents_is_refused_with_a_hint() -> None:
    with pytest.raises(ConfigurationError, match="Rasa"):
        parse_nlu("version: '3.1'\n")


def test_demo_intents_route_customer_questions(tmp_path: Path) -> None:
    clf = trained_classifier(load_nlu(DEMO_NLU), HashingEmbedder(), tmp_path, IntentConfig(c=7.5))
    assert clf.predict("where is my parcel? it still hasn't arrived").intent == "order_status"
    assert clf.predict("I want to talk to a real person").intent == "speak_to_human"
    assert clf.predict("please cancel my order").intent == "cancel_order"
    # The trained model is cached on disk, keyed by the examples: a restart does not retrain.
    assert list(tmp_path.glob("intents-fake-*.pkl"))
    fresh = IntentClassifier(HashingEmbedder())
    assert fresh.load(next(tmp_path.glob("*.pkl")))
    assert fresh.predict("where is my parcel? it still hasn't arrived").intent == "order_status"


def test_low_confidence_is_out_of_scope() -> None:
    clf = IntentClassifier(HashingEmbedder(), IntentConfig(oos_threshold=0.9)).fit(
        ["where is my order", "track my parcel", "refund please", "money back"],
        ["order_status", "order_status", "refund", "refund"],
    )
    prediction = clf.predict("what is the capital of mongolia")
    assert prediction.intent is None and prediction.best in {"order_status", "refund"}


def test_an_intent_name_alone_is_understood() -> None:
    # Neither intent's examples say "refund" or "status"; the intent names do.
    texts = ["where is my parcel", "has it shipped yet", "I want my money back", "return the cash to my card"]
    labels = ["order_status", "order_status", "refund", "refund"]
    clf = IntentClassifier(HashingEmbedder(), IntentConfig(oos_threshold=0.0)).fit(texts, labels)
    assert clf.predict("refund").intent == "refund"
    assert clf.predict("order status").intent == "order_status"


def test_predictions_are_sklearns_own_bit_for_bit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A prediction computes the TF-IDF blocks' products without sklearn's per-call checks and
    # without sparse matrices; the probabilities must be exactly those of the vectorizers' own
    # transform times the block's coefficients (scipy's product).
    clf = trained_classifier(load_nlu(DEMO_NLU), HashingEmbedder(), tmp_path, IntentConfig(c=7.5))
    texts = [e.text for e in load_nlu(DEMO_NLU)] + ["", "Ünïcödé — ✓ 123", "refund refund refund?!", "a" * 500]
    fast = clf.predict_proba(texts)
    one_by_one = [clf.predict_proba([t]) for t in texts[:50]]
    assert clf._tfidf is not None
    for (_, vectorizer), analyze, w in zip(
        clf._tfidf.transformer_list, clf._vectorizer_analyzers(), clf._blocks()[1], strict=True  # type: ignore[index]
    ):
        for batch in [[t] for t in texts] + [texts]:  # one text at a time, and all at once
            assert np.array_equal(
                intents._tfidf_product(vectorizer, analyze, batch, w), np.asarray(vectorizer.transform(batch) @ w)
            )
    monkeypatch.setattr(
        intents, "_tfidf_product", lambda vectorizer, analyze, batch, w: np.asarray(vectorizer.transform(batch) @ w)
    )
    plain = clf.predict_proba(texts)
    assert np.array_equal(fast, plain)
    # One text at a time or in a batch: the same probabilities (to rounding: BLAS picks its
    # kernel by the batch's shape).
    assert all(np.allclose(p, plain[i : i + 1], rtol=0, atol=1e-12) for i, p in enumerate(one_by_one))


def test_block_wise_probabilities_equal_sklearns(tmp_path: Path) -> None:
    # predict_proba computes softmax(X·Wᵀ + b) block by block (embedding, each TF-IDF block)
    # instead of stacking the blocks into one matrix for sklearn: the same probabilities.
    clf = trained_classifier(load_nlu(DEMO_NLU), HashingEmbedder(), tmp_path, IntentConfig(c=7.5))
    texts = [e.text for e in load_nlu(DEMO_NLU)] + ["", "Ünïcödé — ✓ 123", "refund refund refund?!", "a" * 500]
    assert clf._blocks() is not None  # the fast path is the one under test
    fast = clf.predict_proba(texts)
    assert clf._model is not None
    reference = clf._model.predict_proba(clf._features(texts))
    assert fast.shape == reference.shape == (len(texts), len(clf.labels))
    assert np.allclose(fast, reference, rtol=0, atol=1e-12)
    assert [p.intent for p in clf.predict_many(texts)] == [
        clf.labels[int(i)] if row.max() >= clf.config.oos_threshold else None
        for row, i in zip(reference, reference.argmax(axis=1), strict=True)
    ]


def test_two_intents_use_sklearns_binary_model() -> None:
    texts = ["refund please", "money back", "where is my order", "order status"]
    labels = ["refund", "refund", "order_status", "order_status"]
    clf = IntentClassifier(HashingEmbedder(), IntentConfig(oos_threshold=0.0, name_examples=False)).fit(texts, labels)
    assert clf._blocks() is None
    assert clf.predict("money back").intent == "refund"


def test_an_embedding_only_model_keeps_sklearns_float32_path() -> None:
    # Without TF-IDF the features are the float32 embedding: sklearn fits and predicts in
    # float32, so the float64 block-wise path would differ from it (~1e-7).
    texts = ["refund please", "money back", "where is my order", "order status", "cancel it", "stop my order"]
    labels = ["refund", "refund", "status", "status", "cancel", "cancel"]
    config = IntentConfig(use_tfidf=False, name_examples=False)
    clf = IntentClassifier(HashingEmbedder(), config).fit(texts, labels)
    assert clf._blocks() is None
    assert clf._model is not None
    assert np.array_equal(clf.predict_proba(texts), clf._model.predict_proba(clf._features(texts)))


def test_the_model_cache_is_kept_per_training_setting(tmp_path: Path) -> None:
    # Two settings that train different models never read each other's cached file
    # (an embedding-only model has fewer features: loading it for TF-IDF would fail).
    examples = load_nlu(DEMO_NLU)
    intents._TRAINED.clear()
    with_tfidf = trained_classifier(examples, HashingEmbedder(), tmp_path, IntentConfig())
    intents._TRAINED.clear()
    alone = trained_classifier(examples, HashingEmbedder(), tmp_path, IntentConfig(use_tfidf=False))
    assert len(list(tmp_path.glob("intents-*.pkl"))) == 2
    text = "where is my parcel"
    assert alone.predict_proba([text]).shape == with_tfidf.predict_proba([text]).shape
    intents._TRAINED.clear()
    again = trained_classifier(examples, HashingEmbedder(), tmp_path, IntentConfig(oos_threshold=0.5))
    assert len(list(tmp_path.glob("intents-*.pkl"))) == 2  # the threshold does not train another model
    assert np.array_equal(again.predict_proba([text]), with_tfidf.predict_proba([text]))
