"""Version numbers of an article never repeat in its tenant's lifetime, across deletes.

A chunk's id is ``{article}::v{version}::{n}``, and what holds chunks holds them by that id
or by ``(article, version)``: every worker's keyword index (it adds only the live versions
it does not hold yet), kept chunks, vectors kept per chunk. If an article deleted and loaded
again started again at version 1, the old ids would name the new text, and a worker still
holding the old text would keep serving it. So:

- ``bury``: a delete records the article's last version (``ArticleTombstone``) in the same
  unit of work as the delete;
- ``deleted_versions``: a load numbers an article that has no row from the highest of its
  tombstone and the tenant's floor, plus one (still "added": it has no live version);
- ``revive``: the unit of work that creates the article again removes its tombstone, and
  refuses a number at or below it (a load that read the numbers before another worker
  deleted, loaded and deleted the article again);
- ``forget``: erasing a customer removes the tombstones of the articles published from their
  drafts (an id is a slug of its title: the customer's data) and raises the tenant's floor
  to their last versions instead;
- ``forget_unfinished``: erasure also removes version rows that never got their article row
  (a load reserves its number, ``knowledge/kb.py: _reserve``, and died before its commit):
  they hold a text and an id no one can find by its source; the floor keeps their numbers;
- ``close_tenant``: deleting a tenant (which erases its tombstones) raises the floor kept in
  ``kb_state``, which outlives the tenant, to the highest number the tenant used, and bumps
  the tenant's KB counter in the same unit of work, so every worker drops its pointers and a
  tenant created again with the same id never reuses an old number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.db.schema import Article, ArticleTombstone, ArticleVersion, KbState, utcnow
from core.db.store import session_tenant
from core.errors import Conflict

__all__ = ["bury", "close_tenant", "deleted_versions", "forget", "forget_unfinished", "revive"]


def deleted_versions(session: Session) -> tuple[dict[str, int], int]:
    """In a tenant session: (deleted article id -> its last version, the tenant's floor). A
    new article's first version is ``max(last.get(id, 0), floor) + 1``."""
    tenant_id = session_tenant(session)
    last = {a: int(v) for a, v in session.execute(select(ArticleTombstone.article_id, ArticleTombstone.last_version))}
    floor = session.scalar(select(KbState.version_floor).where(KbState.tenant_id == tenant_id))
    return last, int(floor or 0)


def bury(session: Session, article_id: str, last_version: int) -> None:
    """In the unit of work that deletes ``article_id`` (tenant session): it used numbers up to
    ``last_version``."""
    row = session.scalars(select(ArticleTombstone).where(ArticleTombstone.article_id == article_id)).first()
    if row is None:
        session.add(ArticleTombstone(article_id=article_id, last_version=last_version))
    else:
        row.last_version = max(row.last_version, last_version)
        row.deleted_at = utcnow()


def revive(session: Session, numbered: Mapping[str, int]) -> None:
    """In the unit of work that creates these articles (id -> first version) again (tenant
    session): their tombstones go. Raises ``Conflict`` for a number the article has used."""
    if not numbered:
        return
    rows = session.scalars(select(ArticleTombstone).where(ArticleTombstone.article_id.in_(list(numbered))))
    for row in rows:
        if numbered[row.article_id] <= row.last_version:
            raise Conflict(
                f"the article {row.article_id!r} was deleted while this load ran (it had reached version "
                f"{row.last_version}); load it again"
            )
        session.delete(row)


def close_tenant(session: Session, tenant_id: str) -> None:
    """In the unit of work that deletes the tenant's rows (admin session, before they go):
    raise the tenant's floor to the highest version number it used and bump its KB counter."""
    used = [
        session.scalar(select(func.max(column)).where(model.tenant_id == tenant_id))
        for model, column in (
            (ArticleVersion, ArticleVersion.version),
            (Article, Article.current_version),
            (ArticleTombstone, ArticleTombstone.last_version),
        )
    ]
    floor = session.scalar(select(KbState.version_floor).where(KbState.tenant_id == tenant_id))
    highest = max([int(floor or 0)] + [int(n or 0) for n in used])
    done = session.execute(
        update(KbState)
        .where(KbState.tenant_id == tenant_id)
        .values(generation=KbState.generation + 1, version_floor=highest)
    )
    if not getattr(done, "rowcount", 0):
        session.add(KbState(tenant_id=tenant_id, generation=1, version_floor=highest))


def _raise_floor(session: Session, highest: int) -> None:
    tenant_id = session_tenant(session)
    state = session.get(KbState, tenant_id)
    if state is None:
        session.add(KbState(tenant_id=tenant_id, generation=0, version_floor=highest))
    elif int(state.version_floor or 0) < highest:
        state.version_floor = highest


def forget_unfinished(session: Session) -> int:
    """In a tenant session (erasure): remove the version rows of article ids that have no
    article row — numbers reserved by loads that never committed (a load still running then
    fails its commit with "load it again"); the tenant's floor rises to their versions.
    Returns how many rows went."""
    rows = list(
        session.scalars(
            select(ArticleVersion).where(~ArticleVersion.article_id.in_(select(Article.external_id)))
        )
    )
    return _drop_keeping_numbers(session, rows, [int(r.version) for r in rows])


def forget(session: Session, article_ids: Iterable[str]) -> int:
    """In a tenant session (erasure): remove the tombstones of ``article_ids`` and raise the
    tenant's floor to their last versions, so no number is used again without keeping the
    ids. Returns how many tombstones went."""
    ids = list(article_ids)
    if not ids:
        return 0
    rows = list(session.scalars(select(ArticleTombstone).where(ArticleTombstone.article_id.in_(ids))))
    return _drop_keeping_numbers(session, rows, [int(r.last_version) for r in rows])


def _drop_keeping_numbers(session: Session, rows: Sequence[object], versions: Sequence[int]) -> int:
    """Delete ``rows`` (they held the numbers ``versions``) and raise the tenant's floor to
    the highest of them; returns how many went."""
    if not rows:
        return 0
    for row in rows:
        session.delete(row)
    _raise_floor(session, max(versions))
    session.flush()
    return len(rows)
