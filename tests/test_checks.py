from django.core import checks


def test_system_checks_pass_on_the_embedded_default():
    assert [m for m in checks.run_checks() if m.level >= checks.ERROR] == []


def test_unknown_backend_is_a_system_check_error(settings):
    settings.SKILLINSTALL_BACKEND = "nosuch"

    errors = [m for m in checks.run_checks() if m.id == "installs.E003"]

    assert len(errors) == 1
    assert errors[0].msg == "Unknown backend 'nosuch': choose one of docker, venv."


def test_a_bad_target_is_a_system_check_error(settings):
    settings.SKILLINSTALL_TARGET_PYTHON = "three"

    errors = [m for m in checks.run_checks() if m.id == "installs.E005"]

    assert len(errors) == 1
    assert errors[0].msg.startswith("The target of the environments is not valid: ")
