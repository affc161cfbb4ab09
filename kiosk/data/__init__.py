"""The data layer: models, migrations, the journal and the services the screens call.

Nothing here imports Textual: the screens depend on this package, never the reverse.
"""
