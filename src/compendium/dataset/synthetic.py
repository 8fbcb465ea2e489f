"""Seeded generator of the synthetic demonstration dataset.

The real transcripts and codings of the study are not public. This module
builds a dataset to the study's published design instead: semi-structured
interviews with entrepreneurs and with intermediaries from agencies and Higher
Education Institutions, coded under the study's three themes, with full
transcripts written around an interview guide and a second coder on some
interviews. Every sentence comes from the project's own statement bank
(``bank/statements.toml``); the perspectives differ only through the design
propensities in ``bank/codebook.toml``. The same seed gives byte-identical
files, and the size parameters make datasets large enough for scale tests.
The second coder's codes and spans are ``second_coder``'s.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import CompendiumError
from .core import write_dataset
from .design import STUDY
from .second_coder import own_spans, second_coder

DESIGN_INTERVIEWS = 14
#: The most segments a generated dataset may have (17 times `make bench`'s), and the most
#: an interview has without --segments-per-interview (about 25 on average).
MAX_SEGMENTS = 20_000_000
DEFAULT_SEGMENTS_BOUND = 80
#: Share of interviewees who are entrepreneurs (8 of 14); the real split is not public.
ENTREPRENEUR_SHARE = 8 / 14
PRIMARY_CODER = "coder_a"

ROLES = {
    "ict_sme": ["founder member", "regular attendee", "occasional attendee",
                "steering group member", "former attendee"],
    "agency": ["event organiser", "programme manager", "business adviser"],
    "hei": ["knowledge transfer officer", "academic lead", "business engagement manager"],
}


@dataclass(frozen=True)
class Bank:
    """The project's own writing the generator draws on."""

    themes: list[dict[str, Any]]
    subthemes: list[dict[str, Any]]
    codes: list[dict[str, Any]]
    statements: dict[tuple[str, str], list[str]]
    guide: dict[str, Any]
    fillers: dict[str, list[str]]


@cache
def load_bank() -> Bank:
    """The generator's text bank (``bank/*.toml``): codebook, statements, guide."""
    folder = resources.files("compendium.dataset") / "bank"
    codebook = tomllib.loads((folder / "codebook.toml").read_text(encoding="utf-8"))
    statements = tomllib.loads((folder / "statements.toml").read_text(encoding="utf-8"))
    guide = tomllib.loads((folder / "guide.toml").read_text(encoding="utf-8"))
    bank = {(s["code"], s["perspective"]): list(s["texts"]) for s in statements["statements"]}
    for code in codebook["codes"]:
        for perspective in ("entrepreneur", "intermediary"):
            if not bank.get((code["id"], perspective)):
                raise CompendiumError(
                    f"statement bank has no statements for {code['id']} ({perspective})")
    return Bank(themes=codebook["themes"], subthemes=codebook["subthemes"],
                codes=codebook["codes"], statements=bank, guide=guide["guide"],
                fillers=guide["fillers"])


# --------------------------------------------------------------------------
# Tables


def codebook_table(bank: Bank) -> pd.DataFrame:
    """Themes, then each sub-theme followed by its codes, in the bank's order."""
    rows = []
    for theme in bank.themes:
        rows.append({"code_id": theme["id"], "theme": theme["id"], "level": "theme",
                     "parent_id": None, "name": theme["name"],
                     "definition": theme["definition"]})
        for sub in (s for s in bank.subthemes if s["theme"] == theme["id"]):
            rows.append({"code_id": sub["id"], "theme": theme["id"], "level": "subtheme",
                         "parent_id": theme["id"], "name": sub["name"],
                         "definition": sub["definition"]})
            for code in (c for c in bank.codes if c["parent"] == sub["id"]):
                rows.append({"code_id": code["id"], "theme": theme["id"], "level": "code",
                             "parent_id": sub["id"], "name": code["name"],
                             "definition": code["definition"]})
    return pd.DataFrame(rows)


def participants_table(interviews: int, rng: np.random.Generator) -> pd.DataFrame:
    """Pseudonymous interviewees: E.. entrepreneurs, I.. intermediaries (agency or HEI)."""
    if interviews < 2:
        raise CompendiumError("a dual-perspective dataset needs at least 2 interviews")
    n_ent = min(max(1, round(interviews * ENTREPRENEUR_SHARE)), interviews - 1)
    n_int = interviews - n_ent
    width = max(2, len(str(max(n_ent, n_int))))
    ids = [f"E{i:0{width}d}" for i in range(1, n_ent + 1)] + \
          [f"I{i:0{width}d}" for i in range(1, n_int + 1)]
    perspective = ["entrepreneur"] * n_ent + ["intermediary"] * n_int
    # Intermediaries alternate between agencies and HEIs, as the design has both.
    org = ["ict_sme"] * n_ent + ["agency" if i % 2 == 0 else "hei" for i in range(n_int)]
    role = [ROLES[o][int(rng.integers(len(ROLES[o])))] for o in org]
    minutes = rng.normal(55, 12, interviews).round().clip(30, 95).astype(int)
    mode = np.where(rng.random(interviews) < 0.8, "face to face", "telephone")
    return pd.DataFrame({"participant_id": ids, "perspective": perspective,
                         "organisation_type": org, "role_in_cluster": role,
                         "interview_minutes": minutes, "interview_mode": mode})


def draw_code_counts(participants: pd.DataFrame, bank: Bank, rng: np.random.Generator,
                     segments_per_interview: int | None) -> np.ndarray:
    """Segments per (interviewee, code): who raises a code follows the design weights.

    A code is raised with its perspective's propensity (nudged by each person's
    talkativeness); a raised code gets 1 + Poisson segments. With a target size
    the Poisson means are scaled so each interview has about that many segments.
    """
    weights = np.array([[c["weight"][p] for c in bank.codes]
                        for p in participants["perspective"]])
    talk = rng.uniform(0.8, 1.2, size=(len(participants), 1))
    raised = rng.random(weights.shape) < np.clip(weights * talk, 0, 0.97)
    if segments_per_interview is None:
        extra = rng.poisson(1.0, size=weights.shape)
        return np.where(raised, 1 + extra, 0)
    per_code = segments_per_interview / np.maximum(raised.sum(axis=1, keepdims=True), 1)
    counts = rng.poisson(np.maximum(per_code - 1, 0), size=weights.shape) + 1
    return np.where(raised, counts, 0)


def _join_opener(opener: str, text: str) -> str:
    """Join an opener and a statement as one natural sentence.

    The statement's first letter is lower-cased unless its first word must keep
    its capital ('I', "I'm", 'ICT', 'IT'); an opener that would repeat the
    statement's own first word ('Honestly, honestly ...') is left out.
    """
    first = text.split(" ", 1)[0].strip(",.")
    if opener.strip().strip(",").lower().split(" ")[0] == first.lower():
        return text
    keep_capital = (first == "I" or first.startswith("I'") or (first.isupper() and len(first) > 1)
                    or opener.rstrip().endswith((".", "?", "!")))  # a new sentence follows
    return opener + (text if keep_capital else text[:1].lower() + text[1:])


def segments_table(participants: pd.DataFrame, counts: np.ndarray, bank: Bank,
                   rng: np.random.Generator) -> pd.DataFrame:
    """One row per coded segment with its primary code, optional second code and text."""
    code_ids = np.array([c["id"] for c in bank.codes])
    person, code_index = np.nonzero(counts)
    repeat = counts[person, code_index]
    person = np.repeat(person, repeat)
    code_index = np.repeat(code_index, repeat)
    frame = pd.DataFrame({
        "participant_id": participants["participant_id"].to_numpy()[person],
        "perspective": participants["perspective"].to_numpy()[person],
        "code_id": code_ids[code_index],
    })
    # Spread each (code, perspective)'s statements over its segments before any repeats.
    frame["draw"] = rng.random(len(frame))
    frame = frame.sort_values(["code_id", "perspective", "draw"], kind="stable")
    frame["statement"] = frame.groupby(["code_id", "perspective"]).cumcount()
    frame = frame.sort_index(kind="stable")
    texts = [bank.statements[(c, p)][i % len(bank.statements[(c, p)])]
             for c, p, i in zip(frame["code_id"], frame["perspective"], frame["statement"],
                                strict=True)]
    openers = bank.fillers["openers"]
    use_opener = rng.random(len(frame)) < 0.3
    opener_pick = rng.integers(len(openers), size=len(frame))
    frame["text"] = [_join_opener(openers[k], t) if u else t
                     for t, u, k in zip(texts, use_opener, opener_pick, strict=True)]
    # About one segment in six also carries a second code the same person raised:
    # the excerpt then runs on into a statement for that code.
    raised_by = frame.groupby("participant_id")["code_id"].agg(lambda s: sorted(set(s)))
    second = []
    for pid, code, u in zip(frame["participant_id"], frame["code_id"],
                            rng.random(len(frame)), strict=True):
        others = [c for c in raised_by[pid] if c != code]
        second.append(others[int(u * 1e6) % len(others)] if others and u < 1 / 6 else None)
    frame["second_code"] = second
    has_second = frame["second_code"].notna()
    second_text = [bank.statements[(c, p)][int(d * 1e6) % len(bank.statements[(c, p)])]
                   for c, p, d in zip(frame.loc[has_second, "second_code"],
                                      frame.loc[has_second, "perspective"],
                                      frame.loc[has_second, "draw"], strict=True)]
    frame.loc[has_second, "text"] = frame.loc[has_second, "text"] + " " + pd.Series(
        second_text, index=frame.index[has_second], dtype=object)
    return frame.drop(columns=["draw", "statement"]).reset_index(drop=True)


# --------------------------------------------------------------------------
# Transcripts


def _theme_of(bank: Bank) -> dict[str, str]:
    parent_theme = {s["id"]: s["theme"] for s in bank.subthemes}
    return {c["id"]: parent_theme[c["parent"]] for c in bank.codes}



class _Transcript:
    """A transcript being written: its parts and its length so far, in code points."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0

    def say(self, text: str) -> None:
        """Append ``text``; segment offsets are read from ``length`` around it."""
        self.parts.append(text)
        self.length += len(text)

def build_transcripts(participants: pd.DataFrame, segments: pd.DataFrame, bank: Bank,
                      rng: np.random.Generator, seed: int) -> tuple[dict[str, str], pd.DataFrame]:
    """Write each interview around the guide and locate every segment in it.

    Returns the transcripts (keyed by their path in the dataset) and the
    segments with ``segment_id``, ``source``, ``start`` and ``end`` added, in
    transcript order. Offsets count Unicode code points, end exclusive.
    """
    theme_of = _theme_of(bank)
    questions = bank.guide["questions"]
    fillers = bank.fillers
    segments = segments.copy()
    segments["theme"] = segments["code_id"].map(theme_of)
    segments["order"] = rng.random(len(segments))
    located = []
    transcripts: dict[str, str] = {}
    by_person = {pid: group for pid, group in segments.groupby("participant_id", sort=False)}
    empty = segments.iloc[0:0]
    for person in participants.itertuples(index=False):
        pid = person.participant_id
        mine = by_person.get(pid, empty).sort_values("order", kind="stable")
        by_theme = {theme: group for theme, group in mine.groupby("theme", sort=False)}
        writer = _Transcript()
        say = writer.say
        spans: list[tuple[int, int, int]] = []

        say(f"Synthetic interview transcript {pid}\n"
            f"Generated by compendium.synthetic with seed {seed}; not a real interview.\n"
            f"Perspective: {person.perspective}. "
            f"Organisation type: {person.organisation_type}.\n\n")
        say("INTERVIEWER: Thank you for making the time. As we agreed, I'm recording, "
            "and nothing you say will be attributed to you or your organisation. "
            f"Is that still all right?\n\n{pid}: Yes, that's fine.\n\n")
        background_key = {"ict_sme": "background_entrepreneur", "agency": "background_agency",
                          "hei": "background_hei"}.get(person.organisation_type,
                                                       "background_entrepreneur")
        for question in questions:
            section = question["section"]
            say(f"INTERVIEWER: {question['text']}\n\n{pid}: ")
            if section == "background":
                # Only the first background question gets the self-description;
                # later ones get an ordinary uncoded answer.
                first = question is next(q for q in questions if q["section"] == "background")
                say(_pick(fillers[background_key] if first else fillers["uncoded"], rng) + "\n\n")
                continue
            if section == "closing":
                say(_pick(fillers["closing"], rng) + "\n\n")
                continue
            pool = by_theme.get(section, empty)
            n_questions = sum(q["section"] == section for q in questions)
            position = [q["id"] for q in questions if q["section"] == section].index(question["id"])
            share = pool.iloc[position::n_questions]
            if share.empty:
                say(_pick(fillers["uncoded"], rng) + "\n\n")
                continue
            for k, (index, text) in enumerate(zip(share.index, share["text"], strict=True)):
                if k and rng.random() < 0.25:
                    say(f"\n\nINTERVIEWER: {_pick(fillers['interviewer_acknowledgements'], rng)}"
                        f"\n\n{pid}: ")
                elif k:
                    say(" ")
                if rng.random() < 0.2:
                    say(_pick(fillers["uncoded"], rng) + " ")
                start = writer.length
                say(text)
                spans.append((index, start, writer.length))
            say("\n\n")
        source = f"transcripts/{pid}.txt"
        transcripts[source] = "".join(writer.parts)
        for order, (index, start, end) in enumerate(spans, start=1):
            located.append({"index": index, "segment_id": f"{pid}-{order:03d}",
                            "source": source, "start": start, "end": end})
    where = pd.DataFrame(located).set_index("index")
    placed = segments.join(where, how="inner")
    placed["rank"] = placed["participant_id"].map(
        {p: i for i, p in enumerate(participants["participant_id"])})
    placed = placed.sort_values(["rank", "start"], kind="stable")
    return transcripts, placed.drop(columns=["theme", "order", "rank"]).reset_index(drop=True)


def _pick(options: list[str], rng: np.random.Generator) -> str:
    return options[int(rng.integers(len(options)))]


def interview_guide_markdown(bank: Bank) -> str:
    """The synthetic study's interview guide as Markdown."""
    guide = bank.guide
    lines = [f"# {guide['title']}", "", guide["introduction"], ""]
    sections = {"background": "Background", "motivations": "Motivations",
                "outcomes": "Outcomes", "cluster_role": "Role of the cluster meetings",
                "closing": "Closing"}
    current = None
    for q in guide["questions"]:
        if q["section"] != current:
            current = q["section"]
            lines += [f"## {sections.get(current, current)}", ""]
        lines += [f"**{q['id']}.** {q['text']}", ""]
        for probe in q.get("probes", []):
            lines.append(f"- *Probe:* {probe}")
        lines.append("")
    lines.append("This guide was written for the compendium's synthetic demonstration "
                 "dataset; the original study's guide is not public.")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# The whole dataset


def generate_tables(seed: int = 2010, interviews: int = DESIGN_INTERVIEWS,
                    segments_per_interview: int | None = None,
                    transcripts: bool = True, aligned_coders: bool = False) -> dict[str, Any]:
    """All tables and texts of a synthetic dataset, in memory.

    With transcripts, the second coder marks their own spans
    (:func:`own_spans`) unless ``aligned_coders`` is set, in which case both
    coders code exactly the first coder's segments (also the only choice
    without transcripts, where spans have no positions).
    """
    if seed < 0:  # numpy's generators take a seed of 0 or more
        raise CompendiumError(f"--seed must be 0 or more, got {seed}")
    if interviews < 2:
        raise CompendiumError("--interviews must be at least 2")
    if segments_per_interview is not None and segments_per_interview < 1:
        raise CompendiumError("--segments-per-interview must be at least 1")
    asked = interviews * (segments_per_interview or DEFAULT_SEGMENTS_BOUND)
    if asked > MAX_SEGMENTS:  # numpy's draws fail, or memory runs out, well before 10**23
        each = (f"× --segments-per-interview {segments_per_interview:,}"
                if segments_per_interview else f"(up to {DEFAULT_SEGMENTS_BOUND} segments each)")
        raise CompendiumError(
            f"--interviews {interviews:,} {each} could make {asked:,} segments; the generator "
            f"makes at most {MAX_SEGMENTS:,} (make bench's dataset has about 1.2 million)")
    bank = load_bank()
    rng = np.random.default_rng(seed)
    participants = participants_table(interviews, rng)
    counts = draw_code_counts(participants, bank, rng, segments_per_interview)
    segments = segments_table(participants, counts, bank, rng)
    if transcripts:
        texts, segments = build_transcripts(participants, segments, bank, rng, seed)
    else:
        texts = {}
        segments["order"] = rng.random(len(segments))
        rank = segments["participant_id"].map(
            {p: i for i, p in enumerate(participants["participant_id"])})
        segments = segments.assign(rank=rank).sort_values(["rank", "order"], kind="stable")
        segments["segment_id"] = segments["participant_id"] + "-" + (
            segments.groupby("participant_id").cumcount() + 1).astype(str).str.zfill(3)
        segments = segments.drop(columns=["order", "rank"]).reset_index(drop=True)
        segments["source"] = pd.NA
        segments["start"] = pd.NA
        segments["end"] = pd.NA
    first = pd.concat([
        segments[["segment_id", "participant_id", "code_id"]],
        segments.loc[segments["second_code"].notna(),
                     ["segment_id", "participant_id", "second_code"]]
        .rename(columns={"second_code": "code_id"}),
    ]).assign(coder=PRIMARY_CODER)
    first = first.drop_duplicates(["segment_id", "code_id"])
    second = second_coder(first, participants, bank.codes, rng)
    if transcripts and not aligned_coders:
        second, own = own_spans(second, segments, texts, participants, rng)
        rank = {p: i for i, p in enumerate(participants["participant_id"])}
        segments = pd.concat([segments, own], ignore_index=True)
        segments = segments.assign(_r=segments["participant_id"].map(rank)).sort_values(
            ["_r", "start", "end"], kind="stable").drop(columns="_r").reset_index(drop=True)
    codings = pd.concat([first, second])
    order = {s: i for i, s in enumerate(segments["segment_id"])}
    code_rank = {c["id"]: i for i, c in enumerate(bank.codes)}
    codings = codings.assign(
        _s=codings["segment_id"].map(order), _c=codings["code_id"].map(code_rank),
    ).sort_values(["coder", "_s", "_c"], kind="stable")
    seg_cols = ["segment_id", "participant_id", "source", "start", "end", "text"]
    seg_out = segments[seg_cols].copy()
    for column in ("start", "end"):
        seg_out[column] = seg_out[column].astype("Int64")
    return {
        "participants": participants,
        "codebook": codebook_table(bank),
        "segments": seg_out,
        "codings": codings[["segment_id", "code_id", "coder"]].reset_index(drop=True),
        "transcripts": texts,
        "interview_guide": interview_guide_markdown(bank),
    }


DESCRIPTION = (
    "SYNTHETIC demonstration dataset. The interview transcripts and codings of Lockett, Jack & "
    "Larty (2010) are not public, so this dataset was generated by compendium.synthetic to the "
    "study's published design: semi-structured interviews with entrepreneurs and with "
    "intermediaries from agencies and Higher Education Institutions about regional ICT "
    "networking meetings, coded under the study's three themes (motivations for organising or "
    "attending meetings; outcomes of the meetings; the role of sector-specific cluster "
    "meetings), with a second coder on some interviews. Every statement was written for the "
    "compendium; no person or organisation in it is real, and results computed from it "
    "illustrate the method only: they are not findings of the original study."
)


#: The demonstration dataset's design: the study's own groups, and each theme
#: made of the codebook branch of the same id (compendium.design).
DESIGN = {
    "study": STUDY,
    "perspectives": {
        "entrepreneur": {
            "label": "Entrepreneurs", "noun": "entrepreneurs",
            "description": "Owner-managers of ICT firms who take part in the cluster meetings."},
        "intermediary": {
            "label": "Intermediaries (agencies and HEIs)", "short_label": "Intermediaries",
            "noun": "intermediaries",
            "description": "Staff of public agencies and Higher Education Institutions who "
                           "organise, host or fund the meetings."},
    },
    "themes": {
        "motivations": {"label": "Motivations for organising or attending meetings",
                        "short_label": "Motivations", "codes": ["motivations"]},
        "outcomes": {"label": "Outcomes of the meetings", "short_label": "Outcomes",
                     "codes": ["outcomes"]},
        "cluster_role": {"label": "The role of sector-specific cluster meetings",
                         "short_label": "Sector meetings", "codes": ["cluster_role"]},
    },
}


def generate_dataset(to: str | Path, seed: int = 2010, interviews: int = DESIGN_INTERVIEWS,
                     segments_per_interview: int | None = None, transcripts: bool = True,
                     overwrite: bool = False, validate: bool = True,
                     aligned_coders: bool = False) -> Path:
    """Generate and write a synthetic dataset folder (atomically)."""
    tables = generate_tables(seed, interviews, segments_per_interview, transcripts,
                             aligned_coders)
    default_size = interviews == DESIGN_INTERVIEWS and segments_per_interview is None
    name = "synthetic-ict-clusters" if default_size else f"synthetic-ict-clusters-{interviews}"
    return write_dataset(
        to,
        participants=tables["participants"], codebook=tables["codebook"],
        segments=tables["segments"], codings=tables["codings"],
        transcripts=tables["transcripts"], interview_guide=tables["interview_guide"],
        name=name,
        title="Regional ICT cluster meetings: synthetic interview codings (demonstration data)",
        description=DESCRIPTION,
        synthetic=True,
        primary_coder=PRIMARY_CODER,
        extra={"design": DESIGN,
               "generator": {"module": "compendium.synthetic", "seed": seed,
                             "interviews": interviews,
                             "segments_per_interview": segments_per_interview,
                             "transcripts": transcripts,
                             "aligned_coders": aligned_coders}},
        overwrite=overwrite,
        validate=validate,
    )

