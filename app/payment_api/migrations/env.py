"""Alembic environment: the URL comes from the same Settings the service reads (the admin login).

`payment-api migrate` passes its engine in ``config.attributes["engine"]``; a bare `alembic`
run builds one from the environment (DB_ENDPOINTS, DB_PORT, DB_NAME, DB_ADMIN_USER, ...).
"""

from alembic import context

from payment_api.schema import metadata

config = context.config


def _engine():
    engine = config.attributes.get("engine")
    if engine is None:
        from payment_api.migrate import admin_engine
        from payment_api.settings import Settings

        engine = admin_engine(Settings.from_env(purpose="migrate"))
    return engine


def run_migrations_online() -> None:
    with _engine().connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("payment-api migrations run online only (they need the server's current revision)")
run_migrations_online()
