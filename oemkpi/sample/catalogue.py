"""The fictional partners and the countries of the sample home, and the regions they sell in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PartnerSpec:
    """A fictional multinational PC maker of the sample home."""

    partner_id: str
    name: str
    region: str
    pam_name: str
    prefix: str  # SKU prefix
    share: float  # share of each country's PC market it is present in
    growth: float  # yearly volume growth
    presence: float  # chance to sell in a country beyond the first six
    servers: bool  # sells servers
    sell_thru: bool  # reports sell-thru units

    @property
    def pam_email(self) -> str:
        return self.pam_name.lower().replace(" ", ".") + "@example.com"


@dataclass(frozen=True)
class CountrySpec:
    """A country of the sample home with the traits its data is drawn from."""

    country: str
    name: str
    region: str
    subregion: str
    market_k: int  # PC market, thousand units per month
    consumer_share: float
    windows_consumer: float
    windows_commercial: float
    price_level: float


PARTNER_CATALOGUE: tuple[PartnerSpec, ...] = (
    PartnerSpec("aurora", "Aurora Computing", "Americas", "Maya Okafor", "AUR", 0.13, 0.04, 1.0, True, True),
    PartnerSpec("borealis", "Borealis Systems", "EMEA", "Lars Henriksen", "BOR", 0.11, 0.03, 0.95, True, False),
    PartnerSpec("cobalt-pc", "Cobalt PC", "APJ", "Priya Raman", "COB", 0.08, 0.05, 0.9, True, True),
    PartnerSpec("delta_systems", "Delta Systems", "Americas", "Diego Alvarez", "DLT", 0.055, 0.02, 0.85, True, True),
    PartnerSpec("ember", "Ember Devices", "EMEA", "Sofia Marchetti", "EMB", 0.035, 0.06, 0.8, False, False),
    PartnerSpec("fjordline", "Fjordline Computers", "EMEA", "Ingrid Solberg", "FJL", 0.02, 0.03, 0.7, False, True),
    PartnerSpec("granite", "Granite Technologies", "Americas", "Marcus Bell", "GRN", 0.016, 0.045, 0.75, True, False),
    PartnerSpec("helix", "Helix Computing", "APJ", "Kenji Watanabe", "HLX", 0.014, 0.05, 0.7, False, True),
)  # fmt: skip

# The order interleaves the regions, so the first N countries span them all.
COUNTRY_CATALOGUE: tuple[CountrySpec, ...] = (
    CountrySpec("US", "United States", "Americas", "North America", 5800, 0.52, 0.83, 0.93, 1.00),
    CountrySpec("DE", "Germany", "EMEA", "Western Europe", 1000, 0.45, 0.92, 0.96, 1.05),
    CountrySpec("JP", "Japan", "APJ", "Japan", 1250, 0.42, 0.96, 0.97, 1.00),
    CountrySpec("BR", "Brazil", "Americas", "Latin America", 520, 0.58, 0.88, 0.94, 0.85),
    CountrySpec("GB", "United Kingdom", "EMEA", "UK and Ireland", 850, 0.50, 0.87, 0.95, 1.05),
    CountrySpec("CN", "China", "APJ", "Greater China", 3700, 0.55, 0.90, 0.91, 0.75),
    CountrySpec("FR", "France", "EMEA", "Western Europe", 750, 0.50, 0.91, 0.96, 1.05),
    CountrySpec("IN", "India", "APJ", "India", 1150, 0.55, 0.86, 0.92, 0.70),
    CountrySpec("CA", "Canada", "Americas", "North America", 500, 0.50, 0.86, 0.94, 0.98),
    CountrySpec("AU", "Australia", "APJ", "ANZ", 380, 0.52, 0.89, 0.95, 1.00),
    CountrySpec("MX", "Mexico", "Americas", "Latin America", 360, 0.60, 0.90, 0.94, 0.85),
    CountrySpec("IT", "Italy", "EMEA", "Southern Europe", 420, 0.52, 0.92, 0.96, 1.00),
    CountrySpec("KR", "South Korea", "APJ", "Korea", 400, 0.50, 0.93, 0.95, 0.95),
    CountrySpec("ES", "Spain", "EMEA", "Southern Europe", 330, 0.55, 0.90, 0.95, 1.00),
    CountrySpec("NL", "Netherlands", "EMEA", "Western Europe", 260, 0.45, 0.88, 0.95, 1.05),
    CountrySpec("AR", "Argentina", "Americas", "Latin America", 110, 0.60, 0.90, 0.93, 0.85),
    CountrySpec("ID", "Indonesia", "APJ", "Southeast Asia", 250, 0.60, 0.85, 0.92, 0.75),
    CountrySpec("PL", "Poland", "EMEA", "Central and Eastern Europe", 250, 0.52, 0.90, 0.94, 0.90),
    CountrySpec("SE", "Sweden", "EMEA", "Nordics", 130, 0.45, 0.86, 0.95, 1.10),
    CountrySpec("CL", "Chile", "Americas", "Latin America", 90, 0.58, 0.90, 0.94, 0.90),
    CountrySpec("TW", "Taiwan", "APJ", "Greater China", 160, 0.50, 0.93, 0.95, 0.95),
    CountrySpec("TR", "Türkiye", "EMEA", "Middle East and Africa", 170, 0.60, 0.90, 0.93, 0.85),
    CountrySpec("CH", "Switzerland", "EMEA", "Western Europe", 120, 0.45, 0.93, 0.97, 1.15),
    CountrySpec("SG", "Singapore", "APJ", "Southeast Asia", 90, 0.40, 0.90, 0.95, 1.00),
    CountrySpec("CO", "Colombia", "Americas", "Latin America", 100, 0.60, 0.89, 0.93, 0.85),
    CountrySpec("ZA", "South Africa", "EMEA", "Middle East and Africa", 90, 0.55, 0.90, 0.94, 0.90),
    CountrySpec("TH", "Thailand", "APJ", "Southeast Asia", 150, 0.58, 0.88, 0.93, 0.80),
    CountrySpec("AE", "United Arab Emirates", "EMEA", "Middle East and Africa", 80, 0.45, 0.93, 0.96, 1.05),
    CountrySpec("PE", "Peru", "Americas", "Latin America", 70, 0.60, 0.88, 0.93, 0.85),
    CountrySpec("NZ", "New Zealand", "APJ", "ANZ", 60, 0.52, 0.86, 0.95, 1.00),
    CountrySpec("SA", "Saudi Arabia", "EMEA", "Middle East and Africa", 120, 0.50, 0.93, 0.96, 1.00),
    CountrySpec("MY", "Malaysia", "APJ", "Southeast Asia", 130, 0.55, 0.87, 0.93, 0.80),
    CountrySpec("BE", "Belgium", "EMEA", "Western Europe", 140, 0.45, 0.92, 0.96, 1.05),
    CountrySpec("CZ", "Czechia", "EMEA", "Central and Eastern Europe", 110, 0.50, 0.91, 0.95, 0.90),
)  # fmt: skip

REGIONS: tuple[str, ...] = ("Americas", "EMEA", "APJ")
#: Countries every partner sells in (the first ones of the catalogue).
CORE_COUNTRIES = 6
