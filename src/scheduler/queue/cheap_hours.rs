use std::collections::VecDeque;

use crate::engine::SimTime;
use crate::scheduler::params::{ParamDoc, PolicyError, PolicyParams};
use crate::scheduler::traits::{QueuePolicy, QueuedJob, SchedContext};

const MS_PER_HOUR: u64 = 3_600_000;

/// Parameters of [`CheapHours`].
pub const CHEAP_HOURS_PARAMS: [ParamDoc; 4] = [
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
];

/// FIFO that holds deferrable jobs (priority below a threshold: batch evaluation,
/// best-effort work) until a daily window of cheap or clean hours, waking itself when the
/// window opens. Other jobs keep strict FIFO order among themselves; a deferred job never
/// blocks them.
#[derive(Debug)]
pub struct CheapHours {
    queue: VecDeque<QueuedJob>,
    open_h: u64,
    close_h: u64,
    below: f64,
    day_start_h: u64,
    deferrable: usize,
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
        Ok(CheapHours {
            queue: VecDeque::new(),
            open_h,
            close_h,
            below: p.f64("below_priority", 0.0)?,
            day_start_h,
            deferrable: 0,
        })
    }

    fn is_deferrable(&self, job: &QueuedJob) -> bool {
        f64::from(job.priority) < self.below
    }

    fn hour_of(&self, t: SimTime) -> u64 {
        (t.as_ms() / MS_PER_HOUR + self.day_start_h) % 24
    }

    fn open(&self, t: SimTime) -> bool {
        let h = self.hour_of(t);
        if self.open_h < self.close_h {
            (self.open_h..self.close_h).contains(&h)
        } else {
            h >= self.open_h || h < self.close_h
        }
    }

    /// The next instant the window opens after `t`.
    fn next_open(&self, t: SimTime) -> SimTime {
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
}
