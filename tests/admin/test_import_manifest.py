"""The "Import manifest" page: all entries are saved, or none."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from installs.models import Skill

pytestmark = pytest.mark.django_db

IMPORT = reverse("admin:installs_skill_import")

GOOD = {
    "skills": [
        {"id": "acme/a", "name": "A", "version": "1.0", "python": ["alpha==1.0"]},
        {"id": "acme/b", "npm": {"left-pad": "^1.3.0"}},
    ]
}
BAD = {
    "skills": [
        {"id": "acme/good", "python": ["alpha==1.0"]},
        {"id": "Bad Id"},
        {"id": "acme/url", "python": ["alpha @ https://example.com/alpha.whl"]},
        {"id": "acme/good"},
    ]
}


def errors_of(response):
    return list(response.context["form"].non_field_errors())


def test_import_page_renders_for_a_superuser(admin_client):
    response = admin_client.get(IMPORT)

    assert response.status_code == 200
    assert b'<textarea name="text"' in response.content
    assert b'<input type="file" name="file"' in response.content


def test_good_manifest_creates_the_skills(admin_client):
    response = admin_client.post(IMPORT, {"text": json.dumps(GOOD)}, follow=True)

    assert response.redirect_chain == [
        (reverse("admin:installs_skill_changelist"), 302)
    ]
    assert [str(m) for m in response.context["messages"]] == [
        "Imported 2 skills: created acme/a, acme/b."
    ]
    a = Skill.objects.get(pk="acme/a")
    assert (a.name, a.version, a.python_requirements) == ("A", "1.0", ["alpha==1.0"])
    assert a.source == "pasted in the admin"
    assert Skill.objects.get(pk="acme/b").npm_dependencies == {"left-pad": "^1.3.0"}


def test_uploaded_manifest_updates_and_reports_unchanged(admin_client):
    admin_client.post(IMPORT, {"text": json.dumps(GOOD)}, follow=True)
    changed = json.loads(json.dumps(GOOD))
    changed["skills"][0]["version"] = "1.1"
    upload = SimpleUploadedFile("skills.json", json.dumps(changed).encode())

    response = admin_client.post(IMPORT, {"file": upload}, follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "Imported 2 skills: updated acme/a; unchanged acme/b."
    ]
    a = Skill.objects.get(pk="acme/a")
    assert (a.version, a.source) == ("1.1", "skills.json uploaded in the admin")


def test_bad_manifest_lists_each_rejected_entry_and_saves_nothing(admin_client):
    response = admin_client.post(IMPORT, {"text": json.dumps(BAD)})

    assert response.status_code == 200
    assert errors_of(response) == [
        (
            "Manifest pasted in the admin was rejected, nothing was imported; "
            "3 entries failed:"
        ),
        (
            "Skill id 'Bad Id' is not valid: use 'name' or 'owner/name' with "
            "lowercase letters, digits, '.', '_' and '-' (no '..')."
        ),
        errors_of(response)[2],
        "Skill 'acme/good' is declared twice.",
    ]
    assert "acme/url" in errors_of(response)[2]
    assert "alpha @ https://example.com/alpha.whl" in errors_of(response)[2]
    assert b'id="si-import-errors"' in response.content
    assert Skill.objects.count() == 0


def test_manifest_that_is_not_json_is_one_error(admin_client):
    response = admin_client.post(IMPORT, {"text": "{not json"})

    [error] = errors_of(response)
    assert error.startswith("Manifest pasted in the admin is not valid JSON: ")
    assert Skill.objects.count() == 0


def test_empty_form_asks_for_a_manifest(admin_client):
    response = admin_client.post(IMPORT, {"text": "  "})

    assert errors_of(response) == ["Paste a manifest or choose a file."]


def test_oversized_upload_is_refused_before_parsing(admin_client, settings):
    settings.SKILLINSTALL_MAX_MANIFEST_BYTES = 100
    upload = SimpleUploadedFile("big.json", b" " * 101)

    response = admin_client.post(IMPORT, {"file": upload})

    assert errors_of(response) == [
        "big.json is 101\xa0bytes, over the limit of 100\xa0bytes."
    ]


def test_import_needs_the_trigger_permission(viewer_client):
    assert viewer_client.get(IMPORT).status_code == 403
    response = viewer_client.post(IMPORT, {"text": json.dumps(GOOD)})

    assert response.status_code == 403
    assert Skill.objects.count() == 0


def test_anonymous_users_are_sent_to_the_login(client):
    response = client.get(IMPORT)

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
