"""Contact-center measures for supervisors, computed from the Store (docs/analytics.md).

May import ``core`` and ``knowledge`` only. The public surface is pinned below."""

from analytics.config import AnalyticsParams
from analytics.csat import CsatBook, CsatIn, CsatPublic, CsatStatus
from analytics.errors import AlreadyRated, BadAnalyticsConfig, BadFilter, NotRatable
from analytics.filters import Bucket, MetricsFilter
from analytics.gaps import GapFinder
from analytics.report import ConversationsReport, GapsReport, MetricsReport
from analytics.service import MEASURES, TABLES, Analytics

__all__ = [
    "MEASURES",
    "TABLES",
    "AlreadyRated",
    "Analytics",
    "AnalyticsParams",
    "BadAnalyticsConfig",
    "BadFilter",
    "Bucket",
    "ConversationsReport",
    "CsatBook",
    "CsatIn",
    "CsatPublic",
    "CsatStatus",
    "GapFinder",
    "GapsReport",
    "MetricsFilter",
    "MetricsReport",
    "NotRatable",
]
