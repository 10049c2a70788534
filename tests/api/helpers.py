"""Helpers of the API tests: clients with tokens, and the error shape."""

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def client_for(user):
    """Return an APIClient that sends ``user``'s token, as a real client does."""
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def assert_error(response, status, code, message, details=None):
    """Check the one error shape: status, stable code and exact message."""
    body = response.json()
    assert response.status_code == status, body
    assert body["code"] == code, body
    assert body["message"] == message, body
    if details is not None:
        assert body["details"] == details, body
    return body
