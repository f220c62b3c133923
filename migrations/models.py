"""Every model module, imported so the metadata is complete for autogenerate and drift checks.

Migrations never import today's models in revision files; only env.py uses this.
"""

import bidding.models
import bidding.publicity_models  # noqa: F401
import core.audit
import core.background
import core.idempotency
import core.jobs
import core.login_throttle
import core.messages
import core.notices
import core.organizations
import core.read_positions
import core.sessions  # noqa: F401
import ledger.contracts.models
import ledger.models
import ledger.models.upstream
import ledger.supervision.credit_models
import ledger.supervision.models
import ledger.supervision.price_models
import ledger.supervision.supply_models
import ledger.trace.models  # noqa: F401
