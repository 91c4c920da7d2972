"""The written demo files: every return reads cleanly with ingest's own parsers and rules."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from services.cli.demo.population import DemoConfig
from services.cli.demo.writers import (
    DIRECTORY,
    SOCIAL_CARE,
    Format,
    Generated,
    Kind,
    ReturnEntry,
    read_manifest,
    write_demo,
)
from services.ingest.domain.model import Pupil
from services.ingest.domain.parsing import ParsedReturn, parse_csv, parse_ctf, parse_json
from services.ingest.domain.problems import Problems
from services.ingest.domain.rules import validate_return
from shared.contracts.social_care import SocialCareEpisodes

SMALL = DemoConfig(schools=4, pupils=300, weeks=4, seed=11)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Generated]:
    out = tmp_path_factory.mktemp("demo")
    return out, write_demo(SMALL, out)


def _parse(out: Path, entry: ReturnEntry, problems: Problems) -> ParsedReturn:
    with (out / entry.path).open("rb") as body:
        if entry.format is Format.JSON:
            return parse_json(body, problems)
        if entry.format is Format.CTF:
            return parse_ctf(body, problems)
        if entry.roll_path is None:
            return parse_csv(None, body, problems)
        with (out / entry.roll_path).open("rb") as roll:
            return parse_csv(
                roll,
                body,
                problems,
                replace_from=entry.replace_from.isoformat() if entry.replace_from else None,
                replace_to=entry.replace_to.isoformat() if entry.replace_to else None,
            )


def test_schools_are_split_across_the_three_formats(written: tuple[Path, Generated]) -> None:
    _out, generated = written
    assert {e.format for e in generated.entries if e.kind is Kind.REGISTER} == set(Format)


def test_every_return_passes_ingests_parsers_and_rules_in_submission_order(
    written: tuple[Path, Generated],
) -> None:
    out, generated = written
    dfe_numbers = {s.key: s.dfe_number for s in generated.population.schools}
    stored: dict[str, dict[str, Pupil]] = {}
    for entry in read_manifest(out):
        problems = Problems()
        parsed = _parse(out, entry, problems)
        roll = stored.setdefault(entry.school, {})
        validate_return(
            parsed,
            stored_roll=roll,
            stored_stays={upn: p.stays for upn, p in roll.items()},
            today=date(2026, 1, 1),
            problems=problems,
            school_dfe_number=dfe_numbers[entry.school],
        )
        assert not problems, (entry.path, problems.items[:5])
        assert len(parsed.marks) == entry.marks
        roll.update({p.upn: p for p in parsed.pupils})


def test_json_and_csv_register_returns_replace_their_term_and_ctf_ones_cannot(
    written: tuple[Path, Generated],
) -> None:
    _out, generated = written
    for entry in generated.entries:
        if entry.kind is Kind.REGISTER:
            has_range = entry.replace_from is not None
            assert has_range == (entry.format is not Format.CTF), entry.path


def test_amendments_change_provisional_n_marks_to_their_reasons(
    written: tuple[Path, Generated],
) -> None:
    out, generated = written
    amendments = [e for e in generated.entries if e.kind is Kind.AMENDMENT]
    assert amendments
    problems = Problems()
    codes = {m[3] for e in amendments for m in _parse(out, e, problems).marks}
    assert codes <= {"I", "O"}


def test_the_school_changing_trust_sends_each_part_of_the_year_as_its_trust_then(
    written: tuple[Path, Generated],
) -> None:
    _out, generated = written
    mover = next(m.school_key for m in generated.population.memberships if m.end_date)
    submitters = {
        e.submitter for e in generated.entries if e.school == mover and e.kind is Kind.REGISTER
    }
    assert submitters == {"trust-mere-valley"}  # four weeks of autumn: before the change


def test_the_same_config_writes_the_same_bytes(
    written: tuple[Path, Generated],
    tmp_path: Path,
) -> None:
    out, generated = written
    write_demo(SMALL, tmp_path)
    for entry in generated.entries:
        assert (tmp_path / entry.path).read_bytes() == (out / entry.path).read_bytes()


def test_the_directory_names_every_organisation_a_client_is_made_for(
    written: tuple[Path, Generated],
) -> None:
    out, _generated = written
    directory = json.loads((out / DIRECTORY).read_text())
    types = {o["type"] for o in directory["organisations"]}
    assert types == {"local_authority", "virtual_school", "social_care", "trust", "school"}
    keys = {o["key"] for o in directory["organisations"]}
    assert {c["organisation"] for c in directory["clients"]} == keys


def test_social_care_episodes_are_written_in_the_contract_shape(
    written: tuple[Path, Generated],
) -> None:
    out, generated = written
    document = json.loads((out / SOCIAL_CARE).read_text())
    episodes = SocialCareEpisodes.model_validate({"episodes": document["episodes"]})
    assert len(episodes.episodes) == len(generated.population.episodes)
