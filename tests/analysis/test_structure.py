import pandas as pd
import pytest

from compendium.analysis import NO_SUBTHEME, data_structure

COLUMNS = ["theme_id", "theme_name", "subtheme_id", "subtheme_name", "code_id", "code_name"]


def test_data_structure_by_hand(codebook):
    got = data_structure(codebook)
    assert list(got.columns) == COLUMNS
    assert isinstance(got.index, pd.RangeIndex)
    # MOT-PEER's parent is the theme itself -> no sub-theme, listed after the sub-themes.
    assert got.values.tolist() == [
        ["motivations", "Motivations", "MOT-BUS", "Business development", "MOT-LEADS",
            "Finding leads"],
        ["motivations", "Motivations", "MOT-POL", "Policy drivers", "MOT-TARGETS",
            "Delivering programme targets"],
        ["motivations", "Motivations", None, "(no sub-theme)", "MOT-PEER", "Peer support"],
        ["outcomes", "Outcomes", "OUT-TANG", "Tangible outcomes", "OUT-SALES", "New sales"],
        ["outcomes", "Outcomes", "OUT-TANG", "Tangible outcomes", "OUT-NONE", "Nothing concrete"],
    ]
    assert got.loc[2, "subtheme_id"] is None
    assert NO_SUBTHEME == "(no sub-theme)"


def test_data_structure_counts_segments(codebook, codings):
    got = data_structure(codebook, codings, coder="coder_a")
    assert list(got.columns) == [*COLUMNS, "n_segments"]
    # coder_a segments: LEADS E01-001, E01-002, E02-001, I01-001 -> 4; TARGETS I01-001,
    # I01-002, I02-001 -> 3; PEER E01-001, E02-002 -> 2; SALES E02-002, I02-002 -> 2; NONE 0.
    assert got["n_segments"].tolist() == [4, 3, 2, 2, 0]
    assert got["n_segments"].dtype == "int64"
    # All coders: PEER gains E01-002 (coder_b) -> 3; LEADS E01-001 (a and b) still counts once.
    assert data_structure(codebook, codings)["n_segments"].tolist() == [4, 3, 3, 2, 0]


def test_missing_parent_means_no_subtheme(codebook):
    book = codebook.copy()
    book["parent_id"] = book["parent_id"].astype(object)
    book.loc[book["code_id"] == "OUT-SALES", "parent_id"] = None
    got = data_structure(book)
    # OUT-SALES has no sub-theme now and moves after OUT-TANG's codes.
    assert got["code_id"].tolist() == ["MOT-LEADS", "MOT-TARGETS", "MOT-PEER", "OUT-NONE",
        "OUT-SALES"]
    sales = got[got["code_id"] == "OUT-SALES"].iloc[0]
    assert sales["subtheme_id"] is None and sales["subtheme_name"] == NO_SUBTHEME
    no_parent_column = data_structure(codebook.drop(columns="parent_id"))
    assert no_parent_column["subtheme_id"].isna().all()
    assert (no_parent_column["subtheme_name"] == NO_SUBTHEME).all()


def test_interleaved_codebook_is_grouped(codebook):
    # Move MOT-LEADS to the end of the codebook: it is still shown under motivations /
    # MOT-BUS, because themes and sub-themes are ordered by their own entries.
    book = pd.concat([codebook[codebook["code_id"] != "MOT-LEADS"],
        codebook[codebook["code_id"] == "MOT-LEADS"]])
    got = data_structure(book)
    assert got["code_id"].tolist() == ["MOT-LEADS", "MOT-TARGETS", "MOT-PEER", "OUT-SALES",
        "OUT-NONE"]


def test_flat_codebook_without_levels(codebook):
    flat = codebook[codebook["level"] == "code"].drop(columns=["level", "parent_id"])
    got = data_structure(flat)
    # No theme entries: the theme name falls back to the theme id.
    assert got["theme_name"].tolist() == ["motivations"] * 3 + ["outcomes"] * 2
    assert got["code_id"].tolist() == ["MOT-LEADS", "MOT-TARGETS", "MOT-PEER", "OUT-SALES",
        "OUT-NONE"]


def test_invalid_inputs(codebook, codings):
    book = codebook.copy()
    book.loc[book["code_id"] == "MOT-LEADS", "parent_id"] = "MOT-GHOST"
    with pytest.raises(ValueError, match="MOT-GHOST"):
        data_structure(book)
    with pytest.raises(ValueError, match="unknown coder"):
        data_structure(codebook, codings, coder="coder_z")


def test_collapse_codes_folds_a_large_codebook_into_subthemes():
    from compendium.analysis import collapse_codes

    rows = []
    for theme in ("t1", "t2"):
        for sub, k in (("s1", 3), (None, 2)):
            for i in range(k):
                rows.append({"theme_id": theme, "theme_name": theme.upper(),
                             "subtheme_id": f"{theme}{sub}" if sub else None,
                             "subtheme_name": sub or "(no sub-theme)",
                             "code_id": f"{theme}-{sub}-{i}", "code_name": f"c{i}",
                             "n_segments": i + 1})
    structure = pd.DataFrame(rows)
    assert collapse_codes(structure, max_codes=10) is structure  # 10 codes: drawn one by one
    folded = collapse_codes(structure, max_codes=9)
    assert folded[["code_id", "code_name", "n_segments"]].values.tolist() == [
        ["t1s1", "3 codes", 6], ["t1", "2 codes", 3], ["t2s1", "3 codes", 6], ["t2", "2 codes", 3]]
    assert list(folded.columns) == list(structure.columns)
