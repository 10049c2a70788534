"""django-q2 entry points; each one calls a service and nothing more."""

from installs import services


def execute_run(run_id):
    """Work through one queued install or rollback run."""
    run = services.execute_run(run_id)
    return {"run": run.pk, "status": run.status}


def recover_stalled_runs():
    """Take over runs whose worker stopped renewing its claim."""
    return services.recover_stalled_runs()
