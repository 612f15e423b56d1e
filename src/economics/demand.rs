//! Metering: a run's power series integrated into fixed slots of wall-clock time
//! (aligned to the Unix epoch, so to local quarter-hours in every zone whose offset is a
//! multiple of the slot), and the demand charge's peaks: each month's highest mean power
//! over a billing interval, with an optional ratchet.

use crate::engine::SimTime;
use crate::facility::Facility;
use crate::power::PowerSeries;

use super::calendar::Calendar;

/// Energy per slot, kWh, IT and facility (IT + cooling + losses).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meter {
    /// Epoch ms of the first slot's start.
    pub first_ms: i64,
    /// Slot length, ms.
    pub slot_ms: i64,
    /// IT energy per slot, kWh.
    pub it_kwh: Vec<f64>,
    /// Facility energy per slot, kWh.
    pub facility_kwh: Vec<f64>,
}

impl Meter {
    /// Integrates `series` (piecewise-constant IT power, closed at `end`) into slots of
    /// `slot_ms`; facility overhead from `facility` at every weather change.
    pub fn new(
        series: &PowerSeries,
        facility: &Facility,
        cal: &Calendar,
        end: SimTime,
        slot_ms: i64,
    ) -> Meter {
        let start_ms = cal.epoch_ms(SimTime::ZERO);
        let end_ms = cal.epoch_ms(end).max(start_ms);
        let first_ms = start_ms.div_euclid(slot_ms) * slot_ms;
        let n = ((end_ms - first_ms + slot_ms - 1) / slot_ms).max(1) as usize;
        let mut m = Meter {
            first_ms,
            slot_ms,
            it_kwh: vec![0.0; n],
            facility_kwh: vec![0.0; n],
        };
        for (i, &row) in series.time.iter().enumerate() {
            let it_kw = series.it_w[i] / 1000.0;
            let until = series.time.get(i + 1).copied().unwrap_or(end).min(end);
            let mut t = row;
            while t < until {
                let next = facility.next_change_after(t).min(until);
                let fac_kw = it_kw + facility.overhead_kw(it_kw, t).total_kw();
                m.add(cal.epoch_ms(t), cal.epoch_ms(next), it_kw, fac_kw);
                t = next;
            }
        }
        m
    }

    /// Adds constant power over `[a, b)` (epoch ms).
    fn add(&mut self, a: i64, b: i64, it_kw: f64, fac_kw: f64) {
        let mut t = a;
        while t < b {
            let k = ((t - self.first_ms) / self.slot_ms) as usize;
            let slot_end = self.first_ms + (k as i64 + 1) * self.slot_ms;
            let to = slot_end.min(b);
            let h = (to - t) as f64 / 3_600_000.0;
            if let (Some(it), Some(fac)) = (self.it_kwh.get_mut(k), self.facility_kwh.get_mut(k)) {
                *it += it_kw * h;
                *fac += fac_kw * h;
            }
            t = to;
        }
    }

    /// Start of slot `k`, epoch ms.
    pub fn slot_start(&self, k: usize) -> i64 {
        self.first_ms + k as i64 * self.slot_ms
    }
}

/// Billed demand per month from each month's peak, kW: with a `ratchet` share, at least
/// that share of the highest peak of the month and the 11 before it (inside the run).
pub fn billed_demand(peaks_kw: &[f64], ratchet: Option<f64>) -> Vec<f64> {
    peaks_kw
        .iter()
        .enumerate()
        .map(|(i, &p)| match ratchet {
            Some(r) => {
                let year_peak = peaks_kw[i.saturating_sub(11)..=i]
                    .iter()
                    .copied()
                    .fold(0.0, f64::max);
                p.max(r * year_peak)
            }
            None => p,
        })
        .collect()
}
