"""The SQL ledger: models, engine set-up, migrations."""
