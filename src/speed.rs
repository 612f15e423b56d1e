//! GPU speed: how fast each GPU model runs a job of each workload class, and so the
//! speed factor of a running job's rate ([`crate::rate::Factor::Speed`]).
//!
//! What trace durations mean: by default, a job's duration is its run time on whichever
//! GPU model it runs on, so the factor is 1 everywhere and as-recorded replays and
//! results without speeds are unchanged. A workload that declares the GPU model its
//! durations were measured on (`workload.measured_on`, a model of the topology) runs at
//! `speed(run model, class) / speed(measured model, class)`: a trace measured on V100s
//! and replayed on H100s runs faster.
//!
//! `speed(model, class)` is the model's `speed_by_class` entry for the job's class (a
//! throughput matrix, GPU model × class, as Gavel, OSDI 2020, measures: a ResNet and a
//! Transformer do not speed up alike), else its `relative_speed`. Placement keeps a job
//! on one GPU model, so a gang never mixes speeds.

use crate::topology::{Cluster, GpuModelId};
use crate::workload::{ClassId, Workload};

/// Why a workload's speeds cannot be set up on a cluster.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpeedError {
    /// `measured_on` names no GPU model of the cluster.
    #[error("workload.measured_on: the topology has no GPU model `{name}` (its models: {known})")]
    UnknownModel {
        /// The name given.
        name: String,
        /// The cluster's model names, comma-separated.
        known: String,
    },
    /// A class is in some models' `speed_by_class` but not in another's, so the two
    /// speeds would be in different units.
    #[error(
        "gpu_model `{model}` has no speed_by_class.{class}, which `{listed_by}` has: \
         give every GPU model of the cluster a speed for the classes any of them lists"
    )]
    MissingClass {
        /// The class name.
        class: String,
        /// The model lacking it.
        model: String,
        /// A model listing it.
        listed_by: String,
    },
}

/// Speeds per (class, GPU model) for one workload on one cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeedTable {
    models: usize,
    /// `speed[row * models + m]`: row 0 for jobs without a class, row `c + 1` for class c.
    speed: Vec<f64>,
    /// Per row, the models fastest first (ties by model id).
    fastest: Vec<GpuModelId>,
    /// The model durations were measured on, if declared.
    measured: Option<GpuModelId>,
}

impl SpeedTable {
    /// The speeds of `workload`'s classes on `cluster`'s GPU models.
    pub fn new(cluster: &Cluster, workload: &Workload) -> Result<SpeedTable, SpeedError> {
        let models = cluster.models.len();
        let measured = match &workload.measured_on {
            None => None,
            Some(name) => Some(cluster.model_by_name(name).ok_or_else(|| {
                SpeedError::UnknownModel {
                    name: name.clone(),
                    known: cluster
                        .models
                        .iter()
                        .map(|m| m.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            })?),
        };
        let mut speed = Vec::with_capacity((workload.classes.len() + 1) * models);
        speed.extend(cluster.models.iter().map(|m| m.relative_speed));
        for class in &workload.classes {
            let listed_by = cluster
                .models
                .iter()
                .find(|m| m.speed_by_class.contains_key(class));
            for m in &cluster.models {
                let s = match (m.speed_by_class.get(class), listed_by) {
                    (Some(&s), _) => s,
                    (None, None) => m.relative_speed,
                    (None, Some(other)) => {
                        return Err(SpeedError::MissingClass {
                            class: class.clone(),
                            model: m.name.clone(),
                            listed_by: other.name.clone(),
                        })
                    }
                };
                speed.push(s);
            }
        }
        let mut fastest = Vec::with_capacity(speed.len());
        for row in speed.chunks(models.max(1)) {
            let start = fastest.len();
            fastest.extend((0..row.len()).map(|m| GpuModelId(m as u16)));
            fastest[start..].sort_by(|a, b| {
                row[usize::from(b.0)]
                    .total_cmp(&row[usize::from(a.0)])
                    .then(a.cmp(b))
            });
        }
        Ok(SpeedTable {
            models,
            speed,
            fastest,
            measured,
        })
    }

    fn row(class: Option<ClassId>) -> usize {
        class.map_or(0, |c| c.0 as usize + 1)
    }

    /// How fast `model` runs a job of `class`, in the cluster's common unit.
    pub fn speed(&self, class: Option<ClassId>, model: GpuModelId) -> f64 {
        self.speed[Self::row(class) * self.models + usize::from(model.0)]
    }

    /// The speed factor of a job of `class` running on `model`: its speed there over
    /// its speed on the model its duration was measured on; 1 when none is declared.
    pub fn factor(&self, class: Option<ClassId>, model: GpuModelId) -> f64 {
        match self.measured {
            None => 1.0,
            Some(r) => self.speed(class, model) / self.speed(class, r),
        }
    }

    /// The GPU models, fastest first for jobs of `class` (ties by model id).
    pub fn fastest_first(&self, class: Option<ClassId>) -> &[GpuModelId] {
        let row = Self::row(class) * self.models;
        &self.fastest[row..row + self.models]
    }
}
