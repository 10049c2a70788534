import json

import pytest

from installs.models import Conflict, Skill
from tests.support.commands import run_command

pytestmark = pytest.mark.django_db


def write(tmp_path, name, document):
    path = tmp_path / name
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return str(path)


def test_import_creates_then_updates_then_leaves_unchanged(tmp_path):
    path = write(
        tmp_path, "m.json", {"skills": [{"id": "a"}, {"id": "o/b", "python": ["x"]}]}
    )

    assert (
        run_command("import_skills", path)[1]
        == f"{path}: 2 created, 0 updated, 0 unchanged.\n"
    )
    assert (
        run_command("import_skills", path)[1]
        == f"{path}: 0 created, 0 updated, 2 unchanged.\n"
    )
    write(tmp_path, "m.json", {"id": "o/b", "python": ["x>=2"]})
    assert (
        run_command("import_skills", path)[1]
        == f"{path}: 0 created, 1 updated, 0 unchanged.\n"
    )
    assert Skill.objects.get(pk="o/b").python_requirements == ["x>=2"]
    assert Skill.objects.get(pk="o/b").source == path


def test_import_is_all_or_nothing_per_file(tmp_path):
    good = write(tmp_path, "good.json", [{"id": "fine"}])
    bad = write(
        tmp_path,
        "bad.json",
        [
            {"id": "ok-one"},
            {"id": "evil", "python": ["--index-url http://x"]},
            {"id": "Up"},
        ],
    )

    code, out, err = run_command("import_skills", good, bad)

    assert code == 1
    assert out == f"{good}: 1 created, 0 updated, 0 unchanged.\n"
    assert (
        f"Manifest {bad} was rejected, nothing was imported; 2 entries failed:" in err
    )
    assert "'evil'" in err and "--index-url" in err
    assert "Skill id 'Up' is not valid" in err
    assert err.endswith("1 of 2 file(s) rejected.")
    assert sorted(Skill.objects.values_list("pk", flat=True)) == ["fine"]


def test_import_of_a_missing_file(tmp_path):
    code, _, err = run_command("import_skills", str(tmp_path / "nope.json"))

    assert code == 1
    assert err.startswith(
        f"{tmp_path / 'nope.json'}: cannot be read: No such file or directory."
    )
    assert not Skill.objects.exists()


@pytest.fixture
def clashing(tmp_path):
    path = write(
        tmp_path,
        "m.json",
        [
            {"id": "a", "python": ["numpy==1.21.0"]},
            {"id": "b", "python": ["numpy==1.24.0"]},
            {"id": "c", "npm": {"lodash": "^4.17.0"}},
        ],
    )
    run_command("import_skills", path)


def test_check_conflicts_isolated_is_clean(clashing):
    code, out, _ = run_command("check_conflicts")

    assert (code, out) == (0, "Checked 3 skill(s): 0 conflict(s).\n")
    assert not Conflict.objects.exists()


def test_check_conflicts_shared_lists_records_and_exits_1(clashing):
    code, out, _ = run_command("check_conflicts", "--shared", "--json")

    assert code == 1
    document = json.loads(out)
    assert document["checked"] == 3
    assert document["conflicts"] == [
        {
            "ecosystem": "python",
            "package": "numpy",
            "kind": "across_batch",
            "specs": [
                {"spec": "numpy==1.21.0", "source": "a"},
                {"spec": "numpy==1.24.0", "source": "b"},
            ],
            "message": "Python package 'numpy': no version satisfies all of "
            "'numpy==1.21.0' (skill 'a'), 'numpy==1.24.0' (skill 'b'). Install these "
            "skills in isolated mode, or align their specs on this package.",
        }
    ]
    row = Conflict.objects.get()
    assert sorted(row.skills.values_list("pk", flat=True)) == ["a", "b"]


def test_check_conflicts_against_a_constraints_file(clashing, tmp_path):
    constraints = tmp_path / "platform.txt"
    constraints.write_text("# platform pins\nnumpy==1.24.0\n")

    code, out, _ = run_command(
        "check_conflicts", "a", "c", "--constraints", str(constraints)
    )

    assert code == 1
    assert out.splitlines()[0].startswith("[platform] Python package 'numpy'")
    assert out.splitlines()[-1] == "Checked 2 skill(s): 1 conflict(s)."


def test_check_conflicts_npm_constraints(clashing, tmp_path):
    constraints = tmp_path / "npm.json"
    constraints.write_text('{"lodash": "3.x"}')

    code, out, _ = run_command("check_conflicts", "--npm-constraints", str(constraints))

    assert code == 1
    assert out.startswith("[platform] npm package 'lodash'")


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope"], "Skill 'nope' does not exist."),
        (["nope", "nada"], "Skills 'nope', 'nada' do not exist."),
        (
            ["--constraints", "/no/such/file"],
            "Constraints file /no/such/file cannot be read: No such file or directory.",
        ),
    ],
)
def test_check_conflicts_bad_input_exits_2(clashing, args, message):
    code, out, err = run_command("check_conflicts", *args)

    assert (code, out, err.strip()) == (2, "", message)
    assert not Conflict.objects.exists()
