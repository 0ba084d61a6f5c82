"""What the inbox's admin pages share: add pages that call a service."""

from __future__ import annotations

from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import router, transaction


def errors_text(form) -> str:
    """All of a form's errors in one line, for a message above the page."""
    return " ".join(message for errors in form.errors.values() for message in errors)


class ServiceAddMixin:
    """An add page whose form calls a service instead of `ModelForm.save()`, so that an object
    made in the admin follows the same rules as one made anywhere else. A refusal of the
    service is shown on the form, like a validation error."""

    add_form_class = None
    add_title = None

    def get_add_form_kwargs(self, request) -> dict:
        return {"initial": self.get_changeform_initial_data(request)}

    def create_from_form(self, request, form):
        raise NotImplementedError

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else None
        form = self.add_form_class(data, **self.get_add_form_kwargs(request))
        if data is not None and form.is_valid():
            try:
                with transaction.atomic(using=router.db_for_write(self.model)):
                    obj = self.create_from_form(request, form)
                    self.log_addition(request, obj, [{"added": {}}])
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return self.response_add(request, obj)
        return self._render_add_form(request, form, form_url, extra_context)

    def _render_add_form(self, request, form, form_url, extra_context):
        admin_form = helpers.AdminForm(
            form, [(None, {"fields": list(form.fields)})], {}, model_admin=self
        )
        context = {
            **self.admin_site.each_context(request),
            "title": self.add_title or f"Add {self.opts.verbose_name}",
            "subtitle": None,
            "adminform": admin_form,
            "object_id": None,
            "original": None,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        return self.render_change_form(request, context, add=True, form_url=form_url)
