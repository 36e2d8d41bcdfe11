"""Table-driven tests of the pure text helpers."""

from __future__ import annotations

import pytest

from unpog_crawler.parse.text import (
    issue_from_issue_page,
    normalise_text,
    parse_date_line,
    stated_issue,
)


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("  plain  ", "plain"),
        ("a\u00a0b", "a b"),  # NBSP from Word
        ("a\u2002\u2009\u202f\u3000b", "a b"),  # other Unicode spaces, collapsed
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("soft\u00adhyphen", "softhyphen"),
        ("tab\t\tand   spaces", "tab and spaces"),
        ("line one  \n  line two", "line one\nline two"),  # lines kept, each stripped
        ("cafe\u0301", "café"),  # NFC
        ("“quoted” it’s – dash", "“quoted” it’s – dash"),  # typography untouched
        ("recieve teh typo", "recieve teh typo"),  # words untouched
        ("\u00a0\u200b", ""),
    ],
)
def test_normalise_text(raw, expected):
    assert normalise_text(raw) == expected


@pytest.mark.parametrize(
    "line,expected",
    [
        (
            "Oct 24-26, 2018/ Incheon, Republic of Korea",
            ("2018-10-24", "2018-10-26", "Incheon, Republic of Korea"),
        ),
        (
            "Nov 27, 2018/ Seoul, Republic of Korea",
            ("2018-11-27", "2018-11-27", "Seoul, Republic of Korea"),
        ),
        ("Oct 30-Nov 1, 2018/ Incheon", ("2018-10-30", "2018-11-01", "Incheon")),
        ("October 24 – 26, 2018 / Incheon", ("2018-10-24", "2018-10-26", "Incheon")),
        ("Sept 3-5, 2019/ Bangkok, Thailand", ("2019-09-03", "2019-09-05", "Bangkok, Thailand")),
        ("Sep. 3, 2019/ Online", ("2019-09-03", "2019-09-03", "Online")),
        ("September 30 - October 2, 2019/ Incheon", ("2019-09-30", "2019-10-02", "Incheon")),
        ("Dec 30, 2018 - Jan 2, 2019/ Seoul", ("2018-12-30", "2019-01-02", "Seoul")),
        ("Nov 27, 2018", ("2018-11-27", "2018-11-27", "")),
        ("Nov\u00a027,\u00a02018/\u00a0Seoul", ("2018-11-27", "2018-11-27", "Seoul")),
        ("Feb 30, 2019/ Nowhere", None),  # no such day
        ("Oct 26-24, 2018/ Incheon", None),  # ends before it starts
        ("On Nov 27, 2018 the office met partners.", None),  # prose, not a date line
        ("Welcome Note", None),
        ("", None),
    ],
)
def test_parse_date_line(line, expected):
    assert parse_date_line(line) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("During the 4th Quarter of 2018, UNPOG held events.", "2018-Q4"),
        ("In the first quarter of 2019, the office grew.", "2019-Q1"),
        ("in the third quarter of the year 2020", "2020-Q3"),
        ("Results for Q2 2021 were strong.", "2021-Q2"),
        ("We share the 2nd UNPOG Public Governance Quarterly Newsletter.", "No. 2"),
        ("This second Quarterly covers the summer.", "No. 2"),
        ("the twelfth issue of our newsletter", "No. 12"),
        ("Issue No. 7 of the newsletter", "No. 7"),
        # Quarter + year wins over a number, wherever each appears.
        ("The 5th UNPOG Public Governance Quarterly. During the 3rd Quarter of 2019 …", "2019-Q3"),
        # The first stated quarter is the issue's own; a comparison follows it.
        ("In the first quarter of 2019, more than in the first quarter of 2018.", "2019-Q1"),
        ("The fifth quarter of 2019", None),  # not a quarter
        ("A quarterly report on governance.", None),
        ("", None),
    ],
)
def test_stated_issue(text, expected):
    assert stated_issue(text) == expected


@pytest.mark.parametrize(
    "path,expected",
    [
        ("sub4_3_2022_winter.asp", "2022 Winter"),
        ("/page/sub4_3_2023_spring.asp", "2023 Spring"),
        ("https://unpog.org/page/SUB4_3_2023_Summer.asp?x=1", "2023 Summer"),
        ("/page/sub4_3_view.asp?sn=72", None),
        ("/page/sub4_3_list.asp", None),
    ],
)
def test_issue_from_issue_page(path, expected):
    assert issue_from_issue_page(path) == expected
