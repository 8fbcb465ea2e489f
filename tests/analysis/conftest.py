"""A small hand-made toy dataset for the analysis tests.

Every expected value in tests/analysis is computed by hand from the tables
below; the tables are written out here so the hand calculations can be
checked against them.

Participants (listed out of order on purpose, to test sorting):
    E01, E02 entrepreneurs; I01, I02 intermediaries.

Codebook (codebook order; code-level codes marked *):
    motivations                 theme
      MOT-BUS                   subtheme  (parent motivations)
        MOT-LEADS *             "Finding leads"                (parent MOT-BUS)
      MOT-POL                   subtheme  (parent motivations)
        MOT-TARGETS *           "Delivering programme targets" (parent MOT-POL)
      MOT-PEER *                "Peer support"                 (parent = the theme: no sub-theme)
    outcomes                    theme
      OUT-TANG                  subtheme  (parent outcomes)
        OUT-SALES *             "New sales"                    (parent OUT-TANG)
        OUT-NONE *              "Nothing concrete"             (never applied)

Segments (length of text in characters) and codings:

    segment   who  len  coder_a                    coder_b               coder_c
    E01-001   E01   30  MOT-LEADS, MOT-PEER        MOT-LEADS
    E01-002   E01   20  MOT-LEADS                  MOT-LEADS, MOT-PEER
    E02-001   E02   34  MOT-LEADS
    E02-002   E02   10  MOT-PEER, OUT-SALES
    I01-001   I01   25  MOT-LEADS, MOT-TARGETS     MOT-TARGETS
    I01-002   I01   15  MOT-TARGETS                MOT-TARGETS
    I02-001   I02   35  MOT-TARGETS                                      MOT-TARGETS
    I02-002   I02   50  OUT-SALES

So coder_a coded everything; coder_b double-coded E01 and I01; coder_c
double-coded I02 (one segment).

Per interviewee, coder_a:
    E01 {MOT-LEADS, MOT-PEER}
    E02 {MOT-LEADS, MOT-PEER, OUT-SALES}
    I01 {MOT-LEADS, MOT-TARGETS}
    I02 {MOT-TARGETS, OUT-SALES}
"""

from __future__ import annotations

import pandas as pd
import pytest

CODE_IDS = ["MOT-LEADS", "MOT-TARGETS", "MOT-PEER", "OUT-SALES", "OUT-NONE"]

TEXTS = {
    "E01-001": "I go for leads and for company",  # 30 characters
    "E01-002": "One lead pays a year",  # 20
    "E02-001": "You meet buyers you would not meet",  # 34
    "E02-002": "Peers help",  # 10
    "I01-001": "Leads count as our target",  # 25
    "I01-002": "We report them.",  # 15
    "I02-001": "The programme pays us per attendee.",  # 35
    "I02-002": "One firm told us the meetings won them a contract.",  # 50
}

LENGTHS = {
    "E01-001": 30,
    "E01-002": 20,
    "E02-001": 34,
    "E02-002": 10,
    "I01-001": 25,
    "I01-002": 15,
    "I02-001": 35,
    "I02-002": 50,
}


@pytest.fixture
def code_ids() -> list[str]:
    """Code-level codes of the toy codebook, in codebook order."""
    return list(CODE_IDS)


@pytest.fixture
def participants() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "participant_id": ["E01", "I01", "E02", "I02"],
            "perspective": ["entrepreneur", "intermediary", "entrepreneur", "intermediary"],
            "organisation_type": ["ict_sme", "agency", "ict_sme", "hei"],
        }
    )


@pytest.fixture
def codebook() -> pd.DataFrame:
    rows = [
        ("motivations", "motivations", "theme", None, "Motivations"),
        ("MOT-BUS", "motivations", "subtheme", "motivations", "Business development"),
        ("MOT-LEADS", "motivations", "code", "MOT-BUS", "Finding leads"),
        ("MOT-POL", "motivations", "subtheme", "motivations", "Policy drivers"),
        ("MOT-TARGETS", "motivations", "code", "MOT-POL", "Delivering programme targets"),
        ("MOT-PEER", "motivations", "code", "motivations", "Peer support"),
        ("outcomes", "outcomes", "theme", None, "Outcomes"),
        ("OUT-TANG", "outcomes", "subtheme", "outcomes", "Tangible outcomes"),
        ("OUT-SALES", "outcomes", "code", "OUT-TANG", "New sales"),
        ("OUT-NONE", "outcomes", "code", "OUT-TANG", "Nothing concrete"),
    ]
    table = pd.DataFrame(rows, columns=["code_id", "theme", "level", "parent_id", "name"])
    table["definition"] = "Definition of " + table["name"] + "."
    return table


@pytest.fixture
def segments() -> pd.DataFrame:
    ids = list(TEXTS)
    return pd.DataFrame(
        {
            "segment_id": ids,
            "participant_id": [s[:3] for s in ids],
            "text": [TEXTS[s] for s in ids],
        }
    )


@pytest.fixture
def codings() -> pd.DataFrame:
    rows = [
        ("E01-001", "MOT-LEADS", "coder_a"),
        ("E01-001", "MOT-PEER", "coder_a"),
        ("E01-002", "MOT-LEADS", "coder_a"),
        ("E02-001", "MOT-LEADS", "coder_a"),
        ("E02-002", "MOT-PEER", "coder_a"),
        ("E02-002", "OUT-SALES", "coder_a"),
        ("I01-001", "MOT-LEADS", "coder_a"),
        ("I01-001", "MOT-TARGETS", "coder_a"),
        ("I01-002", "MOT-TARGETS", "coder_a"),
        ("I02-001", "MOT-TARGETS", "coder_a"),
        ("I02-002", "OUT-SALES", "coder_a"),
        ("E01-001", "MOT-LEADS", "coder_b"),
        ("E01-002", "MOT-LEADS", "coder_b"),
        ("E01-002", "MOT-PEER", "coder_b"),
        ("I01-001", "MOT-TARGETS", "coder_b"),
        ("I01-002", "MOT-TARGETS", "coder_b"),
        ("I02-001", "MOT-TARGETS", "coder_c"),
    ]
    return pd.DataFrame(rows, columns=["segment_id", "code_id", "coder"])
