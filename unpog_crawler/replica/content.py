"""The replica's Quarterly as plain data: issues, articles and one whole-issue page.

The prose is original (written for the replica); only the *shape* follows the real site:
Welcome Notes that state their issue in prose, event reports that open with a date/place
line, Word-pasted bodies, footnotes, bullets and signature blocks with no "By".

Besides what the pages show, each `Article` records what a correct parser should extract
(`stated_issue`, `event`, `authors`, `footnotes`, `charset`): end-to-end tests compare the
archive against these fields, so the expectation lives next to the text that implies it.
"""

from __future__ import annotations

from dataclasses import dataclass

LAYOUTS = ("table", "div_br", "div_p")
LIST_LINK_STYLES = ("href", "goView", "fnView")
HEAD_OF_OFFICE = ("CHUNG Chae Gun", "Head of UNPOG/DPIDG/UN DESA")


@dataclass(frozen=True)
class Bullets:
    """A list of items: `<ul><li>` in the div_p layout, one line/paragraph each elsewhere."""

    items: tuple[str, ...]


# A body block: a paragraph of text, or a list.
Block = str | Bullets


@dataclass(frozen=True)
class Event:
    """An event report's date/place line and the values a parser should read from it."""

    line: str  # as printed, e.g. "Oct 24-26, 2018/ Incheon, Republic of Korea"
    start: str  # ISO date
    end: str  # ISO date; equals `start` for a one-day event
    place: str
    repeat_name: bool = True  # the event name is printed again after the line


@dataclass(frozen=True)
class Image:
    src: str  # site-absolute path under /upload/
    alt: str = ""


@dataclass(frozen=True)
class Attachment:
    file: str  # file name, served by /common/download.asp?path=board&file=<file>

    @property
    def href(self) -> str:
        return f"/common/download.asp?path=board&file={self.file}"


@dataclass(frozen=True)
class Article:
    sn: int
    kind: str  # "welcome_note" | "article" (items.KINDS)
    title: str  # the heading, and the share box line "UNPOG : <title>"
    issue: str  # issue it belongs to (by sn order; not printed on event reports)
    date: str  # list page date column, YYYY-MM-DD
    body: tuple[Block, ...]
    layout: str = "div_p"  # one of LAYOUTS
    stated_issue: str | None = None  # issue the page itself states (Welcome Notes only)
    event: Event | None = None
    repeat_heading: bool = False  # heading printed again as the body's first line
    authors: tuple[str, ...] = ()  # signature / author block lines, in page order
    footnotes: tuple[str, ...] = ()  # full footnote texts, starting "[n] "
    authors_first: bool = False  # author block printed before the footnotes
    rule: bool = False  # a "____" rule between body and footnotes
    # Images and attachment links follow the first body paragraph, so that the last lines
    # of a body are always prose, footnotes or the author block (never a file name).
    images: tuple[Image, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    charset: str = "utf-8"  # "utf-8" or "euc-kr" (the latter declared only in <meta>)
    share_inside: bool = False  # share box inside the body container
    share_rss: bool = True  # RSS link present in the share box
    # Markup inserted as is at the top of the article container: hostile-content tests
    # embed XSS vectors here (everything else on a page is escaped text).
    raw_html: str = ""
    list_link: str = "href"  # how the list page links it: LIST_LINK_STYLES
    hits: int = 100  # view counter start
    markup_rev: int = 0  # bumped by touch_markup(): same words, different markup


@dataclass(frozen=True)
class IssueSection:
    heading: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class IssuePage:
    """A whole-issue page, `/page/sub4_3_<year>_<season>.asp`."""

    slug: str  # file stem, e.g. "sub4_3_2022_winter"
    heading: str
    stated_issue: str
    sections: tuple[IssueSection, ...]

    @property
    def path(self) -> str:
        return f"/page/{self.slug}.asp"


WN = "welcome_note"
ART = "article"

ARTICLES: tuple[Article, ...] = (
    # ---- Issue No. 2 (2018) -------------------------------------------------------------
    Article(
        sn=17,
        kind=WN,
        title="Welcome Note",
        issue="No. 2",
        stated_issue="No. 2",
        date="2018-07-02",
        layout="table",
        hits=412,
        list_link="goView",
        body=(
            "It is my pleasure to present the 2nd UNPOG Public Governance Quarterly Newsletter "
            "to our partners, alumni and friends across Asia and the Pacific.",
            "Our office has spent the past months listening to the governments we serve. "
            "What we heard was clear: public servants want practical tools, not only "
            "declarations, to turn the 2030 Agenda into daily administrative practice.",
            "This issue gathers short reports from our workshops and a note on the "
            "“whole-of-government” approach that several member states asked us to explain. "
            "We hope you find them useful, and we welcome your ideas for the next issue.",
        ),
        authors=HEAD_OF_OFFICE,
    ),
    Article(
        sn=18,
        kind=ART,
        title="Why Whole-of-Government Matters for the SDGs",
        issue="No. 2",
        date="2018-07-02",
        layout="table",
        hits=233,
        body=(
            "Ministries rarely fail for lack of effort; they fail when their efforts pull in "
            "different directions. A water ministry and a health ministry may each meet their "
            "own targets while a district still lacks safe drinking water.",
            "Whole-of-government working asks agencies to plan against shared outcomes. In "
            "practice this means joint budgeting lines, common data standards and a small "
            "coordination unit with a real mandate, rather than another committee.",
            "None of this is new, but the SDGs make the cost of fragmentation visible: the "
            "goals are indivisible, so an administration’s structure must be able to act on "
            "them together.",
        ),
        authors=("Mina SEO", "Research Assistant, UNPOG/DPIDG/UN DESA"),
    ),
    Article(
        sn=20,
        kind=ART,
        title="Regional Workshop on Open Government Data",
        issue="No. 2",
        date="2018-07-03",
        layout="div_br",
        hits=187,
        share_inside=True,
        event=Event(
            line="Jun 12-13, 2018/ Colombo, Sri Lanka",
            start="2018-06-12",
            end="2018-06-13",
            place="Colombo, Sri Lanka",
        ),
        body=(
            "Thirty-two officials from nine countries met in Colombo to compare how their "
            "governments publish data and who actually uses it.",
            "Participants agreed that portals alone do not create value. Several delegations "
            "described datasets that were released once and never updated; others showed "
            "how a single well-kept dataset on school enrolment changed local budget debates.",
            "The workshop closed with draft action plans that each delegation will review "
            "with its national statistics office before the end of the year.",
        ),
        authors=("Daniel OKAFOR", "Programme Management Officer, UNPOG", "Ji-hye KANG"),
    ),
    Article(
        sn=28,
        kind=ART,
        title="Interview: Public Service Values in a Digital Age",
        issue="No. 2",
        date="2018-08-20",
        layout="div_p",
        hits=95,
        body=(
            "We asked a retired civil service commissioner what has changed since she joined "
            "the public service in the 1980s.",
            "“The values have not changed,” she said. “Integrity, impartiality and service "
            "still come first. What changed is the speed at which a mistake becomes public, "
            "and the tools we have to fix it.”",
            "She encouraged young officials to learn how digital systems make decisions, so "
            "that they can explain those decisions to the citizens affected by them.",
        ),
        authors=("Editorial Team", "UNPOG Public Governance Quarterly"),
    ),
    # ---- Q4 2018 ------------------------------------------------------------------------
    Article(
        sn=51,
        kind=WN,
        title="Welcome Note",
        issue="2018-Q4",
        stated_issue="2018-Q4",
        date="2019-01-07",
        layout="table",
        hits=538,
        repeat_heading=True,
        body=(
            "During the 4th Quarter of 2018, UNPOG completed the busiest season in its "
            "history, with three international events hosted in Korea and two advisory "
            "missions abroad.",
            "The Capacity Development Workshop in Incheon brought together senior officials "
            "from across the region to discuss how institutions can become more effective, "
            "accountable and inclusive. A month later, a policy dialogue in Seoul looked at "
            "how governments can use frontier technologies responsibly.",
            "I thank our partners in the Ministry of the Interior and Safety and in the "
            "Incheon Metropolitan City for their steady support, and our colleagues in New "
            "York for working with us as one team.",
        ),
        authors=HEAD_OF_OFFICE,
    ),
    Article(
        sn=52,
        kind=ART,
        title="2018 Capacity Development Workshop on Effective, Accountable and Inclusive "
        "Institutions",
        issue="2018-Q4",
        date="2019-01-07",
        layout="div_br",
        hits=301,
        list_link="fnView",
        event=Event(
            line="Oct 24-26, 2018/ Incheon, Republic of Korea",
            start="2018-10-24",
            end="2018-10-26",
            place="Incheon, Republic of Korea",
        ),
        body=(
            "Over three days, 45 participants from 18 countries examined the institutional "
            "principles behind Goal 16 and tested them against cases from their own "
            "administrations.",
            "The first day focused on effectiveness: how to measure it, and why output "
            "targets often hide poor outcomes. On the second day, participants worked in "
            "small groups on accountability mechanisms, from supreme audit institutions to "
            "citizen report cards.",
            "On the final day, the group turned to inclusiveness. Participants from small "
            "island states noted that “leaving no one behind” takes on a particular meaning "
            "when a ministry has fewer than twenty staff.",
            "The workshop’s recommendations will feed into UNPOG’s 2019 training curriculum.",
        ),
        authors=(
            "Hyun-woo LEE",
            "Associate Programme Officer, UNPOG/DPIDG/UN DESA",
            "Contributors: Sarah MENDES, Tae-yang KIM",
        ),
    ),
    Article(
        sn=53,
        kind=ART,
        title="Policy Dialogue on Frontier Technologies and Public Governance",
        issue="2018-Q4",
        date="2019-01-08",
        layout="div_p",
        hits=264,
        share_inside=True,
        share_rss=False,
        rule=True,
        event=Event(
            line="Nov 27, 2018/ Seoul, Republic of Korea",
            start="2018-11-27",
            end="2018-11-27",
            place="Seoul, Republic of Korea",
        ),
        body=(
            "Artificial intelligence and blockchain were the headline topics, but the "
            "dialogue kept returning to an older question: who is accountable when an "
            "automated system gets a decision wrong?[1]",
            "□ Session 1: Frontier technologies in service delivery",
            "○ Speakers described chatbots that answer tax questions and sensors that warn "
            "of flooding; most projects were still pilots.",
            "□ Session 2: Governance of data",
            "○ Participants stressed that data protection laws must be matched by the "
            "capacity to enforce them.[2]",
            Bullets(
                items=(
                    "• Start with a clear public problem, not with a technology",
                    "• Publish how automated decisions are made",
                    "• Keep a human route of appeal",
                )
            ),
            "Participants agreed to meet again in 2019 to review what the pilots had taught them.",
        ),
        footnotes=(
            "[1] United Nations, E-Government Survey 2018, chapter 8.",
            "[2] See the OECD Recommendation on Digital Government Strategies (2014).",
        ),
        authors=(
            "Aisha RAHMAN",
            "Governance and Public Administration Expert, UNPOG",
            "Contributors: Min-jun PARK, Lucia ROSSI",
        ),
        images=(Image("/upload/editor/2018_policy_dialogue.jpg", "Policy dialogue panel"),),
        attachments=(Attachment("policy_dialogue_summary_2018.pdf"),),
    ),
    Article(
        sn=57,
        kind=ART,
        title="Expert Group Meeting on Public Service Innovation",
        issue="2018-Q4",
        date="2019-01-10",
        layout="table",
        hits=178,
        event=Event(
            line="Dec 11-12, 2018/ Bangkok, Thailand",
            start="2018-12-11",
            end="2018-12-12",
            place="Bangkok, Thailand",
        ),
        body=(
            "Twelve experts met in Bangkok to review what makes innovation in the public "
            "sector last beyond a single champion or a single budget cycle.",
            "Their answer was institutional: innovation labs survive when they are attached "
            "to a central ministry, report results publicly, and are allowed to stop projects "
            "that do not work.",
            "The meeting’s conclusions will be published as a short policy brief in 2019.",
        ),
        authors=(
            "Pedro ALVES",
            "Consultant, UNPOG/DPIDG/UN DESA",
            "Contributors: So-yeon CHOI",
        ),
    ),
    # ---- Q1 2019 ------------------------------------------------------------------------
    Article(
        sn=72,
        kind=WN,
        title="Welcome Note",
        issue="2019-Q1",
        stated_issue="2019-Q1",
        date="2019-04-15",
        layout="div_p",
        hits=621,
        list_link="goView",
        body=(
            "In the first quarter of 2019, UNPOG/DPIDG organized more activities than in any "
            "opening quarter since the office moved to Songdo.",
            "A learning conference in January brought government, civil society and private "
            "sector participants together from two continents. In March, a webinar on "
            "disaster risk reduction reached more than one hundred viewers, many of them "
            "officials working far from capital cities.",
            "We also hosted a study visit on e-government for officials from five countries, "
            "organized with the Ministry of the Interior and Safety.",
            "Our thanks go to every partner who made these activities possible. We look "
            "forward to the year ahead.",
        ),
        authors=HEAD_OF_OFFICE,
    ),
    Article(
        sn=73,
        kind=ART,
        title="Learning Conference on Transforming Institutions for the 2030 Agenda",
        issue="2019-Q1",
        date="2019-04-15",
        layout="table",
        hits=242,
        event=Event(
            line="Jan 23-24, 2019/ Shanghai, China",
            start="2019-01-23",
            end="2019-01-24",
            place="Shanghai, China",
        ),
        body=(
            "The conference asked a practical question: which institutional reforms have "
            "actually changed outcomes for citizens, and why?",
            "Delegations from Asia and Africa presented reforms in procurement, local "
            "service delivery and civil registration. Several speakers argued that the most "
            "durable reforms were the least visible ones.",
            "Participants left with a shared checklist for assessing institutional "
            "readiness, which UNPOG will pilot with two governments this year.",
        ),
        authors=("Wei ZHANG", "Programme Officer, UNPOG", "Contributors: Grace MWANGI"),
    ),
    Article(
        sn=74,
        kind=ART,
        title="Youth Speech Contest on the SDGs",
        issue="2019-Q1",
        date="2019-04-16",
        layout="div_br",
        hits=156,
        charset="euc-kr",
        share_inside=True,
        event=Event(
            line="Mar 8, 2019/ Incheon, Republic of Korea",
            start="2019-03-08",
            end="2019-03-08",
            place="Incheon, Republic of Korea",
            repeat_name=False,
        ),
        body=(
            "Students from eleven universities in Incheon competed in a speech contest on "
            "how young people can hold public institutions to account.",
            "The winning speech described a student team that mapped broken streetlights "
            "and shared the map with the district office, which repaired most of them "
            "within a month.",
            "대회 안내: 본 대회는 인천 지역 대학생을 대상으로 하며, 발표는 영어로 진행됩니다. "
            "수상자에게는 유엔 거버넌스센터 인턴십 면접 기회가 주어집니다.",
            "UNPOG thanks the judges and the volunteers who made the day a success.",
        ),
        authors=("Soo-min HAN", "Communications Assistant, UNPOG"),
    ),
    Article(
        sn=76,
        kind=ART,
        title="Webinar: Government Innovation and Disaster Risk Reduction",
        issue="2019-Q1",
        date="2019-04-17",
        layout="div_p",
        hits=201,
        authors_first=True,
        event=Event(
            line="Mar 27, 2019/ Online",
            start="2019-03-27",
            end="2019-03-27",
            place="Online",
            repeat_name=False,
        ),
        body=(
            "More than one hundred participants joined a two-hour webinar on how frontier "
            "technologies can make disaster preparedness faster and fairer.[1]",
            "Presenters showed early-warning systems that send alerts in local languages, "
            "and warned that such systems fail the people who have no phone signal.",
            "The recording and slides are shared with registered participants.",
        ),
        authors=("Rahul MEHTA", "Programme Expert, UNPOG/DPIDG"),
        footnotes=("[1] Co-organized with GETI and APCICT.",),
        images=(Image("/upload/editor/webinar_2019.png", "Webinar screenshot"),),
    ),
    # ---- Q2 2019 ------------------------------------------------------------------------
    Article(
        sn=77,
        kind=WN,
        title="Welcome Note",
        issue="2019-Q2",
        stated_issue="2019-Q2",
        date="2019-07-08",
        layout="div_br",
        hits=389,
        body=(
            "This issue covers the second quarter of 2019, a period in which UNPOG "
            "strengthened its partnerships with universities and regional training "
            "institutes.",
            "We signed two new cooperation agreements and welcomed our first cohort of "
            "visiting researchers, who will study local government capacity in the Pacific.",
            "As always, I invite readers to tell us which topics matter most to your institutions.",
        ),
        authors=HEAD_OF_OFFICE,
    ),
    Article(
        sn=78,
        kind=ART,
        title="Study Visit on Advancing E-Government Development",
        issue="2019-Q2",
        date="2019-07-08",
        layout="div_p",
        hits=144,
        event=Event(
            line="Apr 1-5, 2019/ Seoul, Republic of Korea",
            start="2019-04-01",
            end="2019-04-05",
            place="Seoul, Republic of Korea",
        ),
        body=(
            "Fifteen officials visited Korean agencies to see how one-stop online services "
            "are designed, funded and maintained.",
            "The group spent a day at a data centre and another at a district office, where "
            "staff explained how complaints from citizens feed back into service design.",
            "Each delegation drafted a short roadmap for its own e-government strategy.",
        ),
        authors=("Nadia KARIMOVA", "Associate Expert, UNPOG", "Contributors: Joon-ho YOO"),
    ),
    Article(
        sn=80,
        kind=ART,
        title="Research Note: Measuring Trust in Local Government",
        issue="2019-Q2",
        date="2019-07-09",
        layout="table",
        hits=118,
        share_inside=True,
        share_rss=False,
        body=(
            "Surveys of trust in government usually ask about the national level. This note "
            "summarizes a pilot that asked residents about their municipality instead.",
            "Trust was highest where residents could name a specific service that had "
            "improved, and lowest where they had never heard back about a complaint.",
            "The full questionnaire is available on request from the research team.",
        ),
        authors=("Eun-ji BAEK", "Research Associate, UNPOG/DPIDG/UN DESA"),
    ),
    # ---- Q3 2019 ------------------------------------------------------------------------
    Article(
        sn=81,
        kind=WN,
        title="Welcome Note",
        issue="2019-Q3",
        stated_issue="2019-Q3",
        date="2019-10-14",
        layout="div_p",
        hits=265,
        body=(
            "In the third quarter of 2019, UNPOG focused on preparing the regional "
            "symposium and on supporting countries that presented Voluntary National "
            "Reviews.",
            "Our staff also contributed to the High-level Political Forum in New York, where "
            "the institutional aspects of Goal 16 received more attention than ever before.",
        ),
        authors=HEAD_OF_OFFICE,
    ),
    Article(
        sn=83,
        kind=ART,
        title="Voluntary National Reviews: Lessons from the Region",
        issue="2019-Q3",
        date="2019-10-15",
        layout="div_br",
        hits=87,
        body=(
            "Seven countries from the region presented Voluntary National Reviews this year. "
            "We read them with one question in mind: how do governments describe their own "
            "institutions?",
            "Most reviews listed new laws and plans; fewer reported whether institutions had "
            "the staff and budget to implement them. The strongest reviews were candid "
            "about gaps.",
        ),
        authors=("Tomás HERRERA", "Intern, UNPOG"),
    ),
)

ISSUE_PAGES: tuple[IssuePage, ...] = (
    IssuePage(
        slug="sub4_3_2022_winter",
        heading="The UNPOG Public Governance Quarterly - 2022 Winter",
        stated_issue="2022 Winter",
        sections=(
            IssueSection(
                "Welcome Note",
                (
                    "This winter issue looks back on a year in which most of our training "
                    "returned to the classroom, while the online courses we built during the "
                    "pandemic kept reaching officials who cannot travel.",
                ),
            ),
            IssueSection(
                "Highlights",
                (
                    "The 2022 Regional Symposium gathered participants from 24 countries to "
                    "discuss how digital government can be made “inclusive by design”.",
                    "A new research series examines how small administrations can share "
                    "services across borders.",
                ),
            ),
        ),
    ),
)


def default_articles() -> dict[int, Article]:
    """A fresh mapping sn -> Article (the dataclasses are frozen, so sharing them is safe)."""
    return {article.sn: article for article in ARTICLES}


def default_issue_pages() -> dict[str, IssuePage]:
    return {page.slug: page for page in ISSUE_PAGES}
