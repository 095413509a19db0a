from django.urls import path

from . import views, views_submit

# Dashboard pages of this app (base.html's nav links the `jobs` page).
urlpatterns = [
    path("jobs/", views.jobs_page, name="jobs"),
    path("jobs/new/", views_submit.submit_job, name="job-submit"),
    path("jobs/<int:pk>/", views.job_detail, name="job-detail"),
    path("jobs/tile-inputs/", views.tile_input_upload, name="tile-input-upload"),
]
