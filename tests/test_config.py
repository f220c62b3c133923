import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from app.config import Config, ConfigError


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(Config(env="production", instance_path=str(tmp_path), database_url="sqlite://"))


@pytest.mark.parametrize("key", ["changeme", "dev", "short-but-not-weak"])
def test_production_refuses_weak_or_short_keys(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Config(env="production", secret_key=key, instance_path=str(tmp_path)).resolve(str(tmp_path))


def test_development_generates_and_keeps_a_secret_in_the_instance_folder(tmp_path: Path) -> None:
    first = Config(instance_path=str(tmp_path)).resolve(str(tmp_path))
    second = Config(instance_path=str(tmp_path)).resolve(str(tmp_path))
    assert first.secret_key == second.secret_key
    assert len(first.secret_key or "") == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path: Path) -> None:
    config = Config(instance_path=str(tmp_path)).resolve(str(tmp_path))
    assert config.database_url == f"sqlite:///{tmp_path / 'vbp.sqlite3'}"


@pytest.mark.parametrize("url", ["postgresql://u@h/db", "postgres://u@h/db"])
def test_plain_postgresql_urls_use_psycopg3(tmp_path: Path, url: str) -> None:
    config = Config(instance_path=str(tmp_path), database_url=url).resolve(str(tmp_path))
    assert config.database_url == "postgresql+psycopg://u@h/db"


def test_environment_is_read(tmp_path: Path) -> None:
    config = Config.from_env({"VBP_ENV": "production", "SECRET_KEY": "k" * 40, "DATABASE_URL": "sqlite://"})
    assert (config.env, config.secret_key, config.database_url) == ("production", "k" * 40, "sqlite://")


def test_unknown_environment_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="VBP_ENV"):
        Config(env="staging", instance_path=str(tmp_path)).resolve(str(tmp_path))


def test_payment_terms_come_from_the_environment_and_a_holiday_file(tmp_path: Path) -> None:
    from datetime import date

    holidays = tmp_path / "holidays.txt"
    holidays.write_text("2025-10-01\n2025-10-02\n+2025-09-28\n")
    env = {"VBP_PAYMENT_DAYS": "5", "VBP_PAYMENT_DAY_KIND": "working", "VBP_HOLIDAYS_FILE": str(holidays)}
    config = Config.from_env(env)
    config.instance_path = str(tmp_path)
    terms = config.resolve(str(tmp_path)).payment_terms()
    assert (terms.days, terms.day_kind.value) == (5, "working")
    assert (date(2025, 10, 1) in terms.holidays, date(2025, 9, 28) in terms.extra_working_days) == (
        True,
        True,
    )
    with pytest.raises(ConfigError, match="VBP_PAYMENT_DAY"):
        Config(payment_day_kind="lunar", instance_path=str(tmp_path)).resolve(str(tmp_path))


def _resolve_keys(instance: str, barrier: Any) -> tuple[str | None, str | None, str | None]:
    barrier.wait()  # every process generates at the same instant, like workers starting together
    config = Config(instance_path=instance).resolve(instance)
    return config.secret_key, config.bid_sealing_key, config.bid_sealing_key_sm4


def test_processes_starting_together_share_one_complete_development_key(tmp_path: Path) -> None:
    # The race is a matter of microseconds, so one pool of processes meets it in many fresh
    # instance folders; before the fix about one round in five crashed or read an empty key.
    workers, rounds = 8, 25
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(workers) as pool:
        for n in range(rounds):
            instance = tmp_path / str(n)
            instance.mkdir()
            barrier = manager.Barrier(workers)
            keys = pool.starmap(_resolve_keys, [(str(instance), barrier)] * workers)
            assert len(set(keys)) == 1, (n, keys)
            secret_key, sealing_key, sm4_key = keys[0]
            assert (len(secret_key or ""), len(sealing_key or ""), len(sm4_key or "")) == (64, 44, 24), n
            assert sorted(p.name for p in instance.iterdir()) == [
                "bid_sealing_key",
                "bid_sealing_key_sm4",
                "secret_key",
            ]
