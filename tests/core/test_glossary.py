"""One vocabulary (issue 17): every code a person may see has its words in core/glossary.py, and
the label tables of the domain, the PDFs and the pages read them from there."""

from __future__ import annotations

import enum
import importlib
import pkgutil
from collections import Counter

from bidding import credit, lifecycle
from bidding.models import BatchStatus
from bidding.rules import preset_names
from core.glossary import QUALIFIED, TERMS, term, words
from core.organizations import HOSPITAL_LEVEL_LABELS, HospitalLevel
from ledger import reconcile, states
from ledger.models import (
    ApplicationStatus,
    ListingMode,
    PartyDecision,
    ReconStatus,
    SettlementLineStatus,
    ShipmentLineStatus,
)
from reports.indicators.definitions import GROUP_LABELS, GroupBy


def domain_enums() -> list[type[enum.Enum]]:
    """Every enum defined in the domain packages (what the database stores and pages show)."""
    found: dict[str, type[enum.Enum]] = {}
    for name in ("core", "bidding", "ledger", "reports"):
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, name + "."):
            module = importlib.import_module(info.name)
            for obj in vars(module).values():
                if isinstance(obj, type) and issubclass(obj, enum.Enum) and obj.__module__ == module.__name__:
                    found[f"{obj.__module__}.{obj.__name__}"] = obj
    return list(found.values())


def test_every_enum_value_of_the_domain_has_words() -> None:
    enums = domain_enums()
    assert len(enums) > 30
    missing = [f"{e.__name__}.{m.value}" for e in enums for m in e if words(m) is None]
    assert missing == []


def test_every_rule_preset_and_scheduler_job_has_words() -> None:
    from app.scheduler import JOBS

    missing = [code for code in [*preset_names(), *JOBS] if code not in TERMS]
    assert missing == []


def test_one_code_means_one_thing_in_each_kind_of_record() -> None:
    # A shipment line "accepted" is received, not an order accepted by its distributor.
    assert term(ShipmentLineStatus.ACCEPTED) == "已验收"
    assert term("accepted") == "已接单"
    # A settlement application "filed" waits for the hospital; a listing "filed" is 备案采购.
    assert term(ApplicationStatus.FILED) == "待医院确认"
    assert term(ListingMode.FILED) == "备案采购"
    assert term(ShipmentLineStatus.ACCEPTED, "en") == "Received"
    assert term("no_such_code") == "no_such_code"


def test_words_are_not_shared_by_two_codes() -> None:
    chinese = Counter(zh for zh, _ in TERMS.values())
    english = Counter(en for _, en in TERMS.values())
    assert [w for w, n in chinese.items() if n > 1] == []
    assert [w for w, n in english.items() if n > 1] == []
    qualifiers = {key.split(".")[0] for key in QUALIFIED}
    assert qualifiers <= {e.__name__ for e in domain_enums()}


def test_the_label_tables_read_the_glossary() -> None:
    # The pairs that used to differ (issue 17): 有争议/有异议, 已封标/已截标, 已完成/三流一致.
    assert reconcile.LABELS[ReconStatus.DISPUTED] == "有异议" == term("disputed")
    assert lifecycle.LABELS[BatchStatus.SEALED] == "已截标" == term(BatchStatus.SEALED)
    assert reconcile.LABELS[ReconStatus.COMPLETE] == "三流一致"
    assert states.SETTLEMENT_LINE.label(SettlementLineStatus.DISPUTED) == "有异议"
    assert states.STATEMENT_HOSPITAL.label(PartyDecision.DISPUTED) == "有异议"
    for machine in states.ALL.values():
        for state in machine.states:
            assert machine.label(state) == term(state), (machine.name, state)
    assert reconcile.ORPHAN_LABELS[reconcile.OrphanKind.DUPLICATE_INVOICE] == term("duplicate_invoice")
    assert GROUP_LABELS[GroupBy.PROVINCE] == "全省"
    assert HOSPITAL_LEVEL_LABELS[HospitalLevel.TERTIARY] == "三级"
    assert credit.GRADE_LABELS[credit.CreditGrade.SERIOUS] == "严重失信"


def test_statements_say_what_the_pages_say() -> None:
    from reports import statements

    assert statements._DECISION_LABELS[PartyDecision.DISPUTED] == term(PartyDecision.DISPUTED)
    assert statements._label("complete") == "三流一致"
    assert statements._label("disputed") == "有异议"
