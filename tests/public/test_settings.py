"""The public-disclosure settings are read from the environment and a bad one stops the start,
naming the variable."""

from __future__ import annotations

import pytest

from app.config import Config, ConfigError

BASE = {"VBP_ENV": "testing", "SECRET_KEY": "s" * 40}


def test_the_settings_come_from_the_environment(tmp_path: object) -> None:
    env = {
        **BASE,
        "VBP_PUBLIC_RATE_LIMIT": "10 per second",
        "VBP_PUBLIC_RATE_LIMIT_STORAGE_URI": "memory://",
        "VBP_PUBLIC_CACHE_SECONDS": "0",
        "VBP_PUBLIC_MAX_PAGE_SIZE": "50",
        "VBP_OCDS_PREFIX": "ocds-abc123-",
        "VBP_OCDS_PUBLIC_STAGES": "planning, tender,award,contract",
    }
    config = Config.from_env(env).resolve(str(tmp_path))
    assert (config.public_rate_limit, config.public_cache_seconds, config.public_max_page_size) == (
        "10 per second",
        0,
        50,
    )
    assert config.ocds_prefix == "ocds-abc123-"
    assert config.ocds_public_stages == ("planning", "tender", "award", "contract")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("VBP_PUBLIC_RATE_LIMIT", "lots"),
        ("VBP_PUBLIC_CACHE_SECONDS", "-1"),
        ("VBP_PUBLIC_MAX_PAGE_SIZE", "0"),
        ("VBP_OCDS_PREFIX", "my-prefix"),
        ("VBP_OCDS_PUBLIC_STAGES", "planning,everything"),
    ],
)
def test_a_bad_setting_names_itself(tmp_path: object, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Config.from_env({**BASE, name: value}).resolve(str(tmp_path))
