"""The SQL ledger: models, engine, migrations, recording a tick, tasks, heartbeat health, retention."""
