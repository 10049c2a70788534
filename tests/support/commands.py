"""Run management commands in a test the way a shell would see them."""

from io import StringIO

from django.core.management import CommandError, call_command


def run_command(*args):
    """Run a command and return (exit code, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    except CommandError as exc:
        err.write(str(exc))
        code = exc.returncode
    return code, out.getvalue(), err.getvalue()
