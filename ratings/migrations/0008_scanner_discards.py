"""A10: a rating left by a mail scanner's auto posts is discarded.

- `Rating.auto_at`: when an auto post last recorded or changed the rating;
- `RatingRequest.discarded_at`: when such a rating was last discarded;
- the history (`RatingEvent`) belongs to the request, so it outlives a discarded rating
  (`rating` is then None), and a discard is a history entry of its own, with its rule.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def history_to_requests(apps, schema_editor):
    RatingEvent = apps.get_model("ratings", "RatingEvent")
    Rating = apps.get_model("ratings", "Rating")
    RatingEvent.objects.update(
        request_id=Subquery(
            Rating.objects.filter(pk=OuterRef("rating_id")).values("request_id")[:1]
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("ratings", "0007_ratingrequest_bounce_ratingrequest_bounced_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="rating",
            name="auto_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="ratingrequest",
            name="discarded_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="ratingevent",
            name="rule",
            field=models.CharField(blank=True, max_length=10),
        ),
        migrations.AlterField(
            model_name="ratingevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("rated", "Rated"),
                    ("changed", "Changed"),
                    ("commented", "Commented"),
                    ("discarded", "Discarded"),
                ],
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="ratingevent",
            name="request",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="history",
                to="ratings.ratingrequest",
            ),
        ),
        migrations.RunPython(history_to_requests, migrations.RunPython.noop),
    ]
