use std::collections::VecDeque;

use crate::engine::SimTime;
use crate::scheduler::params::{ParamDoc, PolicyError, PolicyParams};
use crate::scheduler::signal::{HourlySignal, SignalKind};
use crate::scheduler::traits::{QueuePolicy, QueuedJob, SchedContext};

const MS_PER_HOUR: u64 = 3_600_000;

/// Parameters of [`CheapHours`].
pub const CHEAP_HOURS_PARAMS: [ParamDoc; 6] = [
    ParamDoc {
        key: "open_hour",
        default: "22",
        about: "local hour (0-23) the daily cheap window opens (pick it from the price or carbon series' hour-of-day means)",
    },
    ParamDoc {
        key: "close_hour",
        default: "6",
        about: "local hour (0-24) it closes; below open_hour the window wraps past midnight",
    },
    ParamDoc {
        key: "below_priority",
        default: "0",
        about: "jobs with a priority below this are deferrable and start only inside the window",
    },
    ParamDoc {
        key: "day_start_hour",
        default: "0",
        about: "local hour of simulated t = 0 (the hour of economics.start)",
    },
    ParamDoc {
        key: "signal",
        default: "clock",
        about: "clock: the fixed daily window above; price or carbon: instead, each local day's hours_per_day cheapest (or cleanest) hours of the [economics] series",
    },
    ParamDoc {
        key: "hours_per_day",
        default: "8",
        about: "with signal = price or carbon: how many hours a day deferrable jobs may start in (1-24)",
    },
];

/// FIFO that holds deferrable jobs (priority below a threshold: batch evaluation,
/// best-effort work) until cheap or clean hours, waking itself when they come: a fixed
/// daily window (`signal = "clock"`), or each local day's `hours_per_day` lowest hours of
/// the scenario's price or carbon series (`signal = "price"` / `"carbon"`; past the
/// series' end jobs are no longer held). Other jobs keep strict FIFO order among
/// themselves; a deferred job never blocks them.
#[derive(Debug)]
pub struct CheapHours {
    queue: VecDeque<QueuedJob>,
    open_h: u64,
    close_h: u64,
    below: f64,
    day_start_h: u64,
    deferrable: usize,
    signal: Option<SignalKind>,
    hours_per_day: usize,
    /// With a signal: whether deferrable jobs may start in hour k of simulated time.
    open_hours: Vec<bool>,
}

impl CheapHours {
    /// Reads `[scheduler.params.cheap-hours]`.
    pub fn from_params(p: &mut PolicyParams) -> Result<Self, PolicyError> {
        let open_h = p.u64("open_hour", 22)?;
        let close_h = p.u64("close_hour", 6)?;
        let day_start_h = p.u64("day_start_hour", 0)?;
        if open_h > 23 || close_h > 24 || open_h == close_h || day_start_h > 23 {
            return Err(p.error(
                "open_hour",
                format!("open_hour {open_h}, close_hour {close_h}, day_start_hour {day_start_h}: expected hours 0-23 (close 0-24) and a non-empty window"),
            ));
        }
        let signal = match p.string("signal", "clock")?.as_str() {
            "clock" => None,
            "price" => Some(SignalKind::Price),
            "carbon" => Some(SignalKind::Carbon),
            other => {
                return Err(p.error(
                    "signal",
                    format!("`{other}`: expected \"clock\", \"price\" or \"carbon\""),
                ))
            }
        };
        let hours_per_day = p.u64("hours_per_day", 8)?;
        if !(1..=24).contains(&hours_per_day) {
            return Err(p.error("hours_per_day", format!("{hours_per_day}: expected 1-24")));
        }
        Ok(CheapHours {
            queue: VecDeque::new(),
            open_h,
            close_h,
            below: p.f64("below_priority", 0.0)?,
            day_start_h,
            deferrable: 0,
            signal,
            hours_per_day: hours_per_day as usize,
            open_hours: Vec::new(),
        })
    }

    fn is_deferrable(&self, job: &QueuedJob) -> bool {
        f64::from(job.priority) < self.below
    }

    fn hour_of(&self, t: SimTime) -> u64 {
        (t.as_ms() / MS_PER_HOUR + self.day_start_h) % 24
    }

    fn open(&self, t: SimTime) -> bool {
        if self.signal.is_some() {
            let k = (t.as_ms() / MS_PER_HOUR) as usize;
            return self.open_hours.get(k).copied().unwrap_or(true);
        }
        let h = self.hour_of(t);
        if self.open_h < self.close_h {
            (self.open_h..self.close_h).contains(&h)
        } else {
            h >= self.open_h || h < self.close_h
        }
    }

    /// The next instant the window opens after `t`.
    fn next_open(&self, t: SimTime) -> SimTime {
        if self.signal.is_some() {
            let k = (t.as_ms() / MS_PER_HOUR) as usize;
            let next = (k + 1..self.open_hours.len())
                .find(|&j| self.open_hours[j])
                .unwrap_or(self.open_hours.len().max(k + 1));
            return SimTime(next as u64 * MS_PER_HOUR);
        }
        let hour_start = t.as_ms() / MS_PER_HOUR * MS_PER_HOUR;
        let ahead = (self.open_h + 24 - self.hour_of(t)) % 24;
        let ahead = if ahead == 0 { 24 } else { ahead };
        SimTime(hour_start + ahead * MS_PER_HOUR)
    }
}

impl QueuePolicy for CheapHours {
    fn name(&self) -> &'static str {
        "cheap-hours"
    }

    fn enqueue(&mut self, job: QueuedJob) {
        if self.is_deferrable(&job) {
            self.deferrable += 1;
        }
        self.queue.push_back(job);
    }

    fn schedule(&mut self, ctx: &mut dyn SchedContext) {
        let now = ctx.now();
        let open = self.open(now);
        let mut i = 0;
        while i < self.queue.len() {
            let deferrable = self.is_deferrable(&self.queue[i]);
            if deferrable && !open {
                i += 1;
                continue;
            }
            if !ctx.try_start(&self.queue[i]) {
                if !deferrable {
                    break;
                }
                i += 1;
                continue;
            }
            self.queue.remove(i);
            if deferrable {
                self.deferrable -= 1;
            }
        }
        if !open && self.deferrable > 0 {
            ctx.wake_at(self.next_open(now));
        }
    }

    fn len(&self) -> usize {
        self.queue.len()
    }

    fn wants_signal(&self) -> Option<SignalKind> {
        self.signal
    }

    fn bind_signal(&mut self, signal: &HourlySignal) {
        self.open_hours = signal.lowest_per_day(self.hours_per_day);
    }
}
