"""The `quarterly` spider: The UNPOG Public Governance Quarterly.

Its list pages link every Welcome Note and article (plain and `javascript:` links), and
articles link their neighbours; whole-issue pages (`sub4_3_<year>_<season>.asp`) are
archived when linked. All of that is the board engine's work: this is a declaration.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from unpog_crawler import site
from unpog_crawler.spiders.boards import BoardSpider


class QuarterlySpider(BoardSpider):
    name = "quarterly"

    def declare_boards(self, settings: Any) -> tuple[site.Board, ...]:
        # The list page's live name is unconfirmed, so it is a setting.
        list_path = settings.get("UNPOG_QUARTERLY_LIST_PATH") or site.QUARTERLY.list_path
        return (dataclasses.replace(site.QUARTERLY, list_path=list_path),)
