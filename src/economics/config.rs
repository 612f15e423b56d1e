//! `[economics]` as written in a scenario (see `docs/economics.md`): currency, calendar,
//! electricity tariff, demand charge, carbon, capex and opex.

use std::path::PathBuf;

use rust_decimal::Decimal;
use serde::Deserialize;

use super::series::SeriesSpec;

/// `[economics]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EconomicsConfig {
    /// ISO 4217 code of every money figure (`USD`, `EUR`); labels every output column.
    #[serde(default = "default_currency")]
    pub currency: String,
    /// The calendar instant simulated t = 0 maps to, RFC 3339 with offset
    /// (`2023-01-01T00:00:00-06:00`). Absent in a scenario with `[budget]`: local
    /// midnight of `budget.start` in `time_zone`, so the bill's months are the budget's.
    pub start: Option<String>,
    /// The year of the price and carbon series, when it is not the run's own (a 2023
    /// series replayed for a 2026 budget): instants are read in the series at the same
    /// local date and time in that year.
    pub series_year: Option<i32>,
    /// IANA zone of local months, days and hours (billing months, time-of-use periods).
    #[serde(default = "default_tz")]
    pub time_zone: String,
    /// `[economics.electricity]`: the energy tariff.
    pub electricity: ElectricityConfig,
    /// `[economics.demand]`: the demand charge (absent: none).
    pub demand: Option<DemandConfig>,
    /// `[economics.carbon]`: grid carbon intensity (absent: no tonnes).
    pub carbon: Option<CarbonConfig>,
    /// `[[economics.capex]]`: hardware bought per GPU model.
    #[serde(default)]
    pub capex: Vec<CapexEntry>,
    /// `[economics.racks]`: network, storage and opex per rack.
    pub racks: Option<RackCosts>,
    /// `[economics.facility]`: the building, per kW provisioned.
    pub facility: Option<FacilityCapex>,
}

fn default_currency() -> String {
    "USD".into()
}

fn default_tz() -> String {
    "UTC".into()
}

/// Which energy the utility bills.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Basis {
    /// IT + cooling + distribution losses (`facility_kw` of `power.csv`).
    #[default]
    Facility,
    /// IT only (e.g. a colocation contract that bills the tenant's racks).
    It,
}

/// `[economics.electricity]`: exactly one of `flat_per_kwh`, `tou`, `series`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElectricityConfig {
    /// Which energy is billed (`facility`, default, or `it`).
    #[serde(default)]
    pub billed_on: Basis,
    /// Added to every kWh's price (retail margin, network fees over a wholesale
    /// series), currency/kWh.
    #[serde(default)]
    pub retail_adder_per_kwh: Decimal,
    /// One price for every kWh, currency/kWh.
    pub flat_per_kwh: Option<Decimal>,
    /// Time-of-use periods (`[[economics.electricity.tou]]`).
    #[serde(default)]
    pub tou: Vec<TouPeriod>,
    /// Price of hours no time-of-use period covers (absent: every hour must be covered).
    pub tou_default_per_kwh: Option<Decimal>,
    /// An hourly (or other step) price series.
    pub series: Option<PriceSeriesSpec>,
}

/// A price series: a [`SeriesSpec`] plus its unit and currency.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceSeriesSpec {
    /// File, column, zone and fill rule.
    #[serde(flatten)]
    pub series: SeriesSpec,
    /// `mwh` or `kwh`: what one value prices; default read from the header
    /// (`Price (USD/MWh)`).
    pub per: Option<EnergyUnit>,
    /// Currency of the values; default read from the header. Must equal
    /// `economics.currency`.
    pub currency: Option<String>,
}

/// The energy unit a price is quoted per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnergyUnit {
    /// Per MWh (wholesale markets).
    Mwh,
    /// Per kWh (retail tariffs).
    Kwh,
}

/// Which days a time-of-use period applies to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Days {
    /// Every day.
    #[default]
    All,
    /// Monday to Friday.
    Weekday,
    /// Saturday and Sunday.
    Weekend,
}

/// One time-of-use period.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TouPeriod {
    /// Name, for errors.
    pub name: String,
    /// Price, currency/kWh.
    pub per_kwh: Decimal,
    /// Local hours `[from, to)`, 0 ≤ from < to ≤ 24.
    pub hours: [u32; 2],
    /// Days it applies to.
    #[serde(default)]
    pub days: Days,
    /// Months `[from, to]`, inclusive, 1–12; `from > to` wraps the year (`[11, 2]`);
    /// absent: all year.
    pub months: Option<[u32; 2]>,
}

/// `[economics.demand]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemandConfig {
    /// Charge per kW of the month's billed demand, currency/kW-month.
    pub per_kw_month: Decimal,
    /// Averaging interval of the metered peak, minutes (must divide 60).
    #[serde(default = "default_interval")]
    pub interval_min: u32,
    /// Ratchet: billed demand is at least this share (0–1) of the highest peak of the
    /// current and previous 11 months of the run.
    pub ratchet: Option<f64>,
}

fn default_interval() -> u32 {
    15
}

/// `[economics.carbon]`: exactly one of `g_per_kwh`, `series`, `region`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarbonConfig {
    /// A constant intensity, gCO₂/kWh.
    pub g_per_kwh: Option<f64>,
    /// An hourly intensity series, gCO₂/kWh.
    pub series: Option<SeriesSpec>,
    /// A region of the region table (`Region` column, e.g. `useast`).
    pub region: Option<String>,
    /// The region table (`Region`, `Avg Grid Intensity` columns, gCO₂/kWh);
    /// default `data/azure_region_carbon.csv` beside the scenario.
    pub regions_path: Option<PathBuf>,
}

/// `[[economics.capex]]`: nodes of one GPU model, bought and written off straight-line.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapexEntry {
    /// GPU model name (or alias) in the topology.
    pub gpu_model: String,
    /// Price of one node.
    pub price_per_node: Decimal,
    /// Amortization life, years.
    pub life_years: u32,
    /// Value of one node at the end of its life.
    #[serde(default)]
    pub residual_per_node: Decimal,
    /// Nodes bought; default: the topology's nodes of that model.
    pub nodes: Option<u32>,
    /// When they enter service (`YYYY-MM-DD` local, or date-time with offset); default:
    /// in service before the run starts.
    pub in_service: Option<String>,
}

/// `[economics.racks]`: per rack of the topology.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RackCosts {
    /// Network and storage bought per rack.
    #[serde(default)]
    pub network_storage_price: Decimal,
    /// Its amortization life, years.
    #[serde(default = "default_rack_life")]
    pub life_years: u32,
    /// Its value at the end of its life.
    #[serde(default)]
    pub residual: Decimal,
    /// Operating cost per rack-month (maintenance, staff, space).
    #[serde(default)]
    pub opex_per_month: Decimal,
}

fn default_rack_life() -> u32 {
    5
}

/// `[economics.facility]`: the building's cost over its life.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilityCapex {
    /// Build cost per kW of provisioned capacity.
    pub per_kw: Decimal,
    /// Provisioned capacity, kW.
    pub provisioned_kw: Decimal,
    /// Amortization life, years.
    pub life_years: u32,
}
