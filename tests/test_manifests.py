import json

import pytest

from installs.exceptions import InvalidManifestError
from installs.manifests import load_manifest, parse_manifest, validate_skill_id

SKILL = {
    "id": "acme/web-scraper",
    "name": "Web scraper",
    "version": "1.2.0",
    "python": ["requests>=2.31", "beautifulsoup4==4.12.3"],
    "npm": {"lodash": "^4.17.21", "@types/node": "20.0.0"},
}


@pytest.mark.parametrize(
    "document",
    [SKILL, [SKILL], {"skills": [SKILL]}],
    ids=["object", "list", "skills-key"],
)
def test_manifest_shapes_give_the_same_skill(document):
    (skill,) = parse_manifest(document, source="m.json")

    assert skill.id == "acme/web-scraper"
    assert skill.name == "Web scraper"
    assert [req.name for req in skill.python] == ["requests", "beautifulsoup4"]
    assert [dep.name for dep in skill.npm] == ["lodash", "@types/node"]
    assert skill.source == "m.json"


def test_npm_may_be_a_list_of_name_at_spec():
    (skill,) = parse_manifest(
        {"id": "x", "npm": ["@types/node@20.0.0", "express"]}, source="m.json"
    )

    assert [(dep.name, dep.spec) for dep in skill.npm] == [
        ("@types/node", "20.0.0"),
        ("express", "*"),
    ]


def test_name_defaults_to_the_id():
    (skill,) = parse_manifest({"id": "solo"})

    assert skill.name == "solo"
    assert skill.python == ()
    assert skill.npm == ()


@pytest.mark.parametrize("skill_id", ["a", "acme/web-scraper", "a.b_c-d/e9", "0day"])
def test_valid_skill_ids(skill_id):
    assert validate_skill_id(skill_id) == skill_id


@pytest.mark.parametrize(
    "skill_id, message",
    [
        (
            "Acme/x",
            (
                "Skill id 'Acme/x' is not valid: use 'name' or 'owner/name' with "
                "lowercase letters, digits, '.', '_' and '-' (no '..')."
            ),
        ),
        (
            "a/b/c",
            (
                "Skill id 'a/b/c' is not valid: use 'name' or 'owner/name' with "
                "lowercase letters, digits, '.', '_' and '-' (no '..')."
            ),
        ),
        (
            "a..b",
            (
                "Skill id 'a..b' is not valid: use 'name' or 'owner/name' with "
                "lowercase letters, digits, '.', '_' and '-' (no '..')."
            ),
        ),
        (
            "../etc",
            (
                "Skill id '../etc' is not valid: use 'name' or 'owner/name' with "
                "lowercase letters, digits, '.', '_' and '-' (no '..')."
            ),
        ),
        (
            "a b",
            (
                "Skill id 'a b' is not valid: use 'name' or 'owner/name' with "
                "lowercase letters, digits, '.', '_' and '-' (no '..')."
            ),
        ),
        ("", "Skill id '' is not valid: it must be a non-empty string."),
        (None, "Skill id None is not valid: it must be a non-empty string."),
        (7, "Skill id 7 is not valid: it must be a non-empty string."),
        (
            "a" * 215,
            (
                "Skill id 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'... is not "
                "valid: it is longer than 214 characters."
            ),
        ),
    ],
)
def test_invalid_skill_ids_are_named(skill_id, message):
    with pytest.raises(InvalidManifestError) as excinfo:
        validate_skill_id(skill_id)

    assert excinfo.value.message == message


def test_every_rejected_entry_is_reported_and_nothing_kept():
    document = {
        "skills": [
            {"id": "good"},
            {"id": "Bad"},
            {"id": "twice"},
            {"id": "twice"},
            {"id": "badver", "version": 3},
            "not an object",
        ]
    }

    with pytest.raises(InvalidManifestError) as excinfo:
        parse_manifest(document, source="m.json")

    assert excinfo.value.details["errors"] == [
        {
            "skill": "Bad",
            "error": "Skill id 'Bad' is not valid: use 'name' or 'owner/name' with "
            "lowercase letters, digits, '.', '_' and '-' (no '..').",
        },
        {"skill": "twice", "error": "Skill 'twice' is declared twice."},
        {
            "skill": "badver",
            "error": "Skill 'badver': 'version' must be a string of at most 100 "
            "characters.",
        },
        {"skill": None, "error": "A skill entry must be a JSON object, not str."},
    ]
    assert excinfo.value.message.startswith(
        "Manifest m.json was rejected, nothing was imported; 4 entries failed:\n"
    )


@pytest.mark.parametrize(
    "data, message",
    [
        (
            b"{nope",
            (
                "Manifest m.json is not valid JSON: Expecting property name "
                "enclosed in double quotes: line 1 column 2 (char 1)."
            ),
        ),
        (
            b"42",
            (
                "Manifest m.json must be a skill object, a list of them, or "
                '{"skills": [...]}.'
            ),
        ),
        (b"[]", "Manifest m.json declares no skill."),
        (b'{"skills": {}}', "Manifest m.json: 'skills' must be a list."),
        (b"\xff\xfe", "Manifest m.json is not UTF-8 text: byte 0 cannot be decoded."),
    ],
)
def test_unreadable_manifests(data, message):
    with pytest.raises(InvalidManifestError) as excinfo:
        load_manifest(data, source="m.json")

    assert excinfo.value.message == message


def test_oversized_manifest_is_refused_before_parsing(settings):
    settings.SKILLINSTALL_MAX_MANIFEST_BYTES = 100
    data = json.dumps({"id": "x", "name": "y" * 200}).encode()

    with pytest.raises(InvalidManifestError) as excinfo:
        load_manifest(data, source="m.json")

    assert excinfo.value.message == (
        f"Manifest m.json is {len(data)} bytes, over the limit of 100 bytes."
    )
