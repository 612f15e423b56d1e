use crate::engine::SimTime;

/// Cluster state over time, one row per change point: each row holds from its time
/// until the next row's time (piecewise constant). Stored column-wise.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeSeries {
    /// Number of GPU models (width of `busy_milli_by_model` rows).
    pub models: usize,
    /// Row times.
    pub time: Vec<SimTime>,
    /// Allocated thousandths of a GPU, all models.
    pub busy_milli: Vec<u64>,
    /// Allocated thousandths per model, `models` values per row.
    pub busy_milli_by_model: Vec<u64>,
    /// Jobs waiting.
    pub queued: Vec<u32>,
    /// Jobs running.
    pub running: Vec<u32>,
    /// Expected fragmented GPUs (Weng et al., ATC 2023: free GPU capacity the workload's
    /// task mix is not expected to be able to use), in thousandths of a GPU.
    pub frag_milli: Vec<u64>,
    /// Whether fragmentation was measured (GPU-sharing workloads, or a placement that
    /// scores by it); when not, `frag_milli` holds zeros and outputs leave it empty.
    pub frag_tracked: bool,
}

impl TimeSeries {
    /// An empty series for `models` GPU models.
    pub fn new(models: usize, frag_tracked: bool) -> Self {
        TimeSeries {
            models,
            frag_tracked,
            ..Default::default()
        }
    }

    /// Makes room for `rows` more rows (a run records about two per job), so recording
    /// never reallocates mid-run.
    pub fn reserve(&mut self, rows: usize) {
        self.time.reserve(rows);
        self.busy_milli.reserve(rows);
        self.busy_milli_by_model.reserve(rows * self.models);
        self.queued.reserve(rows);
        self.running.reserve(rows);
        self.frag_milli.reserve(rows);
    }

    /// Rows recorded.
    pub fn len(&self) -> usize {
        self.time.len()
    }

    /// Whether no row was recorded.
    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    /// Takes every row but the last out of the series, which keeps its last row and
    /// room for `room` more (a run hands the rows taken to its writer).
    pub fn split_final(&mut self, room: usize) -> TimeSeries {
        fn split<T: Copy>(v: &mut Vec<T>, keep: usize, room: usize) -> Vec<T> {
            let mut rest = Vec::with_capacity(room + keep);
            rest.extend_from_slice(&v[v.len() - keep..]);
            v.truncate(v.len() - keep);
            std::mem::replace(v, rest)
        }
        let keep = usize::from(!self.is_empty());
        let m = self.models;
        TimeSeries {
            models: m,
            time: split(&mut self.time, keep, room),
            busy_milli: split(&mut self.busy_milli, keep, room),
            busy_milli_by_model: split(&mut self.busy_milli_by_model, keep * m, room * m),
            queued: split(&mut self.queued, keep, room),
            running: split(&mut self.running, keep, room),
            frag_milli: split(&mut self.frag_milli, keep, room),
            frag_tracked: self.frag_tracked,
        }
    }

    /// Appends a row if any value differs from the last row (a change point); a row at
    /// the same time as the last replaces it.
    pub fn record(
        &mut self,
        t: SimTime,
        busy_milli: u64,
        by_model: &[u64],
        queued: u32,
        running: u32,
        frag_milli: u64,
    ) {
        if let Some(i) = self.len().checked_sub(1) {
            let m = self.models;
            let same = self.busy_milli[i] == busy_milli
                && self.queued[i] == queued
                && self.running[i] == running
                && self.frag_milli[i] == frag_milli
                && self.busy_milli_by_model[i * m..(i + 1) * m] == *by_model;
            if same {
                return;
            }
            if self.time[i] == t {
                self.busy_milli[i] = busy_milli;
                self.queued[i] = queued;
                self.running[i] = running;
                self.frag_milli[i] = frag_milli;
                self.busy_milli_by_model[i * m..(i + 1) * m].copy_from_slice(by_model);
                return;
            }
        }
        self.time.push(t);
        self.busy_milli.push(busy_milli);
        self.busy_milli_by_model.extend_from_slice(by_model);
        self.queued.push(queued);
        self.running.push(running);
        self.frag_milli.push(frag_milli);
    }

    /// ∫ busy dt over the series, in milli-GPU·milliseconds (exact integer).
    pub fn busy_integral(&self) -> u128 {
        self.integral(|i| u128::from(self.busy_milli[i]))
    }

    /// ∫ busy dt over the part of the series inside `[from, to)`, in milli-GPU·milliseconds
    /// (exact integer). The last row closes the series: nothing is counted after it.
    pub fn busy_integral_between(&self, from: SimTime, to: SimTime) -> u128 {
        self.time
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let (a, b) = (w[0].max(from), w[1].min(to));
                if b > a {
                    u128::from(self.busy_milli[i]) * u128::from((b - a).as_ms())
                } else {
                    0
                }
            })
            .sum()
    }

    /// ∫ queued dt over the series, in job·milliseconds (exact integer).
    pub fn queued_integral(&self) -> u128 {
        self.integral(|i| u128::from(self.queued[i]))
    }

    /// ∫ fragmented GPUs dt over the series, in milli-GPU·milliseconds (exact integer).
    pub fn frag_integral(&self) -> u128 {
        self.integral(|i| u128::from(self.frag_milli[i]))
    }

    /// The largest allocation seen, in thousandths of a GPU.
    pub fn peak_busy_milli(&self) -> u64 {
        self.busy_milli.iter().copied().max().unwrap_or(0)
    }

    fn integral(&self, value: impl Fn(usize) -> u128) -> u128 {
        self.time
            .windows(2)
            .enumerate()
            .map(|(i, w)| value(i) * u128::from((w[1] - w[0]).as_ms()))
            .sum()
    }
}
