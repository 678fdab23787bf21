"""The retrieval query for agent suggestions: the customer's last message, made to stand on
its own with what was said just before it by either side.

The agent often names the thing the customer then asks about ("It's called the Ridge 3P" ->
"does it fit three people?"), so unlike the bot's rewrite this borrows from the agent's and
the bot's turns too: the content words of the last few turns, most recent first.
"""

from __future__ import annotations

import re

from core.types import Author, Turn

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")
# Words that carry no subject matter in a customer message (speech fillers included).
STOP_WORDS = frozenset(
    "a an and are be can could do does for from have how i if in is it me my of on or please so that the this "
    "to was what when where which why will with you your hi hello thanks thank ok okay yes no sure great perfect "
    "um umm ummm uh hmm just also there their they them it's i'm i'd i'll we we're let see would like want need "
    "know get got one all right well good fine place called sounds definitely".split()
)


def conversation_query(turns: list[Turn], *, history: int = 3, max_borrowed: int = 12) -> str:
    customer_idx = [i for i, t in enumerate(turns) if t.author == Author.customer and t.text.strip()]
    if not customer_idx:
        return ""
    last_i = customer_idx[-1]
    last = turns[last_i].text.strip()
    said = {w.lower() for w in _WORD.findall(last)}
    borrowed: list[str] = []
    for t in reversed(turns[max(0, last_i - history) : last_i]):
        if t.author == Author.system:
            continue
        for w in _WORD.findall(t.text):
            lw = w.lower()
            if lw not in STOP_WORDS and lw not in said and lw not in borrowed and not lw.isdigit():
                borrowed.append(lw)
    return f"{last} {' '.join(borrowed[:max_borrowed])}".strip()


def whole_conversation_query(turns: list[Turn], *, max_words: int = 40) -> str:
    """The whole conversation as one search query: the content words of every customer and
    agent turn, the latest first (a long conversation keeps its most recent ``max_words``),
    each word once. Finds the article for the situation the conversation as a whole
    describes, which the last message alone often does not name ("so where's my refund?")."""
    words: list[str] = []
    seen: set[str] = set()
    for t in reversed(turns):
        if t.author not in (Author.customer, Author.agent):
            continue
        for w in _WORD.findall(t.text):
            lw = w.lower()
            if lw not in STOP_WORDS and lw not in seen and not lw.isdigit():
                seen.add(lw)
                words.append(w)
    return " ".join(words[:max_words])
