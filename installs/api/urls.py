"""Routes of the REST API, mounted under /api/.

Skill ids may hold one slash (``owner/name``), so the routes that take one
end in a ``path`` converter; the id is validated in the view.
"""

from django.urls import path, re_path

from installs.api import views

app_name = "api"

urlpatterns = [
    path("auto-install/install", views.InstallView.as_view(), name="install"),
    path("auto-install/batch", views.BatchInstallView.as_view(), name="batch"),
    path("auto-install/check", views.CheckView.as_view(), name="check"),
    path(
        "auto-install/status/<path:skill_id>",
        views.SkillStatusView.as_view(),
        name="status",
    ),
    path("skills/", views.SkillListView.as_view(), name="skill-list"),
    path("skills/<path:pk>", views.SkillDetailView.as_view(), name="skill-detail"),
    path("runs/", views.RunListView.as_view(), name="run-list"),
    path("runs/<int:pk>", views.RunDetailView.as_view(), name="run-detail"),
    path(
        "runs/<int:pk>/rollback", views.RunRollbackView.as_view(), name="run-rollback"
    ),
    path("batches/", views.BatchListView.as_view(), name="batch-list"),
    path("batches/<int:pk>", views.BatchDetailView.as_view(), name="batch-detail"),
    path("conflicts/", views.ConflictListView.as_view(), name="conflict-list"),
    path(
        "conflicts/<int:pk>", views.ConflictDetailView.as_view(), name="conflict-detail"
    ),
    # Last: whatever else is asked for under /api/ gets a JSON 404.
    re_path(r"^", views.NotFoundView.as_view(), name="not-found"),
]
