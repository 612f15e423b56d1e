//! What a bill writes: `costs.csv` (per month), `tenants.csv`, `job_costs.csv`, and the
//! `economics` section of `summary.json`. Amounts are rounded to the cent here and only
//! here; every money column carries the currency (`energy_usd`).

use std::io::{self, Write};

use rust_decimal::Decimal;
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::metrics::JobRecord;
use crate::workload::Workload;

use super::bill::{cents, money_text, to_f64, Bill, MonthBill};

/// The `economics` section of `summary.json`: the bill's totals.
#[derive(Debug, Clone, PartialEq)]
pub struct EconSummary {
    /// ISO 4217 code (lower case in key names).
    pub currency: String,
    /// The totals row.
    pub totals: MonthBill,
}

impl EconSummary {
    /// The totals of `bill`.
    pub fn of(bill: &Bill) -> EconSummary {
        EconSummary {
            currency: bill.currency.clone(),
            totals: bill.totals.clone(),
        }
    }

    /// Total cost, rounded to the cent.
    pub fn total(&self) -> f64 {
        to_f64(cents(self.totals.total))
    }

    /// Billed energy cost per billed MWh (`None`: no energy).
    pub fn energy_price_per_mwh(&self) -> Option<f64> {
        let t = &self.totals;
        (t.billed_kwh > 0.0).then(|| to_f64(t.energy_cost) / t.billed_kwh * 1000.0)
    }

    /// Emissions per facility kWh, g (`None`: no energy).
    pub fn g_per_kwh(&self) -> Option<f64> {
        let t = &self.totals;
        (t.facility_kwh > 0.0).then(|| t.co2_t * 1e6 / t.facility_kwh)
    }
}

impl Serialize for EconSummary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.currency.to_ascii_lowercase();
        let t = &self.totals;
        let money = |x: Decimal| to_f64(cents(x));
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("currency", &self.currency)?;
        m.serialize_entry(&format!("total_{c}"), &money(t.total))?;
        m.serialize_entry(&format!("energy_{c}"), &money(t.energy_cost))?;
        m.serialize_entry(&format!("demand_{c}"), &money(t.demand_cost))?;
        m.serialize_entry(&format!("capex_{c}"), &money(t.capex))?;
        m.serialize_entry(&format!("opex_{c}"), &money(t.opex))?;
        m.serialize_entry("billed_mwh", &(t.billed_kwh / 1000.0))?;
        m.serialize_entry(&format!("energy_{c}_per_mwh"), &self.energy_price_per_mwh())?;
        m.serialize_entry("peak_demand_kw", &t.demand_kw)?;
        m.serialize_entry("co2_t", &t.co2_t)?;
        m.serialize_entry("g_co2_per_kwh", &self.g_per_kwh())?;
        m.serialize_entry("gpu_hours", &t.gpu_hours)?;
        m.serialize_entry("useful_gpu_hours", &t.useful_gpu_hours)?;
        m.serialize_entry(&format!("{c}_per_gpu_hour"), &t.per_gpu_hour().map(to_f64))?;
        m.serialize_entry(
            &format!("{c}_per_useful_gpu_hour"),
            &t.per_useful_gpu_hour().map(to_f64),
        )?;
        m.end()
    }
}

fn opt(x: Option<Decimal>) -> String {
    x.map(|v| v.round_dp(4).normalize().to_string())
        .unwrap_or_default()
}

/// Writes `costs.csv`: one row per local month (columns in `docs/economics.md`).
pub fn write_costs(w: &mut dyn Write, bill: &Bill) -> io::Result<()> {
    let c = bill.currency.to_ascii_lowercase();
    let mut csv = csv::Writer::from_writer(w);
    let header = [
        "month".to_string(),
        "hours".into(),
        "energy_kwh".into(),
        "it_kwh".into(),
        "facility_kwh".into(),
        format!("energy_{c}"),
        "peak_kw".into(),
        "demand_kw".into(),
        format!("demand_{c}"),
        format!("capex_{c}"),
        format!("opex_{c}"),
        format!("total_{c}"),
        "co2_t".into(),
        "gpu_hours".into(),
        "useful_gpu_hours".into(),
        format!("{c}_per_gpu_hour"),
        format!("{c}_per_useful_gpu_hour"),
        "gpus_installed".into(),
    ];
    csv.write_record(&header)?;
    for m in &bill.months {
        csv.write_record([
            m.label.clone(),
            format!("{:.3}", m.hours),
            format!("{:.3}", m.billed_kwh),
            format!("{:.3}", m.it_kwh),
            format!("{:.3}", m.facility_kwh),
            money_text(m.energy_cost),
            format!("{:.3}", m.peak_kw),
            format!("{:.3}", m.demand_kw),
            money_text(m.demand_cost),
            money_text(m.capex),
            money_text(m.opex),
            money_text(m.total),
            format!("{:.6}", m.co2_t),
            format!("{:.3}", m.gpu_hours),
            format!("{:.3}", m.useful_gpu_hours),
            opt(m.per_gpu_hour()),
            opt(m.per_useful_gpu_hour()),
            bill.gpus_installed.to_string(),
        ])?;
    }
    csv.flush()
}

/// Writes `tenants.csv`: one row per tenant (then `(idle)`), whose `cost_<cur>` cents sum
/// to the total rounded to the cent.
pub fn write_tenants(w: &mut dyn Write, bill: &Bill) -> io::Result<()> {
    let c = bill.currency.to_ascii_lowercase();
    let mut csv = csv::Writer::from_writer(w);
    csv.write_record([
        "tenant".to_string(),
        "gpu_hours".into(),
        "energy_kwh".into(),
        format!("energy_{c}"),
        format!("capital_{c}"),
        format!("cost_{c}"),
        "co2_t".into(),
    ])?;
    for t in &bill.tenants {
        csv.write_record([
            t.tenant.clone(),
            format!("{:.3}", t.gpu_hours),
            format!("{:.3}", t.energy_kwh),
            money_text(t.energy_cost),
            money_text(t.capital_cost),
            money_text(t.cost_cents),
            format!("{:.6}", t.co2_t),
        ])?;
    }
    csv.flush()
}

/// Writes `job_costs.csv`: `id`, `tenant`, `kind`, `cost_<cur>`, `co2_t` per job record.
pub fn write_job_costs(
    w: &mut dyn Write,
    bill: &Bill,
    workload: &Workload,
    jobs: &[JobRecord],
) -> io::Result<()> {
    let c = bill.currency.to_ascii_lowercase();
    let mut csv = csv::Writer::from_writer(w);
    csv.write_record([
        "id".to_string(),
        "tenant".into(),
        "kind".into(),
        format!("cost_{c}"),
        "co2_t".into(),
    ])?;
    // A million rows: fields formatted into reused buffers, not one String each.
    let (mut id, mut money, mut co2) = (itoa::Buffer::new(), String::new(), String::new());
    for (r, b) in jobs.iter().zip(&bill.jobs) {
        let spec = &workload.jobs[r.id.0 as usize];
        money.clear();
        push_money(&mut money, b.cost);
        co2.clear();
        push_nanos(&mut co2, b.co2_t);
        csv.write_record([
            id.format(r.id.0).as_bytes(),
            workload.tenant_name(r.tenant).as_bytes(),
            spec.kind.as_str().as_bytes(),
            money.as_bytes(),
            co2.as_bytes(),
        ])?;
    }
    csv.flush()
}

/// Appends `x` rounded to the cent with two decimals (as [`money_text`], without the
/// formatting machinery).
fn push_money(buf: &mut String, x: Decimal) {
    let c = cents(x);
    let mut m = c.mantissa();
    for _ in c.scale()..2 {
        m *= 10;
    }
    if m < 0 {
        buf.push('-');
    }
    let m = m.unsigned_abs();
    buf.push_str(itoa::Buffer::new().format(m / 100));
    buf.push('.');
    let frac = (m % 100) as u8;
    buf.push(char::from(b'0' + frac / 10));
    buf.push(char::from(b'0' + frac % 10));
}

/// Appends `x` with nine decimals (tonnes to the gram), rounded half away from zero.
fn push_nanos(buf: &mut String, x: f64) {
    let n = (x.abs() * 1e9).round();
    if !n.is_finite() || n >= 9.0e18 {
        buf.push_str(&format!("{x:.9}"));
        return;
    }
    let n = n as u64;
    if x < 0.0 && n > 0 {
        buf.push('-');
    }
    buf.push_str(itoa::Buffer::new().format(n / 1_000_000_000));
    buf.push('.');
    // 1 followed by the nine digits, leading 1 dropped: zero-padded without allocating.
    buf.push_str(&itoa::Buffer::new().format(n % 1_000_000_000 + 1_000_000_000)[1..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn fast_money_and_tonnes_match_the_formatter() {
        for x in ["0", "0.004", "0.005", "-0.005", "1.5", "12345.675", "-7.1", "100"] {
            let d = Decimal::from_str(x).unwrap();
            let mut b = String::new();
            push_money(&mut b, d);
            assert_eq!(b, money_text(d), "{x}");
        }
        for x in [0.0, 1.0, 0.123456789, 0.5, 1234.000000001] {
            let mut b = String::new();
            push_nanos(&mut b, x);
            assert_eq!(b, format!("{x:.9}"), "{x}");
        }
    }
}
