"""/admin/import-comments/: staff upload an export and get the same summary as `threadlog import-comments`."""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .model import ImportFileError
from .writer import import_file


class ImportForm(forms.Form):
    file = forms.FileField(label="Export file", help_text="WordPress (WXR), Disqus XML or Isso JSON")
    format = forms.ChoiceField(choices=[("auto", "detect"), ("wordpress", "WordPress (WXR, wpDiscuz)"),
                                        ("disqus", "Disqus"), ("isso", "Isso JSON")], initial="auto")
    site_url = forms.URLField(required=False, label="Site URL", assume_scheme="https",
                              help_text="Isso: makes its paths full URLs; others: the site's new address")
    dry_run = forms.BooleanField(required=False, label="Dry run (report only, import nothing)")


@staff_member_required
def import_comments(request: HttpRequest) -> HttpResponse:
    context = {**admin.site.each_context(request), "title": "Import comments"}
    status = 200
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                tally = import_file(upload.file, fmt=form.cleaned_data["format"],
                                    site_url=form.cleaned_data["site_url"] or "",
                                    dry_run=form.cleaned_data["dry_run"], actor=f"user:{request.user.pk}")
                context["summary"] = tally.lines()
                context["summary_json"] = tally.as_json()
            except ImportFileError as exc:
                context["error"] = str(exc)
                status = 400
        else:
            status = 400
    else:
        form = ImportForm()
    context["form"] = form
    return render(request, "threadlog/import_comments.html", context, status=status)
