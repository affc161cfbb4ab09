"""The data core every service stands on: the database and its migrations, the models, facts and the journal, the registry of fact kinds and their projection, the store."""
