"""A10: the history's `request` filled in (0008), now required; `rating` may be None once its
rating was discarded. A migration of its own: on PostgreSQL a table whose rows were just
updated in the same transaction cannot be altered (pending trigger events)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ratings", "0008_scanner_discards"),
    ]

    operations = [
        migrations.AlterField(
            model_name="ratingevent",
            name="request",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="history",
                to="ratings.ratingrequest",
            ),
        ),
        migrations.AlterField(
            model_name="ratingevent",
            name="rating",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="history",
                to="ratings.rating",
            ),
        ),
    ]
