"""Roles, permissions and which organisations may hold which role."""
from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l

from app.organisations.models import OrganisationKind


class Role(StrEnum):
    NATIONAL_COORDINATOR = "national_coordinator"
    PURCHASING_OFFICER = "purchasing_officer"
    PURCHASING_LEAD = "purchasing_lead"
    PRODUCTION_TEAM = "production_team"
    COUNTY_COORDINATOR = "county_coordinator"
    REPORTER = "reporter"
    RECIPIENT = "recipient"
    AUDITOR = "auditor"
    ADMINISTRATOR = "administrator"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.NATIONAL_COORDINATOR: _l("National coordinator"),
    Role.PURCHASING_OFFICER: _l("Purchasing officer"),
    Role.PURCHASING_LEAD: _l("Purchasing lead"),
    Role.PRODUCTION_TEAM: _l("Production team"),
    Role.COUNTY_COORDINATOR: _l("County coordinator"),
    Role.REPORTER: _l("Reporter"),
    Role.RECIPIENT: _l("Recipient"),
    Role.AUDITOR: _l("Auditor (read-only)"),
    Role.ADMINISTRATOR: _l("Administrator"),
}


class Permission(StrEnum):
    VIEW_ORGANISATIONS = "view_organisations"
    VIEW_CATALOG = "view_catalog"
    MANAGE_CATALOG = "manage_catalog"
    MANAGE_USERS = "manage_users"
    VIEW_OUTBOX = "view_outbox"
    VIEW_JOBS = "view_jobs"
    RUN_JOBS = "run_jobs"
    VIEW_AUDIT_LOG = "view_audit_log"
    VIEW_NEED = "view_need"
    SUBMIT_REPORTS = "submit_reports"
    MANAGE_REPORTING = "manage_reporting"
    MANAGE_API_TOKENS = "manage_api_tokens"
    VIEW_SUPPLIERS = "view_suppliers"
    MANAGE_SUPPLIERS = "manage_suppliers"
    DECIDE_VETTING = "decide_vetting"
    MANAGE_OFFERS = "manage_offers"
    VIEW_SUPPLIER_DOCUMENTS = "view_supplier_documents"
    MANAGE_PRODUCTION = "manage_production"
    VIEW_STOCK = "view_stock"
    ADJUST_STOCK = "adjust_stock"
    # Purchase orders (orders/): see, draft and send, approve, and the settings behind them.
    VIEW_ORDERS = "view_orders"
    MANAGE_ORDERS = "manage_orders"
    APPROVE_ORDERS = "approve_orders"
    MANAGE_EXCHANGE_RATES = "manage_exchange_rates"
    MANAGE_APPROVAL_RULES = "manage_approval_rules"
    # Goods receipt and quality inspection (orders/services_receiving.py); only national coordinators accept
    # a delivery more than 5 % over its schedule.
    RECEIVE_GOODS = "receive_goods"
    INSPECT_GOODS = "inspect_goods"
    ACCEPT_OVER_DELIVERY = "accept_over_delivery"
    # EU joint procurement and supplies without an order (rescEU, donations); only at the agency
    # (orders/services_eu.py checks national scope too).
    MANAGE_EU_PROCUREMENT = "manage_eu_procurement"
    # Joint purchases (orders/services_joint.py): read within scope, participants included; officers with
    # MANAGE_ORDERS start and order them.
    VIEW_JOINT_PURCHASES = "view_joint_purchases"
    # Allocation rounds and decisions (allocation/services_rounds.py): everyone reads the decisions they are
    # party to (national scope reads all); the national coordinator decides national rounds, a county
    # coordinator its own board's second-level rounds.
    VIEW_ALLOCATION = "view_allocation"
    MANAGE_ALLOCATION = "manage_allocation"
    # Redistribution (allocation/services_redistribution.py, allocation/compensation.py): a county coordinator
    # proposes and agrees its own county's transfers, the national coordinator decides national redistribution;
    # compensation statements are read within scope (parties their own); the national coordinator keeps the
    # reference price list.
    MANAGE_REDISTRIBUTION = "manage_redistribution"
    VIEW_COMPENSATION = "view_compensation"
    MANAGE_PRICES = "manage_prices"
    # Shipments and proof of delivery (allocation/services_shipments.py): coordinators and auditors list them
    # within scope; the sending organisation dispatches (the agency, a county board for its second-level rounds,
    # a transfer's giver), the receiving one confirms (its recipients; a board's county coordinators).
    VIEW_SHIPMENTS = "view_shipments"
    DISPATCH_SHIPMENTS = "dispatch_shipments"
    CONFIRM_DELIVERIES = "confirm_deliveries"
    # Requests for national allocation (allocation/services_requests.py): a county coordinator sends its county's
    # remaining need after redistribution; read with VIEW_ALLOCATION within scope, declined by the national
    # coordinator (MANAGE_ALLOCATION at the agency).
    REQUEST_NATIONAL_ALLOCATION = "request_national_allocation"


_EVERYONE = frozenset(
    {Permission.VIEW_ORGANISATIONS, Permission.VIEW_CATALOG, Permission.VIEW_NEED, Permission.VIEW_SUPPLIERS}
)
# Certificates, test reports and contracts are commercial documents: only those who buy, vet or audit see them.
_BUYING = frozenset({Permission.MANAGE_SUPPLIERS, Permission.MANAGE_OFFERS, Permission.VIEW_SUPPLIER_DOCUMENTS})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.NATIONAL_COORDINATOR: _EVERYONE
    | {
        Permission.VIEW_JOBS,
        Permission.MANAGE_REPORTING,
        Permission.DECIDE_VETTING,
        Permission.VIEW_SUPPLIER_DOCUMENTS,
        Permission.VIEW_STOCK,
        Permission.ADJUST_STOCK,
    },
    Role.PURCHASING_OFFICER: _EVERYONE | _BUYING | {Permission.VIEW_STOCK},
    Role.PURCHASING_LEAD: _EVERYONE | _BUYING | {Permission.DECIDE_VETTING, Permission.VIEW_STOCK},
    Role.PRODUCTION_TEAM: _EVERYONE
    | {
        Permission.MANAGE_SUPPLIERS,
        Permission.VIEW_SUPPLIER_DOCUMENTS,
        Permission.MANAGE_PRODUCTION,
        Permission.VIEW_STOCK,
    },
    # Stock is seen within the access policy's scope: a county board its county's, a region or municipality
    # its own (app/stock/services.py).
    Role.COUNTY_COORDINATOR: _EVERYONE | {Permission.VIEW_STOCK},
    Role.REPORTER: _EVERYONE
    | {Permission.SUBMIT_REPORTS, Permission.MANAGE_API_TOKENS, Permission.VIEW_STOCK},
    Role.RECIPIENT: _EVERYONE | {Permission.VIEW_STOCK},
    Role.AUDITOR: _EVERYONE
    | {
        Permission.VIEW_JOBS,
        Permission.VIEW_AUDIT_LOG,
        Permission.VIEW_SUPPLIER_DOCUMENTS,
        Permission.VIEW_STOCK,
    },
    Role.ADMINISTRATOR: _EVERYONE
    | {
        Permission.MANAGE_CATALOG,
        Permission.MANAGE_USERS,
        Permission.VIEW_OUTBOX,
        Permission.VIEW_JOBS,
        Permission.RUN_JOBS,
        Permission.VIEW_AUDIT_LOG,
        Permission.MANAGE_API_TOKENS,
    },
}

# Purchase orders: officers draft and send them (their own organisation's; the agency's for everyone), an
# order is approved by someone else allowed its amount (orders/approval.py), county boards and auditors read.
_ORDER_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.PURCHASING_OFFICER: frozenset({Permission.VIEW_ORDERS, Permission.MANAGE_ORDERS, Permission.APPROVE_ORDERS}),
    Role.PURCHASING_LEAD: frozenset(
        {Permission.VIEW_ORDERS, Permission.MANAGE_ORDERS, Permission.APPROVE_ORDERS, Permission.MANAGE_EXCHANGE_RATES}
    ),
    Role.NATIONAL_COORDINATOR: frozenset(
        {
            Permission.VIEW_ORDERS,
            Permission.APPROVE_ORDERS,
            Permission.MANAGE_EXCHANGE_RATES,
            Permission.MANAGE_APPROVAL_RULES,
        }
    ),
    Role.COUNTY_COORDINATOR: frozenset({Permission.VIEW_ORDERS}),
    Role.AUDITOR: frozenset({Permission.VIEW_ORDERS}),
}
for _role, _granted in _ORDER_GRANTS.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | _granted

# Receiving deliveries into stock and inspecting them: purchasing (within their scope) and the national
# coordinator, who alone accepts an over-delivery.
_RECEIVING = frozenset({Permission.RECEIVE_GOODS, Permission.INSPECT_GOODS})
for _role, _granted in {
    Role.PURCHASING_OFFICER: _RECEIVING,
    Role.PURCHASING_LEAD: _RECEIVING,
    Role.NATIONAL_COORDINATOR: _RECEIVING | {Permission.ACCEPT_OVER_DELIVERY},
}.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | _granted

# EU joint procurement (tenders, framework contracts, specific orders) and registering rescEU allocations and
# donations: the agency's purchasing. Officers at regions and municipalities hold the role too, so the views
# and services also ask for national scope (require(..., national=True), services_eu.ensure_manager).
for _role in (Role.PURCHASING_OFFICER, Role.PURCHASING_LEAD):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | {Permission.MANAGE_EU_PROCUREMENT}

# Joint purchases are read by whoever reads orders, and by the regions' and municipalities' reporters and
# recipients, who see those their organisation takes part in (orders/services_joint.py scopes them).
for _role in (*_ORDER_GRANTS, Role.REPORTER, Role.RECIPIENT):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | {Permission.VIEW_JOINT_PURCHASES}

# Allocation decisions: read by every role but the administrator's (scoped to the decisions one is party to);
# decided by the national coordinator, and by county coordinators for their board's second-level rounds.
for _role in Role:
    if _role != Role.ADMINISTRATOR:
        ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | {Permission.VIEW_ALLOCATION}
for _role in (Role.NATIONAL_COORDINATOR, Role.COUNTY_COORDINATOR):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | {Permission.MANAGE_ALLOCATION}

# Redistribution: county coordinators in their county, the national coordinator across counties. Compensation
# statements: the parties (regions' and municipalities' staff), county boards, the agency and auditors.
for _role in (Role.NATIONAL_COORDINATOR, Role.COUNTY_COORDINATOR):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | {Permission.MANAGE_REDISTRIBUTION}
for _role in (Role.NATIONAL_COORDINATOR, Role.COUNTY_COORDINATOR, Role.PURCHASING_OFFICER, Role.PURCHASING_LEAD,
              Role.REPORTER, Role.RECIPIENT, Role.AUDITOR):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | {Permission.VIEW_COMPENSATION}
ROLE_PERMISSIONS[Role.NATIONAL_COORDINATOR] = ROLE_PERMISSIONS[Role.NATIONAL_COORDINATOR] | {Permission.MANAGE_PRICES}

# Shipments: the services also check the organisation (sender dispatches, recipient confirms). Confirming is a
# recipient's duty, not a reporter's: an organisation gives both roles to one person when it wants to.
for _role, _granted in {
    Role.NATIONAL_COORDINATOR: {Permission.VIEW_SHIPMENTS, Permission.DISPATCH_SHIPMENTS},
    Role.COUNTY_COORDINATOR: {Permission.VIEW_SHIPMENTS, Permission.DISPATCH_SHIPMENTS, Permission.CONFIRM_DELIVERIES},
    Role.RECIPIENT: {Permission.DISPATCH_SHIPMENTS, Permission.CONFIRM_DELIVERIES},
    Role.AUDITOR: {Permission.VIEW_SHIPMENTS},
}.items():
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | _granted

# Requests for national allocation: the county coordinators send them for their county.
ROLE_PERMISSIONS[Role.COUNTY_COORDINATOR] = ROLE_PERMISSIONS[Role.COUNTY_COORDINATOR] | {
    Permission.REQUEST_NATIONAL_ALLOCATION
}

# The organisations whose staff may hold each role: a municipality cannot appoint a national coordinator.
ROLE_ORGANISATION_KINDS: dict[Role, frozenset[OrganisationKind]] = {
    Role.NATIONAL_COORDINATOR: frozenset({OrganisationKind.AGENCY}),
    Role.PURCHASING_OFFICER: frozenset(
        {OrganisationKind.AGENCY, OrganisationKind.REGION, OrganisationKind.MUNICIPALITY}
    ),
    Role.PURCHASING_LEAD: frozenset({OrganisationKind.AGENCY}),
    Role.PRODUCTION_TEAM: frozenset({OrganisationKind.AGENCY}),
    Role.COUNTY_COORDINATOR: frozenset({OrganisationKind.COUNTY_BOARD}),
    Role.REPORTER: frozenset({OrganisationKind.REGION, OrganisationKind.MUNICIPALITY}),
    Role.RECIPIENT: frozenset({OrganisationKind.REGION, OrganisationKind.MUNICIPALITY}),
    Role.AUDITOR: frozenset(OrganisationKind),
    Role.ADMINISTRATOR: frozenset(OrganisationKind),
}


def permissions_of(roles) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[Role(role)]
    return frozenset(granted)
