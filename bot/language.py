"""The bot's language detection lives in ``core.language`` (the copilot needs it too, and
bot and copilot never import each other); this module keeps the bot's import path."""

from core.language import NAMES, DetectedLanguage, detect_language

__all__ = ["NAMES", "DetectedLanguage", "detect_language"]
