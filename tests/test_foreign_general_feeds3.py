"""Yet more countries' public formats, configured from the docs alone (README, docs/contracts.md,
docs/canonical-model.md, docs/contest-status.md), as a judge would: France's législatives per
bureau de vote (one row per bureau, the candidates in numbered column groups side by side, a
commune cut across circonscriptions), Australia's AEC first preferences (by polling place, with
the declaration votes of each division by vote type as columns), South Africa's IEC results per
voting district (three ballots on one day, long by party), Poland's PKW results per obwód
(windows-1250, a column per candidate, abroad and ship obwody) and Taiwan's CEC sheets per county
(a title line, a two-row header of wrapped cells, subtotal rows, a town's merged cell exported on
its first row only). Each feed is generated here with its real quirks; every contest's totals at
every level are summed again from the files' text in plain Python, and `contest_status` is
checked against what the uncounted units could still change (docs/contest-status.md)."""

import csv
import io
import random
import re
import tomllib
from collections import Counter
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from landing.dry_run import dry_run
from landing.files import FileRejected, read_feed, refuse_drift
from orchestration.settings import Settings
from tests.conftest import published, run
from tests.test_foreign_general_feeds import land, landed, ran_clean, results_at, status
from tests.test_foreign_general_feeds2 import split
from transforms.contract import (
    ContractError,
    apply_contract,
    filled_down,
    header_problems,
    parse_contract,
)
from transforms.contract_models import parse_election
from warehouse.configs import load_election
from warehouse.db import connect


def expected_status(districts: dict, outstanding: dict, seats: int = 1) -> dict:
    """(contest, district) → (leaders, outstanding ballots, decided), as docs/contest-status.md
    defines them for a vote-for-1 contest: `districts` maps (contest, district) to the
    candidates' votes, `outstanding` to the registered voters of its uncounted units (None:
    nothing bounds them)."""
    found = {}
    for key, lines in districts.items():
        placed = sorted(((-v, c) for c, v in lines.items()))
        votes = [-v for v, _ in placed] + [0]
        out = outstanding.get(key, 0)
        margin = votes[seats - 1] - votes[seats]
        leaders = [c for v, c in placed[:seats] if v < 0]
        found[key] = (leaders, out, out is not None and margin > out)
    return found


def by_district(found: Counter, level: str) -> dict:
    """(contest, level, unit, candidate) → votes, to (contest, unit) → {candidate: votes}."""
    districts: dict = {}
    for (contest, at, unit, candidate), votes in found.items():
        if at == level:
            districts.setdefault((contest, unit), {})[candidate] = votes
    return districts


# France, the Ministère de l'Intérieur's législatives 2024, "résultats définitifs par bureau de
# vote": ';', one row per bureau, the counts (Inscrits, Abstentions, Votants, Blancs, Nuls,
# Exprimés) each with its percentages in French notation ('54,32%'), then a numbered group per
# candidate (Numéro de panneau k, Nuance candidat k, Nom candidat k, Prénom candidat k, Sexe
# candidat k, Voix k, % Voix/inscrits k, % Voix/exprimés k, Elu k) as many as the widest
# circonscription has; a narrower one leaves its last groups empty. Candidate k of one
# circonscription is not candidate k of the next. Paris (75056) lies in several
# circonscriptions: its Code BV (arrondissement + bureau, '0101') restarts nowhere but the
# commune is no level. Corse-du-Sud is '2A', Guadeloupe a three-digit département.
FR_CIRCOS = {  # circonscription → (département, its name, the circo's name, candidates, bureaux)
    "7501": ("75", "Paris", "1ère circonscription", [
        ("MAILLARD", "Sylvain", "ENS"), ("DUMAS", "Caroline", "UG"), ("FAURE", "Jean", "RN"),
        ("LEGRAND", "Élise", "DIV")], [("75056", "0101"), ("75056", "0102"), ("75056", "0201")]),
    "7502": ("75", "Paris", "2ème circonscription", [
        ("BOURNAZEL", "Pierre-Yves", "HOR"), ("CABRERA", "Nina", "UG"), ("ROUX", "Léo", "RN")],
        [("75056", "0501"), ("75056", "0502"), ("75056", "0601")]),
    "2A01": ("2A", "Corse-du-Sud", "1ère circonscription", [
        ("MATTEI", "Laurent", "LR"), ("ALBERTINI", "Romain", "REG"), ("CESARI", "Anna", "RN"),
        ("PIETRI", "Marc", "ENS"), ("SANTONI", "Julie", "UG")],
        [("2A004", "0001"), ("2A004", "0002"), ("2A247", "0001")]),
    "97101": ("971", "Guadeloupe", "1ère circonscription", [
        ("VALIDE", "Olivier", "DVG"), ("DIMBO", "Sonia", "UG")],
        [("97101", "0001"), ("97120", "0001")]),
}  # fmt: skip
FR_WIDEST = max(len(c[3]) for c in FR_CIRCOS.values())
FR_GROUP = ["Numéro de panneau", "Nuance candidat", "Nom candidat", "Prénom candidat"]
FR_GROUP += ["Sexe candidat", "Voix", "% Voix/inscrits", "% Voix/exprimés", "Elu"]
FR_HEADER = [
    "Code département", "Libellé département", "Code circonscription législative",
    "Libellé circonscription législative", "Code commune", "Libellé commune", "Code BV",
    "Inscrits", "Votants", "% Votants", "Abstentions", "% Abstentions", "Exprimés",
    "% Exprimés/inscrits", "% Exprimés/votants", "Blancs", "% Blancs/inscrits",
    "% Blancs/votants", "Nuls", "% Nuls/inscrits", "% Nuls/votants",
    *(f"{c} {k}" for k in range(1, FR_WIDEST + 1) for c in FR_GROUP),
]  # fmt: skip


def fr_registered(circo: str, at: int) -> int:
    return 900 + 97 * at + 13 * len(circo)


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f}%".replace(".", ",") if whole else ""


def fr_file(held: frozenset = frozenset(), seed: int = 7) -> bytes:
    rng, out = random.Random(seed), io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(FR_HEADER)
    for circo, (dep, dep_name, circo_name, candidates, bureaux) in FR_CIRCOS.items():
        for at, (commune, bv) in enumerate(bureaux):
            listed = fr_registered(circo, at)
            voters = int(listed * rng.uniform(0.55, 0.72))
            blank, null = rng.randint(2, 25), rng.randint(1, 15)
            valid = voters - blank - null
            votes = split(rng, valid, [c[0] for c in candidates])
            if (commune, bv) in held:
                continue
            row = [dep, dep_name, circo, circo_name, commune, f"Commune {commune}", bv, listed]
            row += [voters, pct(voters, listed), listed - voters, pct(listed - voters, listed)]
            row += [valid, pct(valid, listed), pct(valid, voters), blank, pct(blank, listed)]
            row += [pct(blank, voters), null, pct(null, listed), pct(null, voters)]
            for number, (name, first, nuance) in enumerate(candidates, start=1):
                given = votes[name]
                sex = "F" if first[-1] in "ae" else "M"
                row += [number, nuance, name, first, sex, given, pct(given, listed)]
                row += [pct(given, valid), "false"]
            row += [""] * (len(FR_HEADER) - len(row))  # the groups of no candidate
            writer.writerow(row)
    return out.getvalue().encode()


def fr_sums(data: bytes) -> tuple[Counter, Counter]:
    """((contest, level, unit, candidate) → votes, (level, unit, count) → its sum), from the
    file's text: each group's name, first name and nuance are the candidate's label."""
    found, counts = Counter(), Counter()
    for row in csv.DictReader(io.StringIO(data.decode()), delimiter=";"):
        units = [("national", "national"), ("departement", row["Code département"])]
        units.append(("circonscription", row["Code circonscription législative"]))
        for k in range(1, FR_WIDEST + 1):
            if not row[f"Nom candidat {k}"]:
                continue
            label = " ".join(row[f"{c} candidat {k}"] for c in ("Nom", "Prénom", "Nuance"))
            for unit in units:
                found[("legislatives", *unit, label)] += int(row[f"Voix {k}"])
        for unit in units:
            for count in ("Inscrits", "Votants", "Blancs", "Nuls", "Exprimés"):
                counts[(*unit, count)] += int(row[count])
    return found, counts


FR_ELECTION = """
id = "fr"
levels = ["departement", "circonscription", "bureau"]
registry = "registry.csv"
[[contest]]
id = "legislatives"
name = "Élections législatives, premier tour"
district = "circonscription"
"""
FR_CONTRACT = """
id = "bv"
source = { id = "interieur", kind = "official", name = "Ministère de l'Intérieur" }
contests = { id = "legislatives" }
[file]
pattern = "resultats-definitifs-par-bureau-de-vote*.csv"
separator = ";"
[file.repeat]                      # 'Nom candidat 3', 'Voix 3': candidate 3 of the bureau's circo
pattern = '^(?P<column>.+) (?P<key>[0-9]+)$'
columns = ["Nom candidat", "Prénom candidat", "Nuance candidat", "Voix"]
[codes]
departement = "Code département"
circonscription = "Code circonscription législative"
bureau = { parts = [{ column = "Code commune" }, { column = "Code BV" }], separator = "-" }
[names]
departement = "Libellé département"
circonscription = "Libellé circonscription législative"
[counts]
registered = "Inscrits"
total_votes = "Votants"
valid_votes = "Exprimés"
blank_votes = "Blancs"
null_votes = "Nuls"
[candidates]
layout = "long"
candidate_column = ["Nom candidat", "Prénom candidat", "Nuance candidat"]
votes_column = "Voix"
"""


def fr_registry() -> bytes:
    rows = ["departement_code,departement_name,circonscription_code,circonscription_name"]
    rows[0] += ",bureau_code,bureau_name,registered,contests"
    for circo, (dep, dep_name, circo_name, _, bureaux) in FR_CIRCOS.items():
        for at, (commune, bv) in enumerate(bureaux):
            listed = fr_registered(circo, at)
            rows.append(
                f"{dep},{dep_name},{circo},{circo_name},{commune}-{bv},BV {bv},{listed},"
                "legislatives"
            )
    return ("\n".join(rows) + "\n").encode()


@pytest.mark.e2e
def test_france_bureaux_with_numbered_candidate_groups_publish_exact_totals(settings, tmp_path):
    held = frozenset({("75056", "0601"), ("2A247", "0001")})
    early = fr_file(held)
    files = {"resultats-definitifs-par-bureau-de-vote.csv": early, "registry.csv": fr_registry()}
    fr = ran_clean(settings, tmp_path, "fr", FR_ELECTION, {"bv": FR_CONTRACT}, files)
    found, counts = fr_sums(early)
    assert results_at(fr, ("national", "departement", "circonscription")) == dict(found)
    turnout = published(
        fr,
        "select level, unit_code, registered, total_votes, blank_votes, null_votes, valid_votes "
        "from turnout where level in ('national', 'departement', 'circonscription')",
    )
    names = ("Inscrits", "Votants", "Blancs", "Nuls", "Exprimés")
    assert {tuple(r[:2]): r[2:] for r in turnout.iter_rows()} == {
        k[:2]: tuple(counts[(*k[:2], n)] for n in names) for k in counts if k[2] == "Inscrits"
    }
    outstanding = {("legislatives", "7502"): fr_registered("7502", 2)}
    outstanding[("legislatives", "2A01")] = fr_registered("2A01", 2)
    districts = by_district(found, "circonscription")
    got = {k: (v[2], v[3], v[4]) for k, v in status(fr).items()}
    assert got == expected_status(districts, outstanding)
    assert not got[("legislatives", "7502")][2]  # a bureau out can still change the leader
    whole = fr_file()
    land(fr.landing_dir, {"resultats-definitifs-par-bureau-de-vote-final.csv": whole})
    assert run(fr).success
    found, _ = fr_sums(whole)
    assert results_at(fr, ("national", "departement", "circonscription")) == dict(found)
    got = {k: (v[2], v[3], v[4]) for k, v in status(fr).items()}
    assert got == expected_status(by_district(found, "circonscription"), {})
    assert all(decided for *_, decided in got.values())


# Australia, the AEC's House of Representatives first preferences (2022), a title line above
# each file's header. By polling place, per state (`HouseStateFirstPrefsByPollingPlaceDownload-
# 27966-VIC.csv`): a row per polling place and candidate, the informal ballots as a candidate
# row of their own (`Informal`, CandidateID 999), pre-poll voting centres and mobile teams as
# polling places; no polling place has an enrolment of its own. The declaration votes of each
# division (absent, provisional, declaration pre-poll, postal) are in another file by candidate
# and vote type (`HouseFirstPrefsByCandidateByVoteTypeDownload-27966.csv`), the vote types as
# columns beside OrdinaryVotes (the polling places' sum) and TotalVotes.
AU_DIVISIONS = {  # DivisionID → (state, its name, candidates, polling places)
    "197": ("VIC", "Melbourne", [
        ("BANDT", "Adam", "GRN", "The Greens"), ("WATTS", "Keir", "ALP", "Australian Labor Party"),
        ("BHATHAL", "Sarah", "LP", "Liberal")],
        [("3245", "Carlton"), ("3246", "Docklands"), ("65106", "Melbourne PPVC"),
         ("32829", "Special Hospital Team 1")]),
    "234": ("VIC", "Kooyong", [
        ("FRYDENBERG", "Josh", "LP", "Liberal"), ("RYAN", "Monique", "IND", "Independent"),
        ("CONROY", "Peter", "ALP", "Australian Labor Party")],
        [("3301", "Hawthorn"), ("3302", "Kew"), ("65201", "Kew PPVC")]),
    "101": ("NSW", "Warringah", [
        ("STEGGALL", "Zali", "IND", "Independent"), ("ROGERS", "Jaimee", "LP", "Liberal")],
        [("118", "Manly"), ("119", "Mosman")]),
}  # fmt: skip
AU_PLACE_HEADER = [
    "StateAb", "DivisionID", "DivisionNm", "PollingPlaceID", "PollingPlace", "CandidateID",
    "Surname", "GivenNm", "BallotPosition", "Elected", "HistoricElected", "PartyAb", "PartyNm",
    "OrdinaryVotes", "Swing",
]  # fmt: skip
AU_DECLARATION = ["Absent", "Provisional", "PrePoll", "Postal"]
AU_TYPE_HEADER = [
    *AU_PLACE_HEADER[:3], *AU_PLACE_HEADER[5:13], "OrdinaryVotes",
    *(f"{t}Votes" for t in AU_DECLARATION), "TotalVotes", "Swing",
]  # fmt: skip
INFORMAL = ("Informal", "", "", "")


def au_votes(seed: int = 19) -> dict:
    """(division, unit) → {candidate row: votes}: every polling place and every declaration vote
    type of every division (its unit `<division>-<type>`), Informal a candidate row."""
    rng, found = random.Random(seed), {}
    for division, (_, _, candidates, places) in AU_DIVISIONS.items():
        for unit in [p for p, _ in places] + [f"{division}-{t}" for t in AU_DECLARATION]:
            formal = rng.randint(300, 2500) if "-" not in unit else rng.randint(80, 700)
            informal = {INFORMAL: rng.randint(5, 90)}
            found[(division, unit)] = split(rng, formal, candidates) | informal
    return found


def au_row(division: str, candidate: tuple, position: int) -> list:
    state, name, _, _ = AU_DIVISIONS[division]
    number = "999" if candidate == INFORMAL else f"{int(division) * 10 + position}"
    surname, given, short, party = candidate
    ballot = "999" if candidate == INFORMAL else position
    return [state, division, name, number, surname, given, ballot, "N", "N", short, party]


def au_places(state: str, votes: dict, held: frozenset = frozenset()) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f"HouseStateFirstPrefsByPollingPlaceDownload-27966-{state}", "2022"])
    writer.writerow(AU_PLACE_HEADER)
    for division, (at_state, _, candidates, places) in AU_DIVISIONS.items():
        for place, place_name in places:
            if at_state != state or place in held:
                continue
            for position, candidate in enumerate([*candidates, INFORMAL], start=1):
                row = au_row(division, candidate, position)
                given = votes[(division, place)][candidate]
                writer.writerow([*row[:3], place, place_name, *row[3:], given, "-1.25"])
    return out.getvalue().encode()


def au_types(votes: dict, held: frozenset = frozenset()) -> bytes:
    """The declaration votes by candidate and vote type; a division in `held` is not in yet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["HouseFirstPrefsByCandidateByVoteTypeDownload-27966", "2022"])
    writer.writerow(AU_TYPE_HEADER)
    for division, (_, _, candidates, places) in AU_DIVISIONS.items():
        if division in held:
            continue
        for position, candidate in enumerate([*candidates, INFORMAL], start=1):
            ordinary = sum(votes[(division, p)][candidate] for p, _ in places)
            types = [votes[(division, f"{division}-{t}")][candidate] for t in AU_DECLARATION]
            row = [*au_row(division, candidate, position), ordinary, *types]
            writer.writerow([*row, ordinary + sum(types), "0.52"])
    return out.getvalue().encode()


def au_sums(files: dict) -> tuple[Counter, Counter]:
    """((contest, level, unit, candidate) → votes, division → informal ballots) from the files'
    text: every polling place's rows and each division's declaration vote types, never its
    OrdinaryVotes or TotalVotes (sums of the others)."""
    found, informal = Counter(), Counter()
    for data in files.values():
        rows = csv.DictReader(io.StringIO(data.decode().split("\r\n", 1)[1]))
        for row in rows:
            types = ["OrdinaryVotes"] if "PollingPlace" in row else AU_DECLARATION
            votes = sum(int(row[t if "PollingPlace" in row else f"{t}Votes"]) for t in types)
            if row["Surname"] == "Informal":
                informal[row["DivisionID"]] += votes
                continue
            label = f"{row['Surname']} {row['GivenNm']} {row['PartyAb']}"
            for unit in (("national", "national"), ("state", row["StateAb"])):
                found[("house", *unit, label)] += votes
            found[("house", "division", row["DivisionID"], label)] += votes
    return found, informal


AU_ELECTION = """
id = "au"
levels = ["state", "division", "place"]
registry = "registry.csv"
[[contest]]
id = "house"
name = "House of Representatives (first preferences)"
district = "division"
"""
AU_PLACES_CONTRACT = """
id = "by_polling_place"
source = { id = "aec", kind = "official", name = "Australian Electoral Commission" }
file = { pattern = "HouseStateFirstPrefsByPollingPlaceDownload-*.csv", skip_lines = 1 }
contests = { id = "house" }
codes = { state = "StateAb", division = "DivisionID", place = "PollingPlaceID" }
names = { division = "DivisionNm", place = "PollingPlace" }
counts = {}
[candidates]
layout = "long"
candidate_column = ["Surname", "GivenNm", "PartyAb"]
votes_column = "OrdinaryVotes"
aliases = { "Informal" = "null_votes" }
"""
AU_TYPES_CONTRACT = """
id = "by_vote_type"
source = { id = "aec", kind = "official", name = "Australian Electoral Commission" }
contests = { id = "house" }
[file]
pattern = "HouseFirstPrefsByCandidateByVoteTypeDownload-*.csv"
skip_lines = 1
[file.repeat]                       # each declaration vote type a unit of the division
pattern = '^(?P<key>Absent|Provisional|PrePoll|Postal)(?P<column>Votes)$'
columns = ["Votes"]
key = "Vote type"
[codes]
state = "StateAb"
division = "DivisionID"
place = { parts = [{ column = "DivisionID" }, { column = "Vote type" }], separator = "-" }
[names]
division = "DivisionNm"
[counts]
[candidates]
layout = "long"
candidate_column = ["Surname", "GivenNm", "PartyAb"]
votes_column = "Votes"
aliases = { "Informal" = "null_votes" }
"""


def au_registry() -> bytes:
    """Every polling place and declaration vote type; no enrolment of its own (0)."""
    rows = ["state_code,state_name,division_code,division_name,place_code,place_name"]
    rows[0] += ",registered,contests"
    for division, (state, name, _, places) in AU_DIVISIONS.items():
        units = [*places, *((f"{division}-{t}", f"{t} votes") for t in AU_DECLARATION)]
        rows += [f"{state},{state},{division},{name},{p},{pn},0,house" for p, pn in units]
    return ("\n".join(rows) + "\n").encode()


def au_files(votes: dict, held_places: frozenset, held_types: frozenset) -> dict:
    return {
        "HouseStateFirstPrefsByPollingPlaceDownload-27966-VIC.csv": au_places(
            "VIC", votes, held_places
        ),
        "HouseStateFirstPrefsByPollingPlaceDownload-27966-NSW.csv": au_places(
            "NSW", votes, held_places
        ),
        "HouseFirstPrefsByCandidateByVoteTypeDownload-27966.csv": au_types(votes, held_types),
    }


@pytest.mark.e2e
def test_australia_polling_places_and_declaration_votes_publish_exact_first_preferences(
    settings, tmp_path
):
    # Kooyong's Kew PPVC and Warringah's declaration votes are still out: no enrolment bounds
    # them, so neither division is decided; Melbourne is wholly counted
    votes = au_votes()
    files = au_files(votes, frozenset({"65201"}), frozenset({"101"}))
    contracts = {"places": AU_PLACES_CONTRACT, "types": AU_TYPES_CONTRACT}
    au = ran_clean(
        settings, tmp_path, "au", AU_ELECTION, contracts, {**files, "registry.csv": au_registry()}
    )
    found, informal = au_sums(files)
    assert results_at(au, ("national", "state", "division")) == dict(found)
    nulls = published(au, "select unit_code, null_votes from turnout where level = 'division'")
    assert dict(nulls.iter_rows()) == dict(informal)
    got = {k: (v[0], v[1], v[2], v[3], v[4]) for k, v in status(au).items()}
    wanted = expected_status(
        by_district(found, "division"), {("house", "234"): None, ("house", "101"): None}
    )
    assert got == {
        k: (n, n + (k[1] == "234") + 4 * (k[1] == "101"), *wanted[k])
        for k, n in ((("house", "197"), 8), (("house", "234"), 6), (("house", "101"), 2))
    }
    land(au.landing_dir, au_files(votes, frozenset(), frozenset()))
    assert run(au).success
    found, informal = au_sums(au_files(votes, frozenset(), frozenset()))
    assert results_at(au, ("national", "state", "division")) == dict(found)
    got = {k: (v[2], v[3], v[4]) for k, v in status(au).items()}
    assert got == expected_status(by_district(found, "division"), {})


# South Africa, the IEC's 2024 results per voting district: three ballots on one day (the
# National Assembly's national and regional ballots and the Provincial Legislature), long by
# party, the district's registered voters and each ballot's valid, spoilt and cast votes repeated
# on every party row; municipalities named with their code in front ('EC441 - Matatiele'); an
# independent candidate stands on one province's regional ballot only.
ZA_PARTIES = ["AFRICAN NATIONAL CONGRESS", "DEMOCRATIC ALLIANCE", "UMKHONTO WESIZWE",
              "ECONOMIC FREEDOM FIGHTERS", "INKATHA FREEDOM PARTY", "AL JAMA-AH"]  # fmt: skip
ZA_INDEPENDENT = "ZACKIE ACHMAT"
ZA_EVENTS = {  # the file's Electoral Event → contest
    "National Assembly 2024": "national",
    "National Assembly Regional 2024": "regional",
    "Provincial Legislature 2024": "provincial",
}
ZA_VDS = {  # province → [(municipality, ward, VD, registered)]
    "Eastern Cape": [("EC441 - Matatiele", "24401001", "10450012", 2310),
                     ("BUF - Buffalo City", "29200013", "10890057", 3120)],
    "Western Cape": [("CPT - City of Cape Town", "19100077", "97090088", 4020),
                     ("CPT - City of Cape Town", "19100115", "97091146", 3550)],
    "KwaZulu-Natal": [("ETH - eThekwini", "59500001", "43500101", 3890),
                      ("ETH - eThekwini", "59500002", "43500202", 2770)],
}  # fmt: skip
ZA_HEADER = [
    "Electoral Event", "Province", "Municipality", "Ward", "Voting District",
    "Registered Voters", "Party Name", "Votes", "Total Valid Votes", "Spoilt Votes",
    "Total Votes Cast", "Voter Turnout (%)",
]  # fmt: skip


def za_file(held: frozenset = frozenset(), seed: int = 23) -> bytes:
    rng, out = random.Random(seed), io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow(ZA_HEADER)
    for province, vds in ZA_VDS.items():
        for municipality, ward, vd, registered in vds:
            cast = int(registered * rng.uniform(0.5, 0.65))
            for event, contest in ZA_EVENTS.items():
                parties = list(ZA_PARTIES)
                if contest == "regional" and province == "Western Cape":
                    parties.append(ZA_INDEPENDENT)
                spoilt = rng.randint(3, 40)
                weights = parties if province != "Western Cape" else parties[1:] + parties[:1]
                votes = split(rng, cast - spoilt, weights)
                if vd in held:
                    continue
                for party in parties:
                    writer.writerow(
                        [event, province, municipality, ward, vd, registered, party, votes[party]]
                        + [cast - spoilt, spoilt, cast, f"{100 * cast / registered:.2f}"]
                    )
    return out.getvalue().encode()


def za_sums(data: bytes) -> Counter:
    found = Counter()
    for row in csv.DictReader(io.StringIO(data.decode())):
        contest, province = ZA_EVENTS[row["Electoral Event"]], row["Province"]
        municipality = row["Municipality"].split(" - ")[0]
        for unit in (("national", "national"), ("province", province)):
            found[(contest, *unit, row["Party Name"])] += int(row["Votes"])
        found[(contest, "municipality", municipality, row["Party Name"])] += int(row["Votes"])
    return found


ZA_ELECTION = """
id = "za"
levels = ["province", "municipality", "vd"]
registry = "registry.csv"
discover_contests = true            # [contests] columns: the declared ones by their aliases
[[contest]]
id = "national"
name = "National Assembly (national ballot)"
aliases = ["National Assembly 2024"]
[[contest]]
id = "regional"
name = "National Assembly (regional ballot)"
aliases = ["National Assembly Regional 2024"]
district = "province"
[[contest]]
id = "provincial"
name = "Provincial Legislature"
aliases = ["Provincial Legislature 2024"]
district = "province"
"""
ZA_CONTRACT = """
id = "by_vd"
source = { id = "iec", kind = "official", name = "Electoral Commission of South Africa" }
file = { pattern = "NPE2024_results_by_VD*.csv" }
[codes]
province = "Province"
municipality = { column = "Municipality", split = " - ", take = [0] }
vd = "Voting District"
[names]
municipality = { column = "Municipality", strip = '^[A-Z0-9]+ - ' }
[counts]
registered = "Registered Voters"
valid_votes = "Total Valid Votes"
null_votes = "Spoilt Votes"
total_votes = "Total Votes Cast"
[candidates]
layout = "long"
candidate_column = "Party Name"
votes_column = "Votes"
[contests]
columns = ["Electoral Event"]
"""


def za_registry() -> bytes:
    rows = ["province_code,province_name,municipality_code,municipality_name,vd_code,vd_name"]
    rows[0] += ",registered,contests"
    for province, vds in ZA_VDS.items():
        for municipality, _, vd, registered in vds:
            code, name = municipality.split(" - ")
            rows.append(
                f"{province},{province},{code},{name},{vd},VD {vd},{registered},"
                "national;regional;provincial"
            )
    return ("\n".join(rows) + "\n").encode()


@pytest.mark.e2e
def test_south_africa_three_ballots_per_voting_district_publish_exact_totals(settings, tmp_path):
    held = frozenset({"97091146"})  # a Cape Town VD still out
    early = za_file(held)
    files = {"NPE2024_results_by_VD.csv": early, "registry.csv": za_registry()}
    za = ran_clean(settings, tmp_path, "za", ZA_ELECTION, {"by_vd": ZA_CONTRACT}, files)
    found = za_sums(early)
    assert results_at(za, ("national", "province", "municipality")) == dict(found)
    names = published(za, "select distinct unit_name from coverage where level = 'municipality'")
    assert set(names["unit_name"]) == {"Matatiele", "Buffalo City", "City of Cape Town",
                                       "eThekwini"}  # fmt: skip
    districts = {k: v for k, v in by_district(found, "province").items() if k[0] != "national"}
    districts[("national", "national")] = by_district(found, "national")[("national", "national")]
    out = 3550  # the registered voters of the VD still out
    outstanding = {("national", "national"): out, ("regional", "Western Cape"): out}
    outstanding[("provincial", "Western Cape")] = out
    got = {k: (v[2], v[3], v[4]) for k, v in status(za).items()}
    assert got == expected_status(districts, outstanding)
    assert not got[("regional", "Western Cape")][2]
    whole = za_file()
    land(za.landing_dir, {"NPE2024_results_by_VD_final.csv": whole})
    assert run(za).success
    found = za_sums(whole)
    assert results_at(za, ("national", "province", "municipality")) == dict(found)
    assert all(decided for *_, decided in {k: v[2:] for k, v in status(za).items()}.values())


# Poland, PKW's results of the 2020 presidential election per obwód (first round): ';',
# windows-1250 (the `_utf8` copy aside), long Polish headers with commas inside, a column per
# candidate; Kod TERYT of six digits with the województwo's leading zero ('020101'), obwód
# numbers restarting per gmina; the obwody abroad counted under TERYT 149901 and the ships'
# under 229901; an address with typographic quotes („…”). The ballots: cards taken from the
# urn are valid cards + invalid cards (not stamped: no ballot of the count); the valid cards
# hold the valid and the invalid votes.
PL_CANDIDATES = ["Robert BIEDROŃ", "Krzysztof BOSAK", "Andrzej Sebastian DUDA",
                 "Szymon Franciszek HOŁOWNIA", "Władysław Marcin KOSINIAK-KAMYSZ",
                 "Rafał Kazimierz TRZASKOWSKI"]  # fmt: skip
PL_REGISTERED = "Liczba wyborców uprawnionych do głosowania"
PL_VALID_CARDS = "Liczba kart ważnych"
PL_NULL = "Liczba głosów nieważnych (z kart ważnych)"
PL_VALID = "Liczba głosów ważnych oddanych łącznie na wszystkich kandydatów (z kart ważnych)"
PL_HEADER = [
    "Kod TERYT", "Gmina", "Powiat", "Województwo", "Numer obwodu", "Typ obwodu", "Typ obszaru",
    "Siedziba", PL_REGISTERED, "Liczba kart wyjętych z urny", "Liczba kart nieważnych",
    PL_VALID_CARDS, PL_NULL, PL_VALID, *PL_CANDIDATES,
]  # fmt: skip
PL_OBWODY = {  # TERYT → (gmina, powiat, województwo, [(numer, typ, registered)])
    "020101": ("m. Bolesławiec", "bolesławiecki", "dolnośląskie",
               [("1", "stały", 1650), ("2", "stały", 1420), ("3", "szpital", 120)]),
    "020102": ("gm. Bolesławiec", "bolesławiecki", "dolnośląskie", [("1", "stały", 980)]),
    "126101": ("m. Kraków", "Kraków", "małopolskie",
               [("1", "stały", 2100), ("2", "dom studencki", 430)]),
    "149901": ("zagranica", "zagranica", "mazowieckie",
               [("1", "zagranica", 1800), ("2", "zagranica", 950)]),
    "229901": ("statki", "statki", "pomorskie", [("1", "statek", 25)]),
}  # fmt: skip


def pl_file(held: frozenset = frozenset(), seed: int = 29) -> bytes:
    rng, out = random.Random(seed), io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_NONE)
    writer.writerow(PL_HEADER)
    for teryt, (gmina, powiat, woj, obwody) in PL_OBWODY.items():
        for numer, kind, registered in obwody:
            cards = int(registered * rng.uniform(0.6, 0.9))
            invalid_cards, null = rng.randint(0, 3), rng.randint(2, 12)
            favoured = [*PL_CANDIDATES[2:3], *PL_CANDIDATES[5:], *PL_CANDIDATES[:2]]
            favoured += PL_CANDIDATES[3:5]
            votes = split(rng, cards - invalid_cards - null, favoured)
            if (teryt, numer) in held:
                continue
            seat = f"Szkoła Podstawowa nr {numer} im. „Orląt Lwowskich”, ul. Długa {numer}"
            row = [teryt, gmina, powiat, woj, numer, kind, "miasto", seat, registered, cards]
            row += [invalid_cards, cards - invalid_cards, null, cards - invalid_cards - null]
            writer.writerow([*row, *(votes[c] for c in PL_CANDIDATES)])
    return out.getvalue().encode("windows-1250")


def pl_sums(data: bytes) -> Counter:
    found = Counter()
    for row in csv.DictReader(io.StringIO(data.decode("windows-1250")), delimiter=";"):
        teryt = row["Kod TERYT"]
        for candidate in PL_CANDIDATES:
            for unit in (("national", "national"), ("wojewodztwo", teryt[:2])):
                found[("prezydent", *unit, candidate)] += int(row[candidate])
            for unit in (("powiat", teryt[:4]), ("gmina", teryt)):
                found[("prezydent", *unit, candidate)] += int(row[candidate])
    return found


PL_ELECTION = """
id = "pl"
levels = ["wojewodztwo", "powiat", "gmina", "obwod"]
registry = "registry.csv"
[[contest]]
id = "prezydent"
name = "Wybory Prezydenta RP, I tura"
"""
PL_CONTRACT = (
    """
id = "obwody"
source = { id = "pkw", kind = "official", name = "Państwowa Komisja Wyborcza" }
file = { pattern = "wyniki_gl_na_kand_po_obwodach*.csv", separator = ";", \
encoding = "windows-1250" }
contests = { id = "prezydent" }
[codes]
wojewodztwo = { column = "Kod TERYT", slice = [0, 2] }
powiat = { column = "Kod TERYT", slice = [0, 4] }
gmina = "Kod TERYT"
obwod = { parts = [{ level = "gmina" }, { column = "Numer obwodu" }], separator = "-" }
[names]
wojewodztwo = "Województwo"
powiat = "Powiat"
gmina = { column = "Gmina", strip = '^(gm\\.|m\\.) ' }
[counts]
"""
    + f"""
registered = "{PL_REGISTERED}"
total_votes = "{PL_VALID_CARDS}"           # the cards taken out hold invalid cards too
null_votes = "{PL_NULL}"
valid_votes = "{PL_VALID}"
[candidates.columns]
"""
    + "\n".join(f'"{c}" = "{c}"' for c in PL_CANDIDATES)
)


def pl_registry() -> bytes:
    rows = ["wojewodztwo_code,wojewodztwo_name,powiat_code,powiat_name,gmina_code,gmina_name"]
    rows[0] += ",obwod_code,obwod_name,registered,contests"
    for teryt, (gmina, powiat, woj, obwody) in PL_OBWODY.items():
        for numer, kind, registered in obwody:
            rows.append(
                f"{teryt[:2]},{woj},{teryt[:4]},{powiat},{teryt},{gmina.split('. ')[-1]},"
                f"{teryt}-{numer},"
                f"obwód {numer} ({kind}),{registered},prezydent"
            )
    return ("\n".join(rows) + "\n").encode()


@pytest.mark.e2e
def test_poland_obwody_in_windows_1250_publish_exact_totals(settings, tmp_path):
    held = frozenset({("020101", "3")})  # the hospital's obwód: 120 voters still out
    early = pl_file(held)
    files = {"wyniki_gl_na_kand_po_obwodach_sejm.csv": early, "registry.csv": pl_registry()}
    pol = ran_clean(settings, tmp_path, "pl", PL_ELECTION, {"obwody": PL_CONTRACT}, files)
    found = pl_sums(early)
    assert results_at(pol, ("national", "wojewodztwo", "powiat", "gmina")) == dict(found)
    names = published(pol, "select unit_code, unit_name from coverage where level = 'gmina'")
    assert dict(names.iter_rows()) == {
        "020101": "Bolesławiec", "020102": "Bolesławiec", "126101": "Kraków",
        "149901": "zagranica", "229901": "statki",
    }  # fmt: skip
    got = {k: (v[2], v[3], v[4]) for k, v in status(pol).items()}
    assert got == expected_status(by_district(found, "national"), {("prezydent", "national"): 120})
    assert got[("prezydent", "national")][2]  # decided with an obwód out: the margin exceeds it


# Taiwan, the CEC's presidential results per polling station (總統-A05-4, a sheet per county,
# saved as CSV): a title line, a two-row header whose candidates' cells wrap over three lines
# ('(1)⏎柯文哲⏎吳欣盈': the ticket's number, president, vice president) under a cell merged
# across them; the county's total on the first row, then each town's total on a row naming the
# town, the town's stations below it with the town's cell empty (merged down in the sheet).
# Town names repeat across counties (中正區 is in Taipei and in Keelung); station numbers are
# the county's.
TW_TICKETS = ["(1)\n柯文哲\n吳欣盈", "(2)\n賴清德\n蕭美琴", "(3)\n侯友宜\n趙少康"]
TW_LABELS = [t.split("\n", 1)[1].replace("\n", " ") for t in TW_TICKETS]
TW_COUNTIES = {  # county code → (its name, {town: [(village, station, registered)]})
    "63000": ("臺北市", {"中正區": [("建國里", "0001", 2510), ("文祥里", "0002", 1980)],
                         "大同區": [("建泰里", "0003", 2230), ("大有里", "0004", 1760)]}),
    "10017": ("基隆市", {"中正區": [("中正里", "0001", 1650), ("正義里", "0002", 1430)],
                         "七堵區": [("長興里", "0003", 1890)]}),
}  # fmt: skip
TW_COUNTS = ["有效票數A", "無效票數B", "投票數C", "已領未投票數D", "發出票數E", "用餘票數F"]
TW_COUNTS += ["選舉人數G", "投票率H"]


def tw_sheet(county: str, seed: int, held: frozenset = frozenset()) -> bytes:
    name, towns = TW_COUNTIES[county]
    rng, stations = random.Random(seed), {}
    for town, rows in towns.items():
        for village, station, registered in rows:
            if (county, station) in held:
                continue
            valid, invalid = int(registered * rng.uniform(0.6, 0.75)), rng.randint(5, 30)
            took = rng.randint(0, 3)
            votes = split(rng, valid, TW_LABELS[1:] + TW_LABELS[:1])
            issued = valid + invalid + took
            cells = [*(votes[t] for t in TW_LABELS), valid, invalid, valid + invalid, took]
            cells += [issued, registered - issued, registered]
            stations.setdefault(town, []).append((village, station, cells))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([f"第16任總統(副總統)選舉 候選人在{name}各投開票所得票數一覽表"])
    writer.writerow(
        ["鄉(鎮、市、區)別", "村里別", "投票所別", "各組候選人得票情形", "", "", *TW_COUNTS]
    )
    writer.writerow(["", "", "", *TW_TICKETS, *[""] * len(TW_COUNTS)])

    def total(rows: list) -> list:
        summed = [sum(r[2][i] for r in rows) for i in range(len(rows[0][2]))]
        return [*summed, f"{100 * summed[-5] / summed[-1]:.2f}"]

    everything = [r for rows in stations.values() for r in rows]
    writer.writerow(["總　計", "", "", *total(everything)])
    for town, rows in stations.items():
        writer.writerow([town, "", "", *total(rows)])
        for village, station, cells in rows:
            writer.writerow(["", village, station, *cells, f"{100 * cells[-5] / cells[-1]:.2f}"])
    return out.getvalue().encode()


def tw_files(held: frozenset = frozenset()) -> dict:
    return {
        f"總統-A05-4-候選人得票數一覽表-各投開票所({name}).csv": tw_sheet(county, int(county), held)
        for county, (name, _) in TW_COUNTIES.items()
    }


def tw_sums(files: dict) -> Counter:
    """(contest, level, unit, ticket) → votes, from the stations' rows: a row with a station
    number, its town the last one named above it."""
    found = Counter()
    for file_name, data in files.items():
        county = next(c for c, (n, _) in TW_COUNTIES.items() if f"({n})" in file_name)
        rows = list(csv.reader(io.StringIO(data.decode())))
        town = ""
        for row in rows[3:]:
            town = row[0] or town
            if not row[2]:
                continue
            for ticket, votes in zip(TW_LABELS, row[3:6], strict=True):
                for unit in (("national", "national"), ("county", county)):
                    found[("president", *unit, ticket)] += int(votes)
                found[("president", "town", f"{county}-{town}", ticket)] += int(votes)
    return found


TW_ELECTION = """
id = "tw"
levels = ["county", "town", "station"]
registry = "registry.csv"
[[contest]]
id = "president"
name = "第16任總統(副總統)選舉"
"""


def tw_contract(county: str) -> str:
    columns = "\n".join(
        f'"{label}" = "各組候選人得票情形|{ticket.replace(chr(10), " ")}"'
        for label, ticket in zip(TW_LABELS, TW_TICKETS, strict=True)
    )
    return f"""
id = "a05_4_{county}"
source = {{ id = "cec", kind = "official", name = "Central Election Commission" }}
contests = {{ id = "president" }}
[file]
pattern = "總統-A05-4-候選人得票數一覽表-各投開票所({TW_COUNTIES[county][0]}).csv"
skip_lines = 1
header_rows = 2
fill_down = ["鄉(鎮、市、區)別"]      # a town is named on its first row only
[codes]
county = {{ value = "{county}" }}       # the sheet's county is in its name only
town = {{ parts = [{{ level = "county" }}, {{ column = "鄉(鎮、市、區)別" }}], separator = "-" }}
station = {{ parts = [{{ level = "county" }}, {{ column = "投票所別" }}], separator = "-" }}
[counts]
registered = "選舉人數G"
valid_votes = "有效票數A"
null_votes = "無效票數B"
total_votes = "投票數C"
[candidates.columns]
{columns}
[[exclude]]                             # the county's and the towns' totals
column = "投票所別"
matches = '^\\s*$'
"""


def tw_registry() -> bytes:
    rows = ["county_code,county_name,town_code,town_name,station_code,station_name,registered"]
    rows[0] += ",contests"
    for county, (name, towns) in TW_COUNTIES.items():
        for town, stations in towns.items():
            for village, station, registered in stations:
                rows.append(
                    f"{county},{name},{county}-{town},{town},{county}-{station},{village},"
                    f"{registered},president"
                )
    return ("\n".join(rows) + "\n").encode()


@pytest.mark.e2e
def test_taiwan_sheets_with_merged_town_cells_and_wrapped_headers_publish_exact_totals(
    settings, tmp_path
):
    held = frozenset({("10017", "0003")})  # 七堵區's station still out
    files = tw_files(held)
    contracts = {f"a05_4_{c}": tw_contract(c) for c in TW_COUNTIES}
    tw = ran_clean(
        settings, tmp_path, "tw", TW_ELECTION, contracts, {**files, "registry.csv": tw_registry()}
    )
    found = tw_sums(files)
    assert results_at(tw, ("national", "county", "town")) == dict(found)
    got = {k: (v[2], v[3], v[4]) for k, v in status(tw).items()}
    assert got == expected_status(by_district(found, "national"), {("president", "national"): 1890})


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def fr_contract(change: str = "", new: str = ""):
    election = parse_election(tomllib.loads(FR_ELECTION))
    text = FR_CONTRACT.replace(change, new) if change else FR_CONTRACT
    return election, parse_contract(tomllib.loads(text), election, "bv")


@pytest.mark.parametrize(
    ("change", "new", "problem"),
    [
        ("(?P<column>.+) (?P<key>[0-9]+)", "(.+) ([0-9]+)", "the named groups (?P<column>…)"),
        ("(?P<column>.+) (?P<key>[0-9]+)", "(?P<column>.+ (?P<key>[0-9]+)", "polars can run"),
        ('"Nuance candidat", "Voix"]', '"Voix", "Voix"]', "a column is named twice"),
        (
            'votes_column = "Voix"',
            'votes_column = "Voix"\n[[exclude]]\ncolumn = "Voix"\nequals = "0"',
            "exclude[0].column: 'Voix' is a repeated group's column",
        ),  # fmt: skip
        (
            'votes_column = "Voix"',
            'votes_column = "Voix"\n[[include]]\ncolumn = "Voix 1"\nmatches = "."',
            "include[0].column: 'Voix 1' is a repeated group's column",
        ),  # fmt: skip
        (
            'separator = ";"',
            'separator = ";"\nfill_down = ["Code BV", "Nom candidat"]',
            "file.fill_down[1]: 'Nom candidat' is a repeated group's column",
        ),  # fmt: skip
        ('separator = ";"', 'separator = ";"\nformat = "jsonl"', "delimited files only"),
        (
            'separator = ";"',
            'separator = ";"\nfill_down = ["Code BV", "Code BV"]',
            "file.fill_down: 'Code BV' is listed twice",
        ),  # fmt: skip
    ],
)
def test_repeated_groups_are_refused_where_they_cannot_be_read(change, new, problem):
    with pytest.raises(ContractError, match=re.escape(problem)):
        fr_contract(change, new)


def test_repeated_groups_need_the_long_layout():
    election = parse_election(tomllib.loads(PL_ELECTION))
    repeat = "repeat = { pattern = '^(?P<column>V) (?P<key>[0-9])$', columns = ['V'] } }"
    text = PL_CONTRACT.replace(
        'encoding = "windows-1250" }', f'encoding = "windows-1250", {repeat}'
    )
    with pytest.raises(ContractError, match="file.repeat: repeated column groups are read with"):
        parse_contract(tomllib.loads(text), election, "obwody")


def test_each_bureau_row_becomes_a_row_per_candidate_group_and_empty_groups_none(tmp_path):
    election, contract = fr_contract()
    path = write(tmp_path, "resultats-definitifs-par-bureau-de-vote.csv", fr_file())
    frame = read_feed(path, contract)
    refuse_drift(path, frame, contract)
    rows = apply_contract(frame, contract, election)
    bureaux = sum(len(c[4]) for c in FR_CIRCOS.values())
    assert (rows.rows_read, rows.excluded, rows.blank) == (bureaux, 0, 0)
    assert rows.tallies.height == sum(len(c[3]) * len(c[4]) for c in FR_CIRCOS.values())
    first = rows.tallies.filter(pl.col("bureau_code") == "75056-0101").sort("source_row")
    assert first["source_row"].to_list() == [1001, 1002, 1003, 1004]
    assert first["candidate"].to_list() == ["MAILLARD Sylvain ENS", "DUMAS Caroline UG",
                                            "FAURE Jean RN", "LEGRAND Élise DIV"]  # fmt: skip


def test_a_bureau_row_with_no_candidate_group_keeps_one_row_with_no_label(tmp_path):
    election, contract = fr_contract()
    path = write(tmp_path, "resultats-definitifs-par-bureau-de-vote.csv",
                 fr_without_candidates(("2A004", "0002")))  # fmt: skip
    rows = apply_contract(read_feed(path, contract), contract, election)
    bureaux = sum(len(c[4]) for c in FR_CIRCOS.values())
    assert (rows.rows_read, rows.excluded, rows.blank) == (bureaux, 0, 0)
    empty = rows.tallies.filter(pl.col("bureau_code") == "2A004-0002")
    assert empty.select("source_row", "candidate", "votes").rows() == [(8001, "", "")]
    assert empty["registered"].to_list() == [str(fr_registered("2A01", 1))]


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (lambda h: [c.replace("Voix 3", "Votes 3") for c in h], "group '3' lacks 'Voix'"),
        (lambda h: [c.replace(" 1", "_1") for c in h], None),  # group 1 is then no group
        (lambda h: [re.sub(" [0-9]$", "", c) for c in h], "no column matches file.repeat"),
        (lambda h: [*h[:7], "Voix", *h[8:]], "'Voix' is also a repeated group's column name"),
    ],
)
def test_a_header_whose_groups_drifted_rejects_the_file_whole(tmp_path, header, problem):
    election, contract = fr_contract()
    lines = fr_file().decode().split("\n", 1)
    text = ";".join(header(FR_HEADER)) + "\n" + lines[1]
    path = write(tmp_path, "resultats-definitifs-par-bureau-de-vote.csv", text.encode())
    frame = read_feed(path, contract)
    if problem is None:  # the first candidates are left out: their votes are no line at all
        refuse_drift(path, frame, contract)
        labels = apply_contract(frame, contract, election).tallies["candidate"]
        assert "MAILLARD Sylvain ENS" not in labels.to_list()
        return
    with pytest.raises(FileRejected, match=re.escape(problem)):
        refuse_drift(path, frame, contract)


def test_the_older_bureau_files_whose_rows_run_past_their_header_are_rejected(tmp_path):
    """The 2017 and 2022 files name only the first candidate's columns in the header and give
    the others' cells unnamed beyond it: no contract can name them, and a row longer than the
    header is never cut to fit."""
    election, contract = fr_contract()
    header = FR_HEADER[: 21 + len(FR_GROUP)]
    body = fr_file().decode().split("\n", 1)[1]
    path = write(tmp_path, "resultats-definitifs-par-bureau-de-vote.csv",
                 (";".join(header) + "\n" + body).encode())  # fmt: skip
    with pytest.raises(FileRejected, match="row 1 has 66 fields where the header has 30"):
        read_feed(path, contract)


def test_a_windows_1250_file_read_as_latin_1_drifts_and_an_undefined_byte_rejects_it(tmp_path):
    election = parse_election(tomllib.loads(PL_ELECTION))
    latin = parse_contract(
        tomllib.loads(PL_CONTRACT.replace('"windows-1250"', '"latin-1"')), election, "obwody"
    )
    path = write(tmp_path, "wyniki_gl_na_kand_po_obwodach.csv", pl_file())
    with pytest.raises(FileRejected, match="missing column.s. .*Robert BIEDROŃ"):
        refuse_drift(path, read_feed(path, latin), latin)
    contract = parse_contract(tomllib.loads(PL_CONTRACT), election, "obwody")
    frame = read_feed(path, contract)
    assert frame["Siedziba"][0] == "Szkoła Podstawowa nr 1 im. „Orląt Lwowskich”, ul. Długa 1"
    write(tmp_path, "wyniki_gl_na_kand_po_obwodach.csv", pl_file() + b"\x81\r\n")
    lines = pl_file().count(b"\n") + 1
    with pytest.raises(FileRejected, match=rf"is not windows-1250 text \(line {lines}, byte"):
        read_feed(path, contract)


def test_fill_down_repeats_the_last_value_above_and_leaves_the_first_empty_cells(tmp_path):
    election = parse_election(tomllib.loads(TW_ELECTION))
    contract = parse_contract(tomllib.loads(tw_contract("63000")), election, "a05_4_63000")
    assert contract.fill_down == ("鄉(鎮、市、區)別",)
    frame = pl.DataFrame({"town": ["", "中正區", "", " ", "大同區", None, ""]})
    filled = frame.select(pl.col("town").pipe(lambda _: filled_down("town")))
    assert filled["town"].to_list() == [
        "",
        "中正區",
        "中正區",
        "中正區",
        "大同區",
        "大同區",
        "大同區",
    ]
    path = write(tmp_path, tw_files().popitem()[0], tw_sheet("63000", 1))
    assert "各組候選人得票情形|(2) 賴清德 蕭美琴" in read_feed(path, contract).columns
    clashing = tw_sheet("63000", 1).replace(TW_TICKETS[0].encode(), b"(2)\n\n" + TW_LABELS[1]
                                            .replace(" ", "\n").encode())  # fmt: skip
    write(tmp_path, path.name, clashing)
    with pytest.raises(FileRejected, match="two header cells read as"):
        read_feed(path, contract)


def fr_without_candidates(bureau: tuple[str, str]) -> bytes:
    """The bureaux file with one bureau's candidate groups all emptied (its counts kept)."""
    lines = fr_file().decode().split("\n")
    at = next(
        i
        for i, line in enumerate(lines)
        if f";{bureau[0]};Commune {bureau[0]};{bureau[1]};" in line
    )
    cells = lines[at].split(";")
    lines[at] = ";".join(cells[:21] + [""] * (len(cells) - 21))
    return "\n".join(lines).encode()


@pytest.mark.e2e
def test_a_bureau_row_with_no_candidate_group_is_quarantined_never_dropped(settings, tmp_path):
    """A data row none of whose groups is given keeps one row with no label: the bureau's tally
    is quarantined (E8, named with the file's row), every other bureau published exact; the
    file's rows are all accounted for (read = used + left out + blank)."""
    data = fr_without_candidates(("2A004", "0002"))
    files = {"resultats-definitifs-par-bureau-de-vote.csv": data, "registry.csv": fr_registry()}
    loose = replace(settings, quarantine_threshold=0.9)  # one bureau of 11 quarantined
    fr = landed(loose, tmp_path, "fr", FR_ELECTION, {"bv": FR_CONTRACT}, files)
    assert run(fr).success
    issues = published(
        fr, "select distinct rule_id, tally_code, source_row, file_name from quality_issues"
    )
    bureaux = sum(len(c[4]) for c in FR_CIRCOS.values())
    assert issues.rows() == [
        ("E8", "2A004-0002", 8001, "resultats-definitifs-par-bureau-de-vote.csv")
    ]
    found, _ = fr_sums(data)
    assert results_at(fr, ("national", "departement", "circonscription")) == dict(found)
    with connect(fr.warehouse, read_only=True) as con:
        accounted = con.sql(
            "select rows_read, rows_used, rows_excluded, rows_blank from raw.deliveries "
            "where kind = 'feed'"
        ).fetchall()
        rows = con.sql("select distinct source_row // 1000 from raw.tallies_interieur").fetchall()
    assert accounted == [(bureaux, bureaux, 0, 0)]
    assert sorted(r for (r,) in rows) == list(range(1, bureaux + 1))  # each row has its tallies


def test_the_complete_header_of_a_file_with_repeated_groups_is_its_own():
    """`file.columns` lists the file's header (`Voix 1`, …), not the rows its groups become."""
    election = parse_election(tomllib.loads(FR_ELECTION))
    columns = "columns = [" + ", ".join(f'"{c}"' for c in FR_HEADER) + "]\n[file.repeat]"
    contract = parse_contract(
        tomllib.loads(FR_CONTRACT.replace("[file.repeat]", columns, 1)), election, "bv"
    )
    assert header_problems(FR_HEADER, contract) is None
    problem = header_problems([*FR_HEADER, "Commentaire"], contract)
    assert problem == "columns no longer match the contract: unexpected column(s) Commentaire"


def doc_blocks(section: str) -> list[dict]:
    """The TOML blocks of a section of docs/contracts.md, parsed."""
    page = (Path(__file__).parents[1] / "docs" / "contracts.md").read_text(encoding="utf-8")
    text = page.split(f"### {section}\n", 1)[1].split("\n### ", 1)[0]
    return [tomllib.loads(b) for b in re.findall(r"```toml\n(.*?)```", text, flags=re.S)]


def test_the_documented_repeated_groups_are_the_contracts_these_tests_run():
    """docs/contracts.md's examples of `file.repeat` parse, and are what France's and
    Australia's feeds above are read with."""
    generic, france, australia = doc_blocks("Column groups repeated in one row")
    election = parse_election(tomllib.loads(FR_ELECTION))
    tested = tomllib.loads(FR_CONTRACT)
    assert france["file"]["repeat"] == tested["file"]["repeat"]
    assert {k: france[k] for k in ("codes", "counts", "candidates")} == {
        k: tested[k] for k in ("codes", "counts", "candidates")
    }
    documented = {**tested, **france, "file": {**tested["file"], **france["file"]}}
    assert parse_contract(documented, election, "bv") == parse_contract(tested, election, "bv")
    with_key = {**tested, "file": {**tested["file"], **generic["file"]}}
    assert parse_contract(with_key, election, "bv").repeat.key == "Group"
    types = tomllib.loads(AU_TYPES_CONTRACT)
    assert australia["file"]["repeat"] == types["file"]["repeat"]
    assert australia["codes"]["place"] == types["codes"]["place"]


def test_tallyhouse_check_reads_repeated_groups_and_filled_down_cells_as_a_run_does(tmp_path):
    """`tallyhouse check` (landing.dry_run) splits a file's groups and fills its cells down as a
    run does: France's bureaux give their candidates' labels, Australia's vote types their
    units, Taiwan's stations their towns; nothing is refused."""
    votes = au_votes()
    feeds = [
        ("fr", FR_ELECTION, {"bv": FR_CONTRACT}, {
            "resultats-definitifs-par-bureau-de-vote.csv": fr_file(), "registry.csv": fr_registry()
        }),
        ("au", AU_ELECTION, {"types": AU_TYPES_CONTRACT}, {
            "HouseFirstPrefsByCandidateByVoteTypeDownload-27966.csv": au_types(votes),
            "registry.csv": au_registry(),
        }),
        ("tw", TW_ELECTION, {f"a05_4_{c}": tw_contract(c) for c in TW_COUNTIES},
         {**tw_files(), "registry.csv": tw_registry()}),
    ]  # fmt: skip
    checked = {}
    for election_id, election, contracts, files in feeds:
        found = landed(Settings(tmp_path / election_id), tmp_path / election_id, election_id,
                       election, contracts, files)  # fmt: skip
        report = dry_run(load_election(election_id, found.elections_dir), found.landing_dir)
        for check in report.files:
            assert check.error is None and check.quarantined == 0, check
            checked[election_id] = [*checked.get(election_id, []), check]
    [fr] = checked["fr"]
    bureaux = sum(len(c[4]) for c in FR_CIRCOS.values())
    assert (fr.rows_read, fr.rows_excluded, fr.tallies) == (bureaux, 0, bureaux)
    labelled = {label.text: label.rows for label in fr.labels}
    assert labelled == Counter(
        f"{name} {first} {nuance}"
        for _, _, _, candidates, places in FR_CIRCOS.values()
        for name, first, nuance in candidates
        for _ in places
    )
    [au] = checked["au"]
    assert dict(au.units)["place"] == len(AU_DIVISIONS) * len(AU_DECLARATION)
    assert sorted(dict(tw.units)["town"] for tw in checked["tw"]) == [2, 2]
    assert sum(tw.rows_excluded for tw in checked["tw"]) == 2 * (1 + 2)  # county, 2 towns
