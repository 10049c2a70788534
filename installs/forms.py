"""Forms of the admin pages that are not a model's change form."""

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from installs.exceptions import InvalidManifestError


class ManifestImportForm(forms.Form):
    """A skill manifest pasted as JSON or uploaded as a file."""

    text = forms.CharField(
        label="Manifest",
        required=False,
        widget=forms.Textarea(
            attrs={
                "rows": 16,
                "cols": 90,
                "spellcheck": "false",
                "class": "vLargeTextField",
            }
        ),
        help_text='One skill object, a list of them, or {"skills": [...]}.',
    )
    file = forms.FileField(
        label="or upload a file",
        required=False,
        help_text="A JSON manifest; it takes the place of the text above.",
    )

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is None and not cleaned.get("text", "").strip():
            raise forms.ValidationError(
                "Paste a manifest or choose a file.", code="empty"
            )

        limit = settings.SKILLINSTALL_MAX_MANIFEST_BYTES
        if upload is not None and upload.size > limit:
            raise forms.ValidationError(
                f"{upload.name} is {filesizeformat(upload.size)}, over the limit of "
                f"{filesizeformat(limit)}.",
                code="too_large",
            )
        return cleaned

    @property
    def manifest(self):
        """Return (data, source) of the cleaned form, for import_manifest."""
        upload = self.cleaned_data.get("file")
        if upload is not None:
            return upload.read(), f"{upload.name} uploaded in the admin"
        return self.cleaned_data["text"], "pasted in the admin"

    def add_manifest_error(self, exc: InvalidManifestError):
        """Show a rejected manifest as one form error per rejected entry."""
        entries = exc.details.get("errors")
        if not entries:
            self.add_error(None, forms.ValidationError(exc.message, code=exc.code))
            return
        # The first line of the message says what happened to the whole
        # manifest; each entry then stands on its own line of the error list.
        summary = exc.message.splitlines()[0]
        self.add_error(
            None,
            [forms.ValidationError(summary, code=exc.code)]
            + [
                forms.ValidationError(entry["error"], code="rejected_entry")
                for entry in entries
            ],
        )
