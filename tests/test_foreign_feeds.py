"""Feeds of other countries' public formats, configured from the docs alone (docs/contracts.md):
a Clarity-style long precinct export (a row per vote type, "Total Votes" and "Times Cast" rows),
a Peru ONPE-style wide acta file (a row per mesa and election type). Each publishes exact
totals per contest, summed here independently from the CSV text."""

import csv
import io
import re
import tomllib
from collections import Counter
from dataclasses import replace

import polars as pl
import pytest

from tests.conftest import published, run
from transforms.contract import apply_contract, parse_contract, ungrouped
from transforms.contract_models import ContractError, parse_election

# A county's Clarity export: a line's votes split over vote types, count rows per vote type,
# unit-wide rows (registered voters, ballots cast) under contests of their own.
# (precinct, contest, vote type): its rows' choice=votes
CLARITY_ROWS = """
0001|President|Election Day|HARRIS / WALZ=93;TRUMP / VANCE=84;Write-in=2;Over Votes=1
0001|President|Election Day|Under Votes=3;Total Votes=179;Times Cast=183
0001|President|Mail|HARRIS / WALZ=111;TRUMP / VANCE=107;Write-in=0;Over Votes=1;Under Votes=2
0001|President|Mail|Total Votes=218;Times Cast=221
0001|Commissioner District 2|Election Day|ANN LEE=100;BOB RAY=80;Over Votes=0;Under Votes=3
0001|Commissioner District 2|Election Day|Total Votes=180;Times Cast=183
0001|Commissioner District 2|Mail|ANN LEE=120;BOB RAY=99;Over Votes=0;Under Votes=2
0001|Commissioner District 2|Mail|Total Votes=219;Times Cast=221
0002|President|Election Day|HARRIS / WALZ=70;TRUMP / VANCE=120;Write-in=1;Over Votes=0
0002|President|Election Day|Under Votes=4;Total Votes=191;Times Cast=195
0002|President|Mail|HARRIS / WALZ=130;TRUMP / VANCE=60;Write-in=3;Over Votes=2;Under Votes=0
0002|President|Mail|Total Votes=193;Times Cast=195
0002|Commissioner District 3|Election Day|CARL DIAZ=90;DANA FOX=101;Over Votes=1
0002|Commissioner District 3|Election Day|Under Votes=3;Total Votes=191;Times Cast=195
0002|Commissioner District 3|Mail|CARL DIAZ=95;DANA FOX=97;Over Votes=0;Under Votes=3
0002|Commissioner District 3|Mail|Total Votes=192;Times Cast=195
"""
PARTIES = {"HARRIS / WALZ": "DEM", "TRUMP / VANCE": "REP", "ANN LEE": "DEM", "BOB RAY": "REP"}


def clarity_export(spec: str) -> str:
    """The export's CSV: a row per precinct, contest, choice and vote type, under a Registered
    Voters row per precinct (a contest of its own, as Clarity gives it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["Precinct Code", "Contest Name", "Choice Name", "Party Code", "Vote Type", "Votes"]
    )
    seen = set()
    for line in spec.strip().splitlines():
        precinct, contest, vote_type, choices = line.split("|")
        if precinct not in seen:
            seen.add(precinct)
            writer.writerow([precinct, "Registered Voters", "Registered Voters", "", "Total", 1000])
            writer.writerow([precinct, "Ballots Cast", "Ballots Cast", "", "Total", 390])
        for choice in choices.split(";"):
            label, votes = choice.split("=")
            writer.writerow([precinct, contest, label, PARTIES.get(label, ""), vote_type, votes])
    return out.getvalue()


CLARITY = clarity_export(CLARITY_ROWS)

CLARITY_ELECTION = """
id = "county"
levels = ["precinct"]
expected_tallies = 2
discover_contests = true
[districts]
commission = "County commission district"
[[contest]]
id = "president"
name = "President"
"""

CLARITY_CONTRACT = """
id = "clarity"
source = { id = "county", kind = "official" }
[file]
pattern = "clarity_*.csv"
[codes]
precinct = "Precinct Code"
[counts]
[candidates]
layout = "long"
candidate_column = "Choice Name"
votes_column = "Votes"
sum_over = ["Vote Type"]
[candidates.aliases]
"Write-in" = "other_votes"
"Over Votes" = "null_votes"
"Under Votes" = "blank_votes"
"Total Votes" = "valid_votes"
"Times Cast" = "total_votes"
"Registered Voters" = "registered"
[contests]
columns = ["Contest Name"]
[[contests.rule]]
column = "Contest Name"
matches = '^Commissioner District ([0-9]+)'
level = "commission"
[[exclude]]
column = "Contest Name"
equals = "Ballots Cast"
"""

COUNT_LABELS = {
    "Write-in": "_other",
    "Over Votes": "null_votes",
    "Under Votes": "blank_votes",
    "Total Votes": "valid_votes",
    "Times Cast": "total_votes",
}


def clarity_sums(text: str) -> tuple[Counter, Counter]:
    """Per contest id: each candidate's votes (write-ins as `_other`) and each count, summed over
    precincts and vote types, in plain Python."""
    lines, counts = Counter(), Counter()
    for row in csv.DictReader(io.StringIO(text)):
        if row["Contest Name"] in ("Registered Voters", "Ballots Cast"):
            continue
        contest = re.sub(r"[^a-z0-9]+", "-", row["Contest Name"].lower())
        label = COUNT_LABELS.get(row["Choice Name"], row["Choice Name"])
        target = lines if label not in ("null_votes", "blank_votes") else counts
        target[(contest, label)] += int(row["Votes"])
        if label in ("valid_votes", "total_votes"):
            del lines[(contest, label)]
            counts[(contest, label)] += int(row["Votes"])
    return lines, counts


# Peru ONPE's open data: a row per mesa and election type, the same party columns for each;
# an annulled or unresolved acta has its vote cells empty.
ONPE = (
    "UBIGEO;DEPARTAMENTO;DISTRITO;TIPO_ELECCION;MESA_DE_VOTACION;DESCRIP_ESTADO_ACTA;"
    "N_ELEC_HABIL;VOTOS_P1;VOTOS_P2;VOTOS_VB;VOTOS_VN\n"
    """010101;AMAZONAS;CHACHAPOYAS;PRESIDENCIAL;000001;CONTABILIZADA;257;120;80;14;14
010101;AMAZONAS;CHACHAPOYAS;CONGRESAL;000001;CONTABILIZADA;257;90;101;19;25
010102;AMAZONAS;ASUNCIÓN;PRESIDENCIAL;000002;CONTABILIZADA;268;100;120;20;1
010102;AMAZONAS;ASUNCIÓN;CONGRESAL;000002;ANULADA;268;;;;
150101;LIMA;LIMA;PRESIDENCIAL;900003;CONTABILIZADA;203;50;110;5;6
150101;LIMA;LIMA;CONGRESAL;900003;CONTABILIZADA;203;70;95;3;2
150101;LIMA;LIMA;PRESIDENCIAL;900004;SIN RESOLVER;210;;;;
"""
)

ONPE_ELECTION = """
id = "pe"
levels = ["departamento", "distrito", "mesa"]
discover_contests = true
[[contest]]
id = "presidencial"
candidates = [{ id = "p1", name = "Partido Uno" }, { id = "p2", name = "Partido Dos" }]
[[contest]]
id = "congresal"
district = "departamento"
candidates = [{ id = "p1", name = "Partido Uno" }, { id = "p2", name = "Partido Dos" }]
"""

ONPE_CONTRACT = """
id = "onpe"
source = { id = "onpe", kind = "official" }
[file]
pattern = "Resultados_*.csv"
separator = ";"
encoding = "latin-1"
[codes]
departamento = { column = "UBIGEO", slice = [0, 2] }
distrito = "UBIGEO"
mesa = "MESA_DE_VOTACION"
[names]
distrito = "DISTRITO"
[counts]
registered = "N_ELEC_HABIL"
valid_votes = { sum = ["VOTOS_P1", "VOTOS_P2"] }
blank_votes = "VOTOS_VB"
null_votes = "VOTOS_VN"
[candidates.columns]
p1 = "VOTOS_P1"
p2 = "VOTOS_P2"
[contests]
columns = ["TIPO_ELECCION"]
[[include]]
column = "DESCRIP_ESTADO_ACTA"
equals = "CONTABILIZADA"
"""


def onpe_sums(text: str) -> Counter:
    """Per (contest, level, unit, party): the counted actas' votes, in plain Python."""
    found = Counter()
    for row in csv.DictReader(io.StringIO(text), delimiter=";"):
        if row["DESCRIP_ESTADO_ACTA"] != "CONTABILIZADA":
            continue
        contest = row["TIPO_ELECCION"].lower()
        for party in ("p1", "p2"):
            votes = int(row[f"VOTOS_{party.upper()}"])
            found[(contest, "national", "national", party)] += votes
            found[(contest, "departamento", row["UBIGEO"][:2], party)] += votes
    return found


def national_turnout(settings, fields: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """Per contest: these columns of its national `turnout` row."""
    turnout = published(
        settings, f"select contest_id, {', '.join(fields)} from turnout where level = 'national'"
    )
    return {row["contest_id"]: {f: row[f] for f in fields} for row in turnout.iter_rows(named=True)}


def landed(settings, tmp_path, election_id: str, configs: tuple[str, str], files: dict):
    """Settings of a run of `election_id` (its election.toml and one contract, `configs`) on a
    landing folder of `files` (name → bytes), both in tmp_path."""
    elections, landing = tmp_path / "elections", tmp_path / "landing"
    folder = elections / election_id
    (folder / "contracts").mkdir(parents=True)
    (folder / "election.toml").write_text(configs[0])
    (folder / "contracts" / "feed.toml").write_text(configs[1])
    landing.mkdir()
    for name, data in files.items():
        (landing / name).write_bytes(data)
    return replace(settings, election=election_id, landing_dir=landing, elections_dir=elections)


CLARITY_FEED = (
    "county",
    (CLARITY_ELECTION, CLARITY_CONTRACT),
    {"clarity_20241105.csv": CLARITY.encode()},
)


@pytest.mark.e2e
def test_a_clarity_export_split_by_vote_type_publishes_exact_totals(settings, tmp_path):
    county = landed(settings, tmp_path, *CLARITY_FEED)
    # a one-level election (the precinct only) runs forensics too
    assert run(county).success
    lines, counts = clarity_sums(CLARITY)
    results = published(
        county, "select contest_id, candidate_name, votes from results where level = 'national'"
    )
    found = {(c, "_other" if n.startswith("Other") else n): v for c, n, v in results.iter_rows()}
    assert found == dict(lines)
    fields = ("valid_votes", "total_votes", "null_votes", "blank_votes")
    for contest, figures in national_turnout(county, fields).items():
        assert figures == {f: counts[(contest, f)] for f in fields}, contest
    # the Registered Voters rows (1,000 a precinct) hold for every contest of their precinct
    registered = published(
        county, "select contest_id, registered from turnout where level = 'national'"
    )
    assert dict(registered.iter_rows()) == {
        "president": 2000,
        "commissioner-district-2": 1000,
        "commissioner-district-3": 1000,
    }
    assert published(county, "select count(*) from quality_issues").item() == 0
    status = published(county, "select contest_id, decided from contest_status order by 1")
    # every precinct counted: the president is decided; the commission districts have no
    # expected count without a registry, so they are never called
    assert status.rows() == [
        ("commissioner-district-2", False),
        ("commissioner-district-3", False),
        ("president", True),
    ]


ONPE_FEED = (
    "pe",
    (ONPE_ELECTION, ONPE_CONTRACT),
    {"Resultados_1ra_vuelta.csv": ONPE.encode("latin-1")},
)


@pytest.mark.e2e
def test_a_wide_onpe_file_with_a_contest_column_publishes_exact_totals(settings, tmp_path):
    pe = landed(settings, tmp_path, *ONPE_FEED)
    assert run(pe).success
    results = published(
        pe,
        "select contest_id, level, unit_code, candidate_id, votes from results "
        "where level in ('national', 'departamento')",
    )
    found = {tuple(r[:4]): r[4] for r in results.iter_rows()}
    assert found == dict(onpe_sums(ONPE))
    names = published(pe, "select distinct unit_name from results where level = 'distrito'")
    assert "ASUNCIÓN" in names["unit_name"].to_list()


def election_of(text: str):
    return parse_election(tomllib.loads(text), "election.toml")


def test_sum_over_adds_a_lines_parts_once_each_and_keeps_an_unreadable_part_unparsable():
    election = election_of(CLARITY_ELECTION)
    contract = parse_contract(tomllib.loads(CLARITY_CONTRACT), election, "clarity")
    # a row given twice is one part; a part given twice with two figures is unreadable
    again = "0001,Commissioner District 2,ANN LEE,DEM,Mail,120\n"
    again += "0001,Commissioner District 2,BOB RAY,REP,Mail,98\n"
    text = CLARITY.replace(",Mail,111\n", ",Mail,x\n") + again
    frame = pl.read_csv(io.StringIO(text), infer_schema=False).with_row_index("source_row", 1)
    rows = apply_contract(frame, contract, election).tallies.filter(
        pl.col("precinct_code") == "0001"
    )
    votes = dict(rows.filter(pl.col("count_field").is_null()).select("candidate", "votes").rows())
    assert votes == {
        "HARRIS / WALZ": "93+x",
        "TRUMP / VANCE": "191",
        "ANN LEE": "220",
        "BOB RAY": "80+99|98",
    }
    harris = rows.filter(pl.col("candidate") == "HARRIS / WALZ")
    assert harris["source_row"].to_list() == [3]  # its first row's
    valid = rows.filter(pl.col("count_field") == "valid_votes")
    assert valid["votes"].to_list() == ["397", "399"]


def test_a_units_registered_row_holds_for_its_every_contest_and_a_disagreement_is_unreadable():
    election = election_of(CLARITY_ELECTION)
    contract = parse_contract(tomllib.loads(CLARITY_CONTRACT), election, "clarity")
    twice = "0002,Registered Voters,Registered Voters,,Total,1000\n"
    text = CLARITY + twice.replace("1000", "980") + "0003,President,HARRIS / WALZ,DEM,Mail,5\n"
    frame = pl.read_csv(io.StringIO(text), infer_schema=False).with_row_index("source_row", 1)
    rows = apply_contract(frame, contract, election).tallies
    per_unit = rows.group_by("precinct_code").agg(pl.col("registered").unique())
    assert dict(per_unit.sort("precinct_code").iter_rows()) == {
        "0001": ["1000"],
        "0002": ["1000|980"],
        "0003": [""],
    }
    assert "Registered Voters" not in rows["candidate"].to_list()


@pytest.mark.parametrize(
    ("election", "contract", "problem"),
    [
        (
            CLARITY_ELECTION,
            CLARITY_CONTRACT.replace('sum_over = ["Vote Type"]', 'sum_over = ["Votes"]'),
            "candidates: 'sum_over' names the columns a line's votes are split over, not the "
            "candidate or the votes column",
        ),
        (
            ONPE_ELECTION,
            ONPE_CONTRACT.replace(
                "[candidates.columns]", '[candidates]\nsum_over = ["X"]\n[candidates.columns]'
            ),
            "candidates: 'sum_over' is read only with layout = \"long\"",
        ),
    ],
)
def test_sum_over_is_refused_where_it_means_nothing(election, contract, problem):
    with pytest.raises(ContractError) as refused:
        parse_contract(tomllib.loads(contract), election_of(election), "feed")
    assert str(refused.value) == f"feed.{problem}"


# An Italian results sheet per comune, as a spreadsheet exports it: a title line, a two-row
# header (the consultation above its columns), ISTAT codes with leading zeros, '.' grouping
# thousands; a referendum beside the Camera's party lists.
COMUNI = """\ufeffElezioni politiche e referendum - dati per comune
Regione;Codice ISTAT;Comune;Elettori;Votanti;Referendum;;;;Camera;;;;
;;;;;SI;NO;BIANCHE;NULLE;FDI;PD;M5S;BIANCHE;NULLE
PIEMONTE;001272;TORINO;652.413;385.219;119.321;256.268;3.852;5.778;93.617;96.970;186.929;3.081;4.622
PIEMONTE;001156;MONCALIERI;43.120;24.196;2.483;21.110;241;362;10.314;2.729;10.670;193;290
LAZIO;058091;ROMA;2.101.122;1.290.455;501.003;760.118;12.904;16.430;400.100;390.222;474.456;10.321;15.356
"""

COMUNI_ELECTION = """
id = "it"
levels = ["regione", "comune"]
expected_tallies = 3
discover_contests = true
[[contest]]
id = "referendum"
candidates = [{ id = "si", name = "SI" }, { id = "no", name = "NO" }]
[[contest]]
id = "camera"
"""

COMUNI_CONTRACT = """
id = "comuni"
source = { id = "viminale", kind = "official" }
file = { pattern = "comuni_*.csv", separator = ";", encoding = "utf-8-sig", skip_lines = 1, \
header_rows = 2, thousands = "." }
codes = { regione = "Regione", comune = "Codice ISTAT" }
counts = { registered = "Elettori", total_votes = "Votanti" }
[candidates]
layout = "grouped"
[[contests.pattern]]
candidates = '^([^|]+)\\|(.+)$'
blank_votes = '^([^|]+)\\|BIANCHE$'
null_votes = '^([^|]+)\\|NULLE$'
"""


def comuni_sums(text: str) -> Counter:
    """Per (contest, line): the national sum of the sheet's cells, dots dropped, in Python."""
    rows = [line.split(";") for line in text.splitlines()[3:]]
    lines = {"referendum": ["si", "no", "blank", "null"], "camera": ["FDI", "PD", "M5S"]}
    lines["camera"] += ["blank", "null"]
    found, first = Counter(), 5
    for contest, labels in lines.items():
        for row in rows:
            for i, label in enumerate(labels):
                found[(contest, label)] += int(row[first + i].replace(".", ""))
            found[(contest, "registered")] += int(row[3].replace(".", ""))
            found[(contest, "ballots")] += int(row[4].replace(".", ""))
        first += len(labels)
    return found


COMUNI_FEED = ("it", (COMUNI_ELECTION, COMUNI_CONTRACT), {"comuni_20220925.csv": COMUNI.encode()})


@pytest.mark.e2e
def test_an_italian_sheet_with_grouped_thousands_publishes_exact_totals(settings, tmp_path):
    it = landed(settings, tmp_path, *COMUNI_FEED)
    assert run(it).success
    expected = comuni_sums(COMUNI)
    results = published(
        it, "select contest_id, candidate_id, votes from results where level = 'national'"
    )
    for contest, line, votes in results.iter_rows():
        assert votes == expected[(contest, line)], (contest, line)
    assert results.height == 5
    fields = {"blank_votes": "blank", "null_votes": "null", "total_votes": "ballots"}
    fields["registered"] = "registered"
    for contest, figures in national_turnout(it, tuple(fields)).items():
        assert figures == {f: expected[(contest, line)] for f, line in fields.items()}, contest
    assert published(it, "select count(*) from quality_issues").item() == 0


@pytest.mark.parametrize(
    ("cell", "read"),
    [
        ("1.234.567", "1234567"),
        (" 2.000 ", " 2000 "),
        ("999", "999"),
        ("1.5", "1.5"),  # not grouped by three: left for the gate (E1)
        ("12.34", "12.34"),
        ("1.2345", "1.2345"),
        ("010.101", "010.101"),  # a leading zero: no number of thousands
        ("0.123", "0.123"),
        ("", ""),
    ],
)
def test_thousands_drop_only_a_separator_that_groups_digits_by_three(cell, read):
    frame = pl.DataFrame({"votes": [cell]})
    assert frame.select(ungrouped("votes", "."))["votes"].to_list() == [read]


def test_the_thousands_separator_cannot_be_the_field_separator():
    text = COMUNI_CONTRACT.replace('";"', '","').replace('thousands = "."', 'thousands = ","')
    with pytest.raises(ContractError) as refused:
        parse_contract(tomllib.loads(text), election_of(COMUNI_ELECTION), "comuni")
    assert str(refused.value) == (
        "comuni.file.thousands: the digit-grouping character cannot be the separator ','"
    )


# Brazil's boletins de urna: ';', Latin-1, every field quoted, a row per section, office and
# votável with votes only (a candidate, a Branco or a Nulo without votes has no row); the
# section's registered voters and turnout on every row.
BWEB_HEADER = (
    "SG_UF;CD_MUNICIPIO;NM_MUNICIPIO;NR_ZONA;NR_SECAO;DS_CARGO_PERGUNTA;SG_PARTIDO;"
    "QT_APTOS;QT_COMPARECIMENTO;DS_TIPO_VOTAVEL;NM_VOTAVEL;QT_VOTOS"
)
# (uf, município, zona, seção, aptos, comparecimento): office → votável=votes
BWEB_SECTIONS = {
    ("AC", "1120", "9", "1", 400, 300): {
        "Presidente": "LULA=150;JAIR BOLSONARO=130;Branco=8;Nulo=12",
        "Governador": "GLADSON CAMELI=200;JORGE VIANA=90;Nulo=10",
    },
    ("AC", "1120", "9", "2", 380, 250): {
        "Presidente": "LULA=120;SIMONE TEBET=100;JAIR BOLSONARO=25;Branco=5",
        "Governador": "GLADSON CAMELI=100;JORGE VIANA=140;Branco=4;Nulo=6",
    },
    ("AP", "6050", "2", "101", 300, 200): {
        "Presidente": "JAIR BOLSONARO=90;LULA=95;Nulo=15",
        "Governador": "CLÉCIO LUÍS=150;JAIME NUNES=40;Branco=10",
    },
}


def bweb_file(sections: dict) -> bytes:
    """The boletins' CSV, every field quoted, Latin-1, CRLF."""
    lines = [";".join(f'"{h}"' for h in BWEB_HEADER.split(";"))]
    for (uf, municipio, zona, secao, aptos, comparecimento), offices in sections.items():
        for office, lines_given in offices.items():
            for given in lines_given.split(";"):
                name, votes = given.split("=")
                kind = name if name in ("Branco", "Nulo") else "Nominal"
                cells = [uf, municipio, "X", zona, secao, office, "#NULO#", aptos, comparecimento]
                cells += [kind, name, votes]
                lines.append(";".join(f'"{c}"' for c in cells))
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")


BWEB_ELECTION = """
id = "br"
levels = ["uf", "municipio", "secao"]
expected_tallies = 3
discover_contests = true
[[contest]]
id = "presidente"
name = "Presidente"
candidates = [
  { id = "lula", name = "LULA" }, { id = "bolsonaro", name = "JAIR BOLSONARO" },
  { id = "tebet", name = "SIMONE TEBET" }, { id = "ciro", name = "CIRO GOMES" },
]
[[contest]]
id = "governador"
name = "Governador"
district = "uf"
"""

BWEB_CONTRACT = """
id = "bweb"
source = { id = "tse", kind = "official" }
file = { pattern = "bweb_1t_*.csv", separator = ";", encoding = "latin-1" }
counts = { registered = "QT_APTOS", total_votes = "QT_COMPARECIMENTO" }
contests = { columns = ["DS_CARGO_PERGUNTA"] }
candidates = { layout = "long", candidate_column = "NM_VOTAVEL", votes_column = "QT_VOTOS", \
absent_lines = "zero", aliases = { "Branco" = "blank_votes", "Nulo" = "null_votes" } }
[codes]
uf = "SG_UF"
municipio = { parts = [{ level = "uf" }, { column = "CD_MUNICIPIO", pad = 5 }], separator = "-" }
secao = { parts = [{ level = "municipio" }, { column = "NR_ZONA", pad = 4 }, \
{ column = "NR_SECAO", pad = 4 }], separator = "-" }
"""


def bweb_sums(sections: dict) -> Counter:
    """Per (contest, district, line): the sections' votes, in plain Python."""
    found = Counter()
    for (uf, *_), offices in sections.items():
        for office, lines_given in offices.items():
            district = "national" if office == "Presidente" else uf
            for given in lines_given.split(";"):
                name, votes = given.split("=")
                found[(office.lower(), district, name)] += int(votes)
    return found


BWEB_FEED = ("br", (BWEB_ELECTION, BWEB_CONTRACT), {"bweb_1t_ACAP.csv": bweb_file(BWEB_SECTIONS)})


@pytest.mark.e2e
def test_boletins_de_urna_listing_only_lines_with_votes_publish_exact_totals(settings, tmp_path):
    br = landed(settings, tmp_path, *BWEB_FEED)
    assert run(br).success
    assert published(br, "select count(*) from quality_issues where rule_id like 'E%'").item() == 0
    expected = bweb_sums(BWEB_SECTIONS)
    results = published(
        br,
        "select contest_id, unit_code, candidate_name, votes from results "
        "where (contest_id = 'presidente' and level = 'national') "
        "or (contest_id = 'governador' and level = 'uf')",
    )
    found = {tuple(r[:3]): r[3] for r in results.iter_rows()}
    # SIMONE TEBET has no row in two sections: 0 there, not missing
    assert {k: v for k, v in found.items() if v} == {
        k: v for k, v in expected.items() if k[2] not in ("Branco", "Nulo")
    }
    turnout = published(
        br,
        "select contest_id, unit_code, blank_votes, null_votes from turnout "
        "where (contest_id = 'presidente' and level = 'national') "
        "or (contest_id = 'governador' and level = 'uf')",
    )
    for contest, unit, blank, null in turnout.iter_rows():
        assert (blank, null) == (
            expected[(contest, unit, "Branco")],
            expected[(contest, unit, "Nulo")],
        ), (contest, unit)


def test_absent_lines_zero_fills_the_districts_lines_and_the_aliased_counts_a_unit_lacks():
    election = election_of(BWEB_ELECTION)
    contract = parse_contract(tomllib.loads(BWEB_CONTRACT), election, "bweb")
    frame = pl.read_csv(
        io.BytesIO(bweb_file(BWEB_SECTIONS)), separator=";", encoding="latin-1", infer_schema=False
    ).with_row_index("source_row", 1)
    rows = apply_contract(frame, contract, election).tallies
    second = rows.filter(pl.col("secao_code") == "AC-01120-0009-0002")
    lines = {
        (r["contest_id"], r["candidate"], r["count_field"]): r["votes"]
        for r in second.iter_rows(named=True)
    }
    assert lines[("presidente", "SIMONE TEBET", None)] == "100"
    assert lines[("presidente", "Nulo", "null_votes")] == "0"  # no Nulo row: 0
    ap = rows.filter(pl.col("uf_code") == "AP")
    ap_lines = {(r["contest_id"], r["candidate"]): r["votes"] for r in ap.iter_rows(named=True)}
    assert ap_lines[("presidente", "SIMONE TEBET")] == "0"  # given in AC only
    assert ap_lines[("presidente", "ciro")] == "0"  # declared, given nowhere
    # another state's governor candidates are not on AP's ballot
    assert not any(c == "governador" and n == "GLADSON CAMELI" for c, n in ap_lines)
    assert ap_lines[("governador", "Nulo")] == "0"
    # the zeros are numbered by the section's first row; the file's rows are all kept
    assert set(second["source_row"]) <= set(frame["source_row"])
    assert rows.filter(pl.col("votes") != "0").height == frame.height


def test_absent_lines_zero_in_an_election_of_one_contest():
    election = election_of(ONE_CONTEST)
    contract = parse_contract(tomllib.loads(ONE_CONTEST_CONTRACT), election, "one")
    text = "unit,candidate,votes\nu1,A,5\nu1,B,3\nu2,B,4\n"
    frame = pl.read_csv(io.StringIO(text), infer_schema=False).with_row_index("source_row", 1)
    rows = apply_contract(frame, contract, election).tallies
    assert rows.select("unit_code", "A", "B", "null_votes", "valid_votes").rows() == [
        ("u1", "5", "3", "0", "8"),
        ("u2", "0", "4", "0", "4"),
    ]
    missing = parse_contract(
        tomllib.loads(ONE_CONTEST_CONTRACT.replace('absent_lines = "zero"\n', "")), election, "one"
    )
    assert apply_contract(frame, missing, election).tallies["A"].to_list() == ["5", ""]


ONE_CONTEST = """
id = "one"
levels = ["unit"]
candidates = [{ id = "A", name = "Ana" }, { id = "B", name = "Beto" }]
"""

ONE_CONTEST_CONTRACT = """
id = "one"
source = { id = "one", kind = "official" }
file = { pattern = "one_*.csv" }
codes = { unit = "unit" }
counts = {}
[candidates]
layout = "long"
candidate_column = "candidate"
votes_column = "votes"
absent_lines = "zero"
aliases = { "NULL" = "null_votes" }
"""
