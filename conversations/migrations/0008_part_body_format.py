# E3a/E3b: a part's body is plain text (as typed, every character seen) or sanitised HTML.
# Every body stored before this was sanitised HTML, so the existing rows are `html`.

from django.db import migrations, models

# I3: the search index reads a text body whole (`a<b c>d` has no markup to leave out: its `<`,
# `>` and `&` are made spaces, or PostgreSQL's parser would drop `<b c>` as a tag) and an HTML
# body without its markup; the same expression as conversations.inbox.VECTOR, so that the
# planner takes this index.
SEARCH_INDEX = (
    "CREATE INDEX IF NOT EXISTS part_body_search_idx ON conversations_part USING gin "
    "(to_tsvector('simple', CASE WHEN body_format = 'text' THEN translate(body, '<>&', '   ') "
    "ELSE regexp_replace(body, '<[^>]*>', ' ', 'g') END))"
)
# Migration 0005's.
SEARCH_INDEX_BEFORE = (
    "CREATE INDEX IF NOT EXISTS part_body_search_idx ON conversations_part USING gin "
    "(to_tsvector('simple', regexp_replace(body, '<[^>]*>', ' ', 'g')))"
)
DROP = "DROP INDEX IF EXISTS part_body_search_idx"


def search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)
        schema_editor.execute(SEARCH_INDEX)


def search_index_before(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)
        schema_editor.execute(SEARCH_INDEX_BEFORE)


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0007_erasure"),
    ]

    operations = [
        migrations.AddField(
            model_name="part",
            name="body_format",
            field=models.CharField(
                choices=[("text", "Plain text"), ("html", "HTML")],
                db_default="html",
                default="html",
                max_length=4,
            ),
        ),
        migrations.RunPython(search_index, search_index_before),
    ]
