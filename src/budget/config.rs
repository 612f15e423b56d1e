//! `[budget]` of a scenario, as written, and its checks that need no other file.

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Deserialize;

use super::calendar::Calendar;
use super::growth::GrowthConfig;
use super::rule::RuleConfig;
use super::BudgetError;

/// `[budget]`: what `dcsim budget` runs (ignored by `dcsim run`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetConfig {
    /// The first day of the budget, `YYYY-MM-DD`: simulated time 0 is its midnight.
    pub start: String,
    /// Months to run (`--months` overrides).
    #[serde(default = "default_months")]
    pub months: u32,
    /// The demand multiplier per month (default ×1).
    #[serde(default)]
    pub growth: GrowthConfig,
    /// Node groups with in-service and retirement dates.
    #[serde(default)]
    pub fleet: Vec<FleetGroup>,
    /// The capacity rule (none: the fleet changes only by date).
    pub rule: Option<RuleConfig>,
}

fn default_months() -> u32 {
    12
}

/// `[[budget.fleet]]`: one topology node group's service dates.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetGroup {
    /// The topology's `[[nodes]]` group (its `name`).
    pub nodes: String,
    /// First day in service, `YYYY-MM-DD` (absent: from the start).
    pub in_service: Option<String>,
    /// First day out of service, `YYYY-MM-DD`: from then no job is placed on the group
    /// and running ones finish (absent: never).
    pub retire: Option<String>,
}

/// Parses the date at `key`.
pub(crate) fn date(key: &str, s: &str) -> Result<NaiveDate, BudgetError> {
    s.parse::<NaiveDate>()
        .map_err(|e| BudgetError::invalid(key, format!("{s:?} is not a date YYYY-MM-DD ({e})")))
}

impl BudgetConfig {
    /// The budget's calendar over `months` months (the scenario's when `None`), in UTC.
    pub fn calendar(&self, months: Option<u32>) -> Result<Calendar, BudgetError> {
        self.calendar_in(months, Tz::UTC)
    }

    /// The budget's calendar in zone `tz` (the bill's `economics.time_zone`).
    pub fn calendar_in(&self, months: Option<u32>, tz: Tz) -> Result<Calendar, BudgetError> {
        Calendar::in_zone(self.first_day()?, months.unwrap_or(self.months), tz)
    }

    /// The first day, `budget.start`.
    pub fn first_day(&self) -> Result<NaiveDate, BudgetError> {
        date("budget.start", &self.start)
    }

    /// Checks every key that needs no topology: dates, in service before retirement,
    /// growth, the rule's ranges, a group named twice or both dated and the rule's.
    pub fn validate(&self) -> Result<(), BudgetError> {
        let cal = self.calendar(None)?;
        self.growth.multipliers(cal.months())?;
        for (i, g) in self.fleet.iter().enumerate() {
            let key = |k: &str| format!("budget.fleet[{i}].{k}");
            let from = match &g.in_service {
                Some(s) => Some(cal.time_of(date(&key("in_service"), s)?, &key("in_service"))?),
                None => None,
            };
            let to = match &g.retire {
                Some(s) => Some(cal.time_of(date(&key("retire"), s)?, &key("retire"))?),
                None => None,
            };
            if let (Some(from), Some(to)) = (from, to) {
                if to <= from {
                    return Err(BudgetError::invalid(
                        &key("retire"),
                        format!(
                            "({}) must be after in_service ({})",
                            g.retire.as_deref().unwrap_or_default(),
                            g.in_service.as_deref().unwrap_or_default()
                        ),
                    ));
                }
            }
            if self.fleet[..i].iter().any(|o| o.nodes == g.nodes) {
                return Err(BudgetError::invalid(
                    &key("nodes"),
                    format!("group `{}` is dated twice", g.nodes),
                ));
            }
            if self.rule.as_ref().is_some_and(|r| r.from_group == g.nodes) {
                return Err(BudgetError::invalid(
                    &key("nodes"),
                    format!(
                        "group `{}` is the capacity rule's reserve (budget.rule.from_group): its racks enter service when ordered, not by date",
                        g.nodes
                    ),
                ));
            }
        }
        if let Some(r) = &self.rule {
            r.validate().map_err(|(k, m)| BudgetError::invalid(&k, m))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(text: &str) -> String {
        let cfg: BudgetConfig = toml::from_str(text).expect("parses");
        match cfg.validate() {
            Err(BudgetError::Invalid { key, .. }) => key,
            Ok(()) => panic!("{text}: accepted"),
        }
    }

    #[test]
    fn bad_values_name_their_key() {
        let start = "start = \"2026-01-01\"\n";
        for (text, key) in [
            ("start = \"2026-13-01\"", "budget.start"),
            ("start = \"2026-01-01\"\nmonths = 0", "budget.months"),
            (
                "[[fleet]]\nnodes = \"a\"\nin_service = \"2026-06-01\"\nretire = \"2026-03-01\"",
                "budget.fleet[0].retire",
            ),
            (
                "[[fleet]]\nnodes = \"a\"\nin_service = \"2026-06-01\"\nretire = \"2026-06-01\"",
                "budget.fleet[0].retire",
            ),
            ("[[fleet]]\nnodes = \"a\"\nin_service = \"2025-12-01\"", "budget.fleet[0].in_service"),
            ("[[fleet]]\nnodes = \"a\"\nretire = \"soon\"", "budget.fleet[0].retire"),
            ("[[fleet]]\nnodes = \"a\"\n[[fleet]]\nnodes = \"a\"", "budget.fleet[1].nodes"),
            (
                "[[fleet]]\nnodes = \"r\"\n[rule]\nmetric = \"utilization\"\nabove = 0.8\nracks = 1\nfrom_group = \"r\"\nlead_months = 3",
                "budget.fleet[0].nodes",
            ),
            ("[growth]\nkind = \"linear\"\nfrom = 1.0\nto = -3.0", "budget.growth.to"),
        ] {
            let text = if text.starts_with("start") { text.to_string() } else { format!("{start}{text}") };
            assert_eq!(key_of(&text), key, "{text}");
        }
    }

    #[test]
    fn unknown_keys_and_kinds_fail_to_parse() {
        assert!(toml::from_str::<BudgetConfig>("start = \"2026-01-01\"\nmonth = 3").is_err());
        let bad_kind = "start = \"2026-01-01\"\n[growth]\nkind = \"exponential\"\nfrom = 1.0\nto = 2.0";
        assert!(toml::from_str::<BudgetConfig>(bad_kind).is_err());
    }
}
