"""Users with and without the right to trigger installs, and their clients."""

import pytest
from django.contrib.auth.models import Permission, User

from installs.models import Skill
from tests.api.helpers import client_for


@pytest.fixture
def reader(db):
    return User.objects.create_user("reader")


@pytest.fixture
def operator(db):
    user = User.objects.create_user("operator")
    user.user_permissions.add(Permission.objects.get(codename="trigger_install"))
    return user


@pytest.fixture
def staff(db):
    return User.objects.create_user("boss", is_staff=True)


@pytest.fixture
def anonymous_client(db):
    return client_for(None)


@pytest.fixture
def reader_client(reader):
    return client_for(reader)


@pytest.fixture
def operator_client(operator):
    """The client most tests use: logged in and allowed to trigger installs."""
    return client_for(operator)


@pytest.fixture
def make_skill(db):
    def make(skill_id, python=(), npm=None, **fields):
        return Skill.objects.create(
            id=skill_id,
            name=fields.pop("name", skill_id),
            python_requirements=list(python),
            npm_dependencies=npm or {},
            **fields,
        )

    return make
