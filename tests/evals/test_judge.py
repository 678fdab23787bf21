"""The LLM judge: ragas' faithfulness, answer relevancy, context precision and recall, scored by a
scripted OpenAI-compatible judge (``evals.fake_judge``) over an httpx mock transport."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from core.errors import ConfigurationError
from core.models.fake import HashingEmbedder
from core.settings import Settings
from evals.fake_judge import FakeJudge
from evals.judge import Judge
from evals.runner import RunConfig, run_suite
from evals.suite import Case, Expect, Suite
from tests.evals.fakes import FakeTarget, answer

QUESTION = "How long do I have to return an item?"
ANSWER = "Most items can be returned within 30 days. Refunds take five working days."
CONTEXTS = ["Returns are accepted within 30 days of delivery.", "Refunds take five working days."]
REFERENCE = "You can return most items within 30 days of delivery."
ALL = {"judge.faithfulness", "judge.answer_relevancy", "judge.context_precision", "judge.context_recall"}

_judges: list[Judge] = []


@pytest.fixture(autouse=True)
def _close_judges() -> Iterator[None]:
    yield
    while _judges:
        _judges.pop().close()


def make_judge(fake: FakeJudge) -> Judge:
    judge = Judge(
        "http://judge.test/v1", "judge-model", transport=fake.transport(), embedder=HashingEmbedder(), max_retries=0
    )
    _judges.append(judge)
    return judge


def test_a_judge_that_supports_every_statement_scores_one() -> None:
    fake = FakeJudge(question=QUESTION)  # reads back the very question: relevancy = cosine 1
    scores = make_judge(fake).score_all(QUESTION, ANSWER, CONTEXTS, REFERENCE)
    assert scores == pytest.approx(dict.fromkeys(ALL, 1.0))
    # ragas' own pipelines ran: statements then NLI, one precision verdict per context, 3 questions
    assert fake.calls == {
        "StatementGeneratorOutput": 1,
        "NLIStatementOutput": 1,
        "ContextPrecisionOutput": 2,
        "ContextRecallOutput": 1,
        "AnswerRelevanceOutput": 3,
    }


def test_a_judge_that_supports_nothing_scores_zero() -> None:
    fake = FakeJudge(supported=False, useful=False, attributed=False, noncommittal=True, question=QUESTION)
    scores = make_judge(fake).score_all(QUESTION, ANSWER, CONTEXTS, REFERENCE)
    assert scores == pytest.approx(dict.fromkeys(ALL, 0.0))


def test_half_the_contexts_useful_gives_ragas_average_precision() -> None:
    class SecondContextOnly(FakeJudge):
        def answer(self, schema: str, data: dict[str, object]) -> dict[str, object]:
            if schema == "ContextPrecisionOutput":
                return {"reason": "scripted", "verdict": int("Refunds" in str(data.get("context")))}
            return super().answer(schema, data)

    scores = make_judge(SecondContextOnly(question=QUESTION)).score_all(QUESTION, ANSWER, CONTEXTS, REFERENCE)
    assert scores["judge.context_precision"] == pytest.approx(0.5)  # relevant only at rank 2: precision@2


def test_without_a_reference_recall_is_skipped_and_precision_judges_the_answer() -> None:
    fake = FakeJudge(question=QUESTION)
    scores = make_judge(fake).score_all(QUESTION, ANSWER, CONTEXTS, None)
    assert set(scores) == ALL - {"judge.context_recall"}
    assert "ContextRecallOutput" not in fake.calls


def test_without_contexts_only_answer_relevancy_is_scored() -> None:
    scores = make_judge(FakeJudge(question=QUESTION)).score_all(QUESTION, ANSWER, [], REFERENCE)
    assert scores == pytest.approx({"judge.answer_relevancy": 1.0})


def test_a_judge_that_is_down_gives_no_score_and_counts_the_failures() -> None:
    judge = make_judge(FakeJudge(down=True))
    assert judge.score_all(QUESTION, ANSWER, CONTEXTS, REFERENCE) == {}
    assert judge.score_all(QUESTION, ANSWER, CONTEXTS, REFERENCE) == {}
    assert judge.describe()["errors"] == {m.removeprefix("judge."): 2 for m in ALL}


def test_unparseable_judge_output_gives_no_score() -> None:
    judge = make_judge(FakeJudge(garbage=True))
    assert judge.score_all(QUESTION, ANSWER, CONTEXTS, REFERENCE) == {}
    assert sum(judge.errors.values()) == 4


def test_describe_names_ragas_its_version_and_the_judge_model() -> None:
    described = make_judge(FakeJudge()).describe()
    assert described["library"] == f"ragas {metadata.version('ragas')}"
    assert described["model"] == "judge-model" and described["base_url"] == "http://judge.test/v1"
    assert described["errors"] == {}


def test_from_settings_is_off_without_a_base_url(tmp_path: Path) -> None:
    base = {"environment": "test", "data_dir": tmp_path, "embedder_backend": "fake"}
    assert Judge.from_settings(Settings(**base)) is None  # type: ignore[arg-type]
    judge = Judge.from_settings(
        Settings(**base, judge_base_url="http://127.0.0.1:8080/v1", judge_model="qwen", judge_timeout_s=5)  # type: ignore[arg-type]
    )
    assert judge is not None and judge.model == "qwen" and judge.timeout_s == 5
    assert isinstance(judge.embedder, HashingEmbedder)


def test_bad_judge_settings_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="http"):
        Judge("127.0.0.1:8080", "m")
    with pytest.raises(ConfigurationError, match="MODEL"):
        Judge("http://127.0.0.1:8080/v1", "")


def test_a_real_judge_is_refused_in_unit_tests() -> None:
    judge = Judge("http://127.0.0.1:9/v1", "m", embedder=HashingEmbedder())
    with pytest.raises(ConfigurationError, match="Live model call"):
        judge.score_all(QUESTION, ANSWER, CONTEXTS, REFERENCE)


def test_the_runner_records_judge_scores_and_the_judge() -> None:
    target = FakeTarget(replies={"return": answer(ANSWER)}, passages={"return": ["returns-policy"]})
    suite = Suite(name="unit", cases=[Case(id="r", turns=[QUESTION], expect=Expect(answer=REFERENCE))])
    report = run_suite(suite, target, RunConfig(workers=1, progress=False), make_judge(FakeJudge(question=QUESTION)))
    assert report.metrics["judge.faithfulness"] == pytest.approx(1.0)
    assert report.support["judge.context_recall"] == 1
    judge_record = report.pipeline["judge"]
    assert isinstance(judge_record, dict) and judge_record["model"] == "judge-model"
