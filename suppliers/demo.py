"""Demo suppliers for `flask demo load`: a vetted registry, certificates, offers, a dialogue and three
domestic production projects, dated relative to today so the demo always looks current.

Everything goes through the suppliers' services, acting as the demo purchasing lead, purchasing officer and
production team, so the demo obeys the same rules as the pages (valid organisationsnummer, certificates that
fit their category, a complete checklist before approval …). The lead both registers and vets the suppliers,
so no notices or e-mails are queued. A supplier that already exists is left as it is, with everything that
belongs to it: loading twice creates nothing new.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.catalog.models import Product
from app.db import utcnow
from suppliers import capacity, identifiers
from suppliers import services as registry
from suppliers import services_certificates as certificates
from suppliers import services_dialogue as dialogue
from suppliers import services_offers as offers
from suppliers import services_production as production
from suppliers.models import (
    CertificateKind,
    ProductionStage,
    RiskLevel,
    Supplier,
    SupplierKind,
    SupportKind,
    VerificationStatus,
    VettingCheckItem,
    VettingStatus,
)

LEAD = "inkopschef@samordna.demo"
OFFICER = "inkopare@samordna.demo"
TEAM = "produktion@samordna.demo"

EN_149 = "EN 149:2001+A1:2009"
EN_14683 = "EN 14683:2019+AC:2019"


def minimal_pdf(text: str) -> bytes:
    """A small but real one-page PDF (with a valid cross-reference table) that shows ``text``."""
    stream = f"BT /F1 16 Tf 72 720 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>"
        ),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def organisation_number(first_nine: str) -> str:
    """NNNNNN-NNNN with the Luhn check digit that belongs to the first nine digits."""
    return identifiers.normalise_organisation_number(
        first_nine + str(identifiers.luhn_check_digit(first_nine))
    )


# --- what the demo contains ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoCertificate:
    kind: CertificateKind
    standard: str
    standard_class: str | None
    issued_by: str
    certificate_number: str | None = None
    notified_body_number: str | None = None
    ce_marked: bool = True
    valid_from: int = -400  # days from today
    valid_until: int | None = 1000
    verification: VerificationStatus = VerificationStatus.UNVERIFIED
    note: str | None = None  # why it was rejected


@dataclass(frozen=True)
class DemoModel:
    sku: str
    model_name: str
    manufacturer_name: str | None = None  # required unless the supplier makes it itself
    certificates: tuple[DemoCertificate, ...] = ()


@dataclass(frozen=True)
class DemoOffer:
    sku: str
    unit_price: str
    currency: str
    minimum_order_quantity: int
    lead_time_days: int
    capacity_per_week: int | None
    incoterm: str
    incoterm_place: str
    model_name: str | None = None
    valid_from: int = -10  # days from today
    valid_until: int = 35


@dataclass(frozen=True)
class DemoSupplier:
    legal_name: str
    kind: SupplierKind
    status: VettingStatus
    reason: str  # the reason of the last vetting decision
    country: str = identifiers.SWEDEN
    organisation_number: str | None = None  # the first nine digits; the check digit is computed
    foreign_registration_number: str | None = None
    vat_number: str | None = None
    produces_in_sweden: bool = False
    website: str | None = None
    notes: str | None = None
    contact: registry.ContactData | None = None
    address: registry.AddressData | None = None
    checks_done: int = len(VettingCheckItem)  # the first n checklist items are ticked
    models: tuple[DemoModel, ...] = ()
    offers: tuple[DemoOffer, ...] = ()

    def data(self) -> registry.SupplierData:
        number = organisation_number(self.organisation_number) if self.organisation_number else None
        vat = self.vat_number or (identifiers.swedish_vat_number(number) if number else None)
        return registry.SupplierData(
            legal_name=self.legal_name,
            country=self.country,
            kind=self.kind.value,
            organisation_number=number,
            foreign_registration_number=self.foreign_registration_number,
            vat_number=vat,
            produces_in_sweden=self.produces_in_sweden,
            website=self.website,
            notes=self.notes,
        )


@dataclass(frozen=True)
class DemoMilestone:
    name: str
    planned_on: int  # days from today
    reached_on: int | None = None


@dataclass(frozen=True)
class DemoProject:
    supplier: str  # legal name of a supplier above
    sku: str
    name: str
    site: str
    contracted_volume: int | None
    contract_reference: str | None
    stages: tuple[tuple[ProductionStage, int], ...]  # (stage, weeks ago), the first one is the registration
    milestones: tuple[DemoMilestone, ...] = ()
    # (planned, actual) units in the weeks before the current one, oldest first, ending last week
    past_weeks: tuple[tuple[int, int], ...] = ()
    plans: tuple[tuple[int, int, int], ...] = ()  # (first, last, units) from the current week on, weeks ahead
    dependencies: tuple[production.DependencyData, ...] = ()
    # (kind, amount in öre, volume in units, decided on in days from today, note)
    support: tuple[tuple[SupportKind, int | None, int | None, int, str], ...] = ()
    notes: str | None = None


def _type_examination(number: str, body: str, klass: str, **kwargs) -> DemoCertificate:
    return DemoCertificate(
        CertificateKind.EU_TYPE_EXAMINATION,
        EN_149,
        klass,
        issued_by=f"Anmält organ {body}",
        certificate_number=number,
        notified_body_number=body,
        **kwargs,
    )


SUPPLIERS: tuple[DemoSupplier, ...] = (
    DemoSupplier(
        "Västgöta Skyddsprodukter AB",
        SupplierKind.MANUFACTURER,
        VettingStatus.APPROVED,
        "Komplett granskning: referenser från VGR, provserie godkänd av RISE, inga träffar på sanktionslistor.",
        organisation_number="556812390",
        produces_in_sweden=True,
        website="https://vastgota-skydd.example.se",
        notes="Ställde om från filtertillverkning våren 2026. Två linjer för vikbara FFP2, en tredje beställd.",
        contact=registry.ContactData(
            "Karin Ekdahl", "VD", "karin.ekdahl@vastgota-skydd.example.se", "+46 500 44 12 00", True
        ),
        address=registry.AddressData("visiting", "Industrigatan 14", "Skövde", "SE", "541 38"),
        models=(
            DemoModel(
                "FFP2-FOLD",
                "VGS Andas FFP2 NR",
                certificates=(
                    _type_examination(
                        "2797/PPE/26/0412",
                        "2797",
                        "FFP2 NR",
                        valid_from=-120,
                        valid_until=1700,
                        verification=VerificationStatus.VERIFIED,
                    ),
                    DemoCertificate(
                        CertificateKind.DECLARATION_OF_CONFORMITY,
                        EN_149,
                        "FFP2 NR",
                        issued_by="Västgöta Skyddsprodukter AB",
                        valid_from=-110,
                        valid_until=None,
                    ),
                ),
            ),
        ),
        offers=(
            DemoOffer(
                "FFP2-FOLD", "6.90", "SEK", 20_000, 7, 40_000, "EXW", "Skövde", model_name="VGS Andas FFP2 NR"
            ),
        ),
    ),
    DemoSupplier(
        "Norrlands Medicinteknik AB",
        SupplierKind.MANUFACTURER,
        VettingStatus.UNDER_REVIEW,
        "Bolagsregister och referenser klara; prover på munskydd typ IIR är hos provningslaboratoriet.",
        organisation_number="559041277",
        produces_in_sweden=True,
        website="https://norrmedtek.example.se",
        contact=registry.ContactData(
            "Jonas Lindqvist", "Produktionschef", "jonas@norrmedtek.example.se", "+46 60 15 22 80", True
        ),
        address=registry.AddressData("visiting", "Verkstadsvägen 3", "Sundsvall", "SE", "852 29"),
        checks_done=2,
        models=(
            DemoModel(
                "IIR-LOOP",
                "NMT Medimask IIR",
                certificates=(
                    DemoCertificate(
                        CertificateKind.TEST_REPORT,
                        EN_14683,
                        "Type IIR",
                        issued_by="Provningslaboratoriet (förprovning)",
                        certificate_number="FP-2026-118",
                        ce_marked=False,
                        valid_from=-30,
                        valid_until=None,
                    ),
                ),
            ),
        ),
    ),
    DemoSupplier(
        "Bergslagens Kemi AB",
        SupplierKind.MANUFACTURER,
        VettingStatus.APPROVED,
        "Etablerad tillverkare av rengöringsmedel; biocidanmälan hos Kemikalieinspektionen kontrollerad.",
        organisation_number="556970351",
        produces_in_sweden=True,
        website="https://bergslagenskemi.example.se",
        contact=registry.ContactData(
            "Anders Nyberg",
            "Försäljningschef",
            "anders.nyberg@bergslagenskemi.example.se",
            "+46 19 760 40 00",
            True,
        ),
        address=registry.AddressData("warehouse", "Kemivägen 8", "Örebro", "SE", "702 27"),
        models=(
            DemoModel(
                "HANDDES-500",
                "BK Handsprit 80 % 500 ml",
                certificates=(
                    DemoCertificate(
                        CertificateKind.TEST_REPORT,
                        "EN 1500:2013",
                        None,
                        issued_by="Ackrediterat mikrobiologiskt laboratorium",
                        certificate_number="MB-26-0771",
                        ce_marked=False,
                        valid_from=-200,
                        valid_until=None,
                        verification=VerificationStatus.VERIFIED,
                    ),
                    DemoCertificate(
                        CertificateKind.TEST_REPORT,
                        "EN 14476:2013+A2:2019",
                        "Activity against enveloped viruses",
                        issued_by="Ackrediterat mikrobiologiskt laboratorium",
                        certificate_number="MB-26-0772",
                        ce_marked=False,
                        valid_from=-200,
                        valid_until=None,
                    ),
                ),
            ),
        ),
        offers=(
            DemoOffer(
                "HANDDES-500",
                "39.50",
                "SEK",
                1_200,
                5,
                25_000,
                "DAP",
                "Nationella lagret, Örebro",
                model_name="BK Handsprit 80 % 500 ml",
            ),
        ),
    ),
    DemoSupplier(
        "Nordisk Vårdlogistik AB",
        SupplierKind.DISTRIBUTOR,
        VettingStatus.APPROVED,
        "Grossist med ramavtal i tre regioner; kreditupplysning utan anmärkning.",
        organisation_number="556644198",
        website="https://nordiskvardlogistik.example.se",
        contact=registry.ContactData(
            "Sara Holm", "Key account offentlig sektor", "sara.holm@nvl.example.se", "+46 31 704 55 10", True
        ),
        address=registry.AddressData("warehouse", "Lagervägen 21", "Göteborg", "SE", "418 78"),
        models=(
            DemoModel(
                "GLV-NIT-M",
                "SafeTouch Nitrile M",
                manufacturer_name="Sepang Glove Industries Sdn Bhd",
                certificates=(
                    DemoCertificate(
                        CertificateKind.EU_TYPE_EXAMINATION,
                        "EN ISO 374-5:2016",
                        "Bacteria, fungi and viruses (VIRUS)",
                        issued_by="Anmält organ 0598",
                        certificate_number="0598/374-5/21/1187",
                        notified_body_number="0598",
                        valid_from=-1700,
                        valid_until=30,
                        verification=VerificationStatus.VERIFIED,
                    ),
                    DemoCertificate(
                        CertificateKind.TEST_REPORT,
                        "EN 455-1:2020",
                        None,
                        issued_by="Testlaboratorium i Kuala Lumpur",
                        certificate_number="TR-455-88120",
                        valid_from=-300,
                        valid_until=None,
                        verification=VerificationStatus.VERIFIED,
                    ),
                ),
            ),
            DemoModel("IIR-LOOP", "ClinoMask IIR", manufacturer_name="Hanoi Medical Textiles JSC"),
        ),
        offers=(
            DemoOffer(
                "GLV-NIT-M",
                "0.55",
                "SEK",
                100_000,
                10,
                2_000_000,
                "DAP",
                "Göteborg",
                model_name="SafeTouch Nitrile M",
            ),
            DemoOffer(
                "IIR-LOOP", "1.20", "SEK", 50_000, 14, 500_000, "DAP", "Göteborg", model_name="ClinoMask IIR"
            ),
        ),
    ),
    DemoSupplier(
        "Shenzhen Kangjian Protective Products Co., Ltd.",
        SupplierKind.MANUFACTURER,
        VettingStatus.UNDER_REVIEW,
        "Certifikatet för FFP2 visade sig förfalskat; munskydden granskas vidare. Inga order innan prover testats.",
        country="CN",
        foreign_registration_number="91440300MA5DKJ8X2Q",
        website="https://kangjian-ppe.example.cn",
        notes="Kontakt via Sveriges generalkonsulat i Shanghai. Kräver 30 % förskott.",
        contact=registry.ContactData(
            "Li Wei", "Export manager", "li.wei@kangjian-ppe.example.cn", "+86 755 8888 1234", True
        ),
        address=registry.AddressData(
            "visiting", "Bao'an District, Xixiang Street 88", "Shenzhen", "CN", "518102"
        ),
        checks_done=1,
        models=(
            DemoModel(
                "FFP2-CUP",
                "KJ-9501 FFP2",
                certificates=(
                    _type_examination(
                        "CE-2797-KJ9501",
                        "2797",
                        "FFP2 NR D",
                        valid_from=-90,
                        valid_until=1000,
                        verification=VerificationStatus.REJECTED,
                        note="Förfalskat: certifikatnumret finns inte i NANDO och det anmälda organet 2797 bekräftar "
                        "skriftligen att det aldrig utfärdat något certifikat till tillverkaren.",
                    ),
                ),
            ),
            DemoModel(
                "II-LOOP",
                "KJ-Med Type II",
                certificates=(
                    DemoCertificate(
                        CertificateKind.DECLARATION_OF_CONFORMITY,
                        EN_14683,
                        "Type II",
                        issued_by="Shenzhen Kangjian Protective Products Co., Ltd.",
                        valid_from=-60,
                        valid_until=None,
                    ),
                ),
            ),
        ),
        offers=(
            DemoOffer(
                "II-LOOP",
                "0.48",
                "CNY",
                500_000,
                35,
                3_000_000,
                "FCA",
                "Shenzhen",
                model_name="KJ-Med Type II",
            ),
            DemoOffer(
                "II-LOOP",
                "0.065",
                "USD",
                1_000_000,
                28,
                3_000_000,
                "CIP",
                "Arlanda",
                model_name="KJ-Med Type II",
                valid_until=20,
            ),
        ),
    ),
    DemoSupplier(
        "Rheinland Medizinbedarf GmbH",
        SupplierKind.DISTRIBUTOR,
        VettingStatus.APPROVED,
        "Handelsregisterauszug och referenser från två tyska universitetssjukhus kontrollerade.",
        country="DE",
        foreign_registration_number="HRB 98765 (Amtsgericht Köln)",
        vat_number="DE298765431",
        website="https://rheinland-medizin.example.de",
        contact=registry.ContactData(
            "Thomas Becker",
            "Vertrieb Skandinavien",
            "t.becker@rheinland-medizin.example.de",
            "+49 221 555 0190",
            True,
        ),
        address=registry.AddressData("warehouse", "Industriestraße 40", "Köln", "DE", "50735"),
        models=(
            DemoModel(
                "FFP3-FOLD",
                "AirGuard 3300 FFP3",
                manufacturer_name="Moravia Respiratory s.r.o.",
                certificates=(
                    _type_examination(
                        "0194/AG3300/2024",
                        "0194",
                        "FFP3 NR",
                        valid_from=-700,
                        valid_until=1000,
                        verification=VerificationStatus.VERIFIED,
                    ),
                ),
            ),
        ),
        offers=(
            DemoOffer(
                "FFP3-FOLD",
                "1.15",
                "EUR",
                10_000,
                10,
                150_000,
                "DAP",
                "Jönköping",
                model_name="AirGuard 3300 FFP3",
            ),
            DemoOffer("GLV-NIT-L", "0.06", "EUR", 200_000, 14, 1_000_000, "DAP", "Jönköping"),
        ),
    ),
    DemoSupplier(
        "Öresund Sourcing Partners AB",
        SupplierKind.BROKER,
        VettingStatus.REJECTED,
        "Kunde inte namnge tillverkaren eller visa varorna; krävde full förskottsbetalning till ett konto i tredje land.",
        organisation_number="559155602",
        notes='Erbjöd 5 miljoner FFP2 "från lager i Dubai".',
        contact=registry.ContactData(
            "Mats Berg", "Agent", "mats@oresund-sourcing.example.se", "+46 70 123 45 67", True
        ),
        checks_done=1,
        models=(
            DemoModel("FFP2-FOLD", "Unbranded FFP2", manufacturer_name="Okänd (uppges vara kinesisk fabrik)"),
        ),
        offers=(
            DemoOffer(
                "FFP2-FOLD",
                "1.25",
                "USD",
                1_000_000,
                10,
                None,
                "DDP",
                "Stockholm",
                model_name="Unbranded FFP2",
                valid_until=5,
            ),
        ),
    ),
    DemoSupplier(
        "Tandvårdsgruppen Mälardalen AB",
        SupplierKind.OTHER_HOLDER,
        VettingStatus.APPROVED,
        "Tandvårdskedja med överskottslager; skyddsutrustningen köptes via etablerad grossist 2025.",
        organisation_number="556123456",
        notes="Kan avvara andningsskydd och munskydd medan planerade behandlingar skjuts upp.",
        contact=registry.ContactData(
            "Eva Sjöberg", "Klinikchef", "eva.sjoberg@tandvardsgruppen.example.se", "+46 21 12 34 00", True
        ),
        address=registry.AddressData("warehouse", "Stora gatan 5", "Västerås", "SE", "722 12"),
        models=(
            DemoModel("FFP2-FOLD", "AirGuard 2200 FFP2", manufacturer_name="Moravia Respiratory s.r.o."),
        ),
        offers=(
            DemoOffer(
                "FFP2-FOLD",
                "4.50",
                "SEK",
                2_000,
                2,
                None,
                "EXW",
                "Västerås",
                model_name="AirGuard 2200 FFP2",
                valid_until=14,
            ),
        ),
    ),
)

PROJECTS: tuple[DemoProject, ...] = (
    DemoProject(
        "Västgöta Skyddsprodukter AB",
        "FFP2-FOLD",
        "Vikbara FFP2 från Skövde",
        "Skövde",
        6_000_000,
        "SoS 2026/4711",
        stages=(
            (ProductionStage.FIRST_CONTACT, 20),
            (ProductionStage.PROTOTYPE, 17),
            (ProductionStage.CERTIFICATION_TESTING, 14),
            (ProductionStage.APPROVED, 10),
            (ProductionStage.RAMP_UP, 8),
        ),
        milestones=(
            DemoMilestone("Prototyp godkänd av provpanel", -119, -115),
            DemoMilestone("EU-typintyg från anmält organ", -84, -80),
            DemoMilestone("Första leverans till nationella lagret", -49, -47),
            DemoMilestone("60 000 andningsskydd per vecka", 21),
        ),
        # Ramp-up by 5 000 a week; last week meltblown ran short: 36 200 of 55 000 is under 80 % of plan.
        past_weeks=(
            (20_000, 18_000),
            (25_000, 24_500),
            (30_000, 29_000),
            (35_000, 33_500),
            (40_000, 38_000),
            (45_000, 42_000),
            (50_000, 44_500),
            (55_000, 36_200),
        ),
        plans=((0, 8, 60_000),),
        dependencies=(
            production.DependencyData(
                "Meltblown-fiberduk (BFE 99)",
                "Meltblown-tillverkare i Zhejiang",
                "CN",
                RiskLevel.HIGH.value,
                "Provlot från tjeckisk tillverkare under kvalificering (6 veckor); "
                "buffertlager för 3 veckor.",
            ),
            production.DependencyData(
                "Resårband",
                "Elastics sp. z o.o.",
                "PL",
                RiskLevel.MEDIUM.value,
                "Andra leverantör i Borås offererad.",
            ),
            production.DependencyData("Näsbygel", "Smålands Tråd AB", "SE", RiskLevel.LOW.value),
        ),
        support=(
            (
                SupportKind.ADVANCE_PURCHASE_COMMITMENT,
                4_140_000_000,
                6_000_000,
                -75,
                "Socialstyrelsen köper 6 miljoner andningsskydd à 6,90 kr under 2026–2027.",
            ),
            (
                SupportKind.EQUIPMENT_FUNDING,
                850_000_000,
                None,
                -70,
                "Bidrag till den tredje produktionslinjen.",
            ),
        ),
        notes="Planen trappas upp med 5 000 per vecka; meltblown-bristen höll nere förra veckan.",
    ),
    DemoProject(
        "Norrlands Medicinteknik AB",
        "IIR-LOOP",
        "Munskydd typ IIR från Sundsvall",
        "Sundsvall",
        None,
        None,
        stages=(
            (ProductionStage.FIRST_CONTACT, 12),
            (ProductionStage.PROTOTYPE, 9),
            (ProductionStage.CERTIFICATION_TESTING, 5),
        ),
        milestones=(
            DemoMilestone("Prototyper godkända", -63, -60),
            DemoMilestone("Prover skickade till provningslaboratoriet", -35, -33),
            DemoMilestone("Provningsrapport EN 14683 (BFE, andningsmotstånd, stänkskydd)", -10),
            DemoMilestone("Teknisk dokumentation och EU-försäkran", 14),
            DemoMilestone("Produktionsstart", 35),
        ),
        plans=((6, 16, 100_000),),
        dependencies=(
            production.DependencyData(
                "Meltblown-fiberduk",
                "Vliesstoffwerk Sachsen GmbH",
                "DE",
                RiskLevel.MEDIUM.value,
                "Avtal om 12 ton per månad.",
            ),
            production.DependencyData(
                "Spunbond polypropen", "Nordic Nonwovens Oy", "FI", RiskLevel.LOW.value
            ),
        ),
        support=(
            (
                SupportKind.GUARANTEE,
                250_000_000,
                None,
                -28,
                "Garanti för maskininvesteringen om provningen underkänns.",
            ),
        ),
    ),
    DemoProject(
        "Bergslagens Kemi AB",
        "HANDDES-500",
        "Handsprit från Örebro",
        "Örebro",
        800_000,
        "SoS 2026/3120",
        stages=(
            (ProductionStage.FIRST_CONTACT, 30),
            (ProductionStage.APPROVED, 26),
            (ProductionStage.RAMP_UP, 22),
            (ProductionStage.FULL_PRODUCTION, 18),
        ),
        milestones=(
            DemoMilestone("Biocidanmälan klar", -196, -200),
            DemoMilestone("Full takt 25 000 flaskor per vecka", -126, -126),
        ),
        past_weeks=tuple(
            (25_000, actual) for actual in (24_100, 25_300, 26_800, 25_000, 24_600, 25_900, 26_200, 25_400)
        ),
        plans=((0, 8, 25_000),),
        dependencies=(
            production.DependencyData("Etanol 96 %", "Spritfabriken i Skåne", "SE", RiskLevel.LOW.value),
            production.DependencyData(
                "Pumpflaskor 500 ml",
                "Dansk Emballage A/S",
                "DK",
                RiskLevel.MEDIUM.value,
                "Lager för sex veckor hos tillverkaren.",
            ),
        ),
        support=(
            (
                SupportKind.ADVANCE_PURCHASE_COMMITMENT,
                3_160_000_000,
                800_000,
                -190,
                "Köpåtagande 800 000 flaskor.",
            ),
        ),
    ),
)

DIALOGUE_SUPPLIER = PROJECTS[0].supplier  # the site visit with an open follow-up action

# --- loading ---------------------------------------------------------------------------------------------------


@dataclass
class _Context:
    session: Session
    lead: User
    officer: User
    team: User
    today: date
    tz: ZoneInfo
    now: datetime = field(default_factory=utcnow)

    def day(self, offset: int) -> date:
        return self.today + timedelta(days=offset)

    def moment(self, days: int) -> datetime:
        return self.now + timedelta(days=days)

    def product(self, sku: str) -> Product:
        product = self.session.scalar(select(Product).where(Product.sku == sku))
        if product is None:
            raise LookupError(f"The catalogue has no product {sku}: load it first (flask catalog load).")
        return product


def load_demo_suppliers(session: Session, *, today: date, tz: ZoneInfo) -> int:
    """Create the demo suppliers that do not exist yet, with their vetting, models, certificates, offers,
    dialogue and production projects. Flushes only; returns how many suppliers were created.

    Raises LookupError when the demo users or the catalogue are missing.
    """
    users = {
        user.email: user
        for user in session.scalars(select(User).where(User.email.in_((LEAD, OFFICER, TEAM))))
    }
    missing = {LEAD, OFFICER, TEAM} - set(users)
    if missing:
        raise LookupError(f"Create the demo users first; missing: {', '.join(sorted(missing))}")
    context = _Context(session, users[LEAD], users[OFFICER], users[TEAM], today, tz)
    created = {}
    for demo in SUPPLIERS:
        if _existing(session, demo) is None:
            created[demo.legal_name] = _supplier(context, demo)
    for project in PROJECTS:
        if project.supplier in created:
            _project(context, created[project.supplier], project)
    if DIALOGUE_SUPPLIER in created:
        _dialogue(context, created[DIALOGUE_SUPPLIER])
    return len(created)


def _existing(session: Session, demo: DemoSupplier) -> Supplier | None:
    if demo.organisation_number:
        return session.scalar(
            select(Supplier).where(
                Supplier.organisation_number == organisation_number(demo.organisation_number)
            )
        )
    return session.scalar(
        select(Supplier).where(
            Supplier.country == demo.country,
            Supplier.foreign_registration_number == demo.foreign_registration_number,
        )
    )


def _supplier(context: _Context, demo: DemoSupplier) -> Supplier:
    session, lead = context.session, context.lead
    supplier = registry.create_supplier(session, lead, demo.data())
    supplier.created_at = context.moment(-60)
    if demo.contact:
        registry.add_contact(session, lead, supplier, demo.contact)
    if demo.address:
        registry.add_address(session, lead, supplier, demo.address)
    _vet(context, supplier, demo)
    models = {model.model_name: _model(context, supplier, model) for model in demo.models}
    for offer in demo.offers:
        _offer(context, supplier, offer, models)
    return supplier


_CHECK_NOTES = {
    VettingCheckItem.COMPANY_REGISTRY: "Registerutdrag kontrollerat: aktivt bolag, firmatecknare stämmer.",
    VettingCheckItem.REFERENCES: "Två referenser från offentliga kunder kontaktade per telefon.",
    VettingCheckItem.SAMPLES_TESTED: "Prover testade av ackrediterat laboratorium, godkända.",
    VettingCheckItem.FINANCIAL_STANDING: "Kreditupplysning utan betalningsanmärkningar.",
    VettingCheckItem.SANCTIONS_LISTS: "EU:s och FN:s sanktionslistor: inga träffar.",
}


def _vet(context: _Context, supplier: Supplier, demo: DemoSupplier) -> None:
    """Tick the first ``checks_done`` checklist items and take the decisions that lead to ``demo.status``."""
    session, lead = context.session, context.lead
    for item in list(VettingCheckItem)[: demo.checks_done]:
        registry.record_check(
            session, lead, supplier, item.value, done=True, note=_CHECK_NOTES[item], now=context.moment(-50)
        )
    if demo.status == VettingStatus.APPROVED:
        registry.decide_vetting(
            session,
            lead,
            supplier,
            VettingStatus.UNDER_REVIEW.value,
            "Granskning påbörjad efter offert.",
            now=context.moment(-55),
        )
    if demo.status != VettingStatus.NEW:
        registry.decide_vetting(
            session, lead, supplier, demo.status.value, demo.reason, now=context.moment(-45)
        )


def _model(context: _Context, supplier: Supplier, demo: DemoModel):
    # Models and certificates are the production team's work for domestic makers, the lead's otherwise.
    user = context.team if supplier.produces_in_sweden else context.lead
    model = certificates.add_supplier_product(
        context.session,
        user,
        supplier,
        certificates.SupplierProductData(
            context.product(demo.sku).id, demo.model_name, demo.manufacturer_name
        ),
    )
    for certificate in demo.certificates:
        _certificate(context, user, model, certificate)
    return model


def _certificate(context: _Context, user: User, model, demo: DemoCertificate) -> None:
    data = certificates.CertificateData(
        kind=demo.kind.value,
        standard=demo.standard,
        standard_class=demo.standard_class,
        ce_marked=demo.ce_marked,
        notified_body_number=demo.notified_body_number,
        certificate_number=demo.certificate_number,
        issued_by=demo.issued_by,
        valid_from=context.day(demo.valid_from),
        valid_until=context.day(demo.valid_until) if demo.valid_until is not None else None,
    )
    title = f"{demo.kind.label} {demo.certificate_number or demo.standard}"
    upload = certificates.Upload(
        io.BytesIO(minimal_pdf(f"{title} - {model.model_name} (demo)")), f"{model.model_name}.pdf", title
    )
    certificate = certificates.add_certificate(context.session, user, model, data, upload)
    if demo.verification != VerificationStatus.UNVERIFIED:
        certificates.record_verification(
            context.session,
            user,
            certificate,
            demo.verification.value,
            demo.note or "Kontrollerat i NANDO och med utfärdaren.",
            now=context.moment(-20),
        )


def _offer(context: _Context, supplier: Supplier, demo: DemoOffer, models: dict) -> None:
    model = models.get(demo.model_name)
    offers.create_offer(
        context.session,
        context.officer,
        supplier,
        offers.OfferData(
            product_id=context.product(demo.sku).id,
            unit_price=Decimal(demo.unit_price),
            currency=demo.currency,
            minimum_order_quantity=demo.minimum_order_quantity,
            lead_time_days=demo.lead_time_days,
            valid_from=context.day(demo.valid_from),
            valid_until=context.day(demo.valid_until),
            supplier_product_id=model.id if model is not None else None,
            capacity_per_week=demo.capacity_per_week,
            incoterm=demo.incoterm,
            incoterm_place=demo.incoterm_place,
        ),
    )


def _project(context: _Context, supplier: Supplier, demo: DemoProject) -> None:
    session, team, today = context.session, context.team, context.today
    (first_stage, started), *moves = demo.stages
    project = production.create_project(
        session,
        team,
        production.ProjectData(
            supplier_id=supplier.id,
            product_id=context.product(demo.sku).id,
            name=demo.name,
            site=demo.site,
            responsible_id=team.id,
            contracted_volume=demo.contracted_volume,
            contract_reference=demo.contract_reference,
            contract_signed_on=context.day(-7 * started + 14) if demo.contract_reference else None,
            notes=demo.notes,
        ),
        today=today,
        stage=first_stage.value,
    )
    # Registered weeks ago, as the stage history tells.
    project.created_at = project.stage_changes[0].changed_at = context.moment(-7 * started)
    for stage, weeks_ago in moves:
        production.change_stage(session, team, project, stage.value, None, now=context.moment(-7 * weeks_ago))
    for milestone in demo.milestones:
        production.add_milestone(
            session,
            team,
            project,
            name=milestone.name,
            planned_on=context.day(milestone.planned_on),
            actual_on=context.day(milestone.reached_on) if milestone.reached_on is not None else None,
            today=today,
        )
    current = capacity.monday_of(today)
    for weeks_ago, (planned, actual) in zip(range(len(demo.past_weeks), 0, -1), demo.past_weeks, strict=True):
        week = current - capacity.WEEK * weeks_ago
        _plan(context, project, week, week, planned)
        production.record_actual(
            session, team, project, week_start=week, actual_units=actual, today=today, tz=context.tz
        )
    for first, last, units in demo.plans:
        _plan(context, project, current + capacity.WEEK * first, current + capacity.WEEK * last, units)
    for dependency in demo.dependencies:
        production.add_dependency(session, team, project, dependency)
    for kind, amount_ore, volume, decided, note in demo.support:
        production.add_support(
            session,
            team,
            project,
            production.SupportData(kind.value, amount_ore, volume, context.day(decided), note),
            today=today,
        )


def _plan(context: _Context, project, first: date, last: date, units: int) -> None:
    production.plan_capacity(
        context.session,
        context.team,
        project,
        first_week=first,
        last_week=last,
        planned_units=units,
        tz=context.tz,
    )


def _dialogue(context: _Context, supplier: Supplier) -> None:
    """A site visit with an open follow-up action for the production team."""
    entry = dialogue.record_entry(
        context.session,
        context.team,
        supplier,
        kind="site_visit",
        occurred_on=context.day(-3),
        participants="Per Produktion, Ingrid Inköp (Socialstyrelsen); Karin Ekdahl, VD (Västgöta Skyddsprodukter)",
        notes="Linje 2 stod still två dagar i väntan på meltblown. Leverantören söker en andra källa i Europa; "
        "den tredje linjen levereras om fyra veckor.",
        today=context.today,
    )
    dialogue.add_action(
        context.session,
        context.team,
        entry,
        description="Ta fram kontakter till europeiska meltblown-tillverkare och skicka till leverantören.",
        owner=context.team,
        due_on=context.day(4),
        today=context.today,
    )
