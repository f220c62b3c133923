"""VBP_AGREEMENT_NOTICE_DAYS: how far ahead expiring agreements are flagged (default 90)."""

from pathlib import Path

import pytest

from app.config import Config, ConfigError


def test_the_notice_period_defaults_to_90_days_and_is_read_from_the_environment(tmp_path: Path) -> None:
    assert Config.from_env({}).agreement_notice_days == 90
    config = Config.from_env({"VBP_AGREEMENT_NOTICE_DAYS": "60", "VBP_INSTANCE_PATH": str(tmp_path)})
    assert config.resolve(str(tmp_path)).agreement_notice_days == 60


@pytest.mark.parametrize("days", ["0", "-5", "400"])
def test_a_notice_period_out_of_range_is_refused_naming_the_setting(tmp_path: Path, days: str) -> None:
    config = Config.from_env({"VBP_AGREEMENT_NOTICE_DAYS": days, "VBP_INSTANCE_PATH": str(tmp_path)})
    with pytest.raises(ConfigError, match="VBP_AGREEMENT_NOTICE_DAYS"):
        config.resolve(str(tmp_path))
