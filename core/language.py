"""Language of a customer message: langdetect (seeded, so the result is deterministic)
with guards for short texts, where statistical detection is unreliable."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from langdetect import DetectorFactory, LangDetectException, detect_langs
from langdetect.detector_factory import init_factory

_LOCK = threading.Lock()
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_LATIN = re.compile(r"^[A-Za-z\u00C0-\u024F'’-]+$")
_ENGLISH = frozenset(
    "i you my me we the a an is are was do does did can could how what where when why which who "
    "to of for in on and or not it this that with have has please hi hello thanks thank order".split()
)

NAMES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "pl": "Polish",
    "nl": "Dutch",
    "pt": "Portuguese",
    "tr": "Turkish",
    "ja": "Japanese",
    "zh-cn": "Chinese",
    "zh-tw": "Chinese",
    "ko": "Korean",
    "ru": "Russian",
    "ar": "Arabic",
    "sv": "Swedish",
    "da": "Danish",
}


@dataclass(frozen=True)
class DetectedLanguage:
    code: str | None  # None: too short or unsure; keep the conversation's language
    confidence: float

    @property
    def name(self) -> str:
        return NAMES.get(self.code or "", self.code or "unknown")


def load_profiles() -> None:
    """Load langdetect's language profiles now (about a second of CPU, once per process)
    rather than in the first turn that needs them, which would hold every other turn up."""
    with _LOCK:
        init_factory()


def detect_language(text: str, *, min_words: int = 4, min_confidence: float = 0.8) -> DetectedLanguage:
    words = _WORD.findall(text)
    if not words:
        return DetectedLanguage(None, 0.0)
    latin = all(_LATIN.match(w) for w in words)
    if latin:
        lower = [w.lower() for w in words]
        english = sum(w in _ENGLISH for w in lower) / len(lower)
        if english >= 0.25:
            return DetectedLanguage("en", english)
        accented = any(not w.isascii() for w in words)
        if len(words) < min_words and (len(words) < min_words - 1 or english > 0 or not accented):
            return DetectedLanguage(None, 0.0)
    with _LOCK:
        DetectorFactory.seed = 0
        try:
            ranked = detect_langs(text)
        except LangDetectException:
            return DetectedLanguage(None, 0.0)
    best = ranked[0]
    short = latin and len(words) < min_words
    if latin and best.prob < (0.99 if short else min_confidence):
        return DetectedLanguage(None, float(best.prob))
    return DetectedLanguage(str(best.lang), float(best.prob))
