//! Jobs' traffic on the fabric's links, shared max-min fairly, re-solved only where a
//! start or a stop touched.
//!
//! A job's ring all-reduce runs one ring per NIC it can use; NCCL orders the ring so that
//! it visits the nodes of one leaf (and the leaves of one pod) in a row, so the ring
//! crosses each boundary once per direction. Per unit of the job's bus bandwidth `x`:
//! - each of its nodes sends `x` out of its NICs (split over the nodes of one NVLink
//!   domain when the domain spans several nodes), and a node uses only as many NICs as
//!   it holds of the job's GPUs (one NIC per GPU on a rail-optimized node): the bound
//!   `x <= min over domains of the NICs the job can use there × NIC speed`;
//! - each leaf it spans sends `x` up to the spine when it spans two leaves or more;
//! - each pod it spans sends `x` up to the core when it spans two pods or more.
//!
//! Links are full duplex and the ring is symmetric, so one direction is modelled. A job
//! inside one NVLink domain uses no link: its bus bandwidth is the NVLink bandwidth.

use fnv::FnvHashMap;

use crate::sharing::{ResourceId, Sharing};
use crate::topology::fabric::Fabric;
use crate::topology::NodeId;

use super::profile::CommProfile;

/// Which tier a link belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// A node's NICs to its leaf.
    Node,
    /// A leaf's uplinks to the spine.
    Leaf,
    /// A pod's uplinks to the core.
    Pod,
}

/// A running job's traffic as the model sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobTraffic {
    /// Ranks in the ring (the job's GPUs).
    pub ranks: u32,
    /// What it communicates.
    pub profile: CommProfile,
    /// Links it crosses: (link index, usage per unit of bus bandwidth).
    pub links: Vec<(u32, f64)>,
    /// Its bus bandwidth on its nodes over a non-blocking fabric with no other job,
    /// bytes/s: the reference its trace duration is taken to have been measured at.
    pub reference_bps: f64,
    /// Its bus bandwidth alone on this fabric, bytes/s (below the reference when an
    /// oversubscribed uplink is narrower than its nodes' NICs).
    pub isolated_bps: f64,
    /// Its bus bandwidth now, bytes/s.
    pub bps: f64,
    /// Leaves it spans.
    pub leaves: u32,
    /// Pods it spans.
    pub pods: u32,
}

impl JobTraffic {
    /// Iteration time at the reference bandwidth over iteration time now: the network's
    /// factor of the job's rate (1 on a non-blocking, idle fabric).
    pub fn factor(&self) -> f64 {
        let iso = self.profile.iteration_ms(self.ranks, self.reference_bps);
        let now = self.profile.iteration_ms(self.ranks, self.bps);
        if now.is_finite() && now > 0.0 {
            (iso / now).min(1.0)
        } else {
            0.0
        }
    }
}

/// The running jobs' traffic over one fabric.
#[derive(Debug)]
pub struct Contention {
    fabric: Fabric,
    /// Capacity of every link, bytes/s: nodes, then leaves, then pods.
    capacity: Vec<f64>,
    /// Jobs crossing each link (keys of `jobs`).
    on_link: Vec<Vec<u32>>,
    jobs: FnvHashMap<u32, JobTraffic>,
    /// Links touched by starts and stops since the last settle.
    dirty: Vec<u32>,
    // Reusable buffers of `settle`.
    link_mark: Vec<u64>,
    job_mark: FnvHashMap<u32, u64>,
    generation: u64,
    stack: Vec<u32>,
    links_in: Vec<u32>,
    component: Vec<u32>,
    resource_of: Vec<u32>,
    sharing: Sharing,
    scratch: Vec<(ResourceId, f64)>,
    node_scratch: Vec<(u32, u32, u32)>,
    /// (link, utilization) of every link the last settle re-solved.
    link_util: Vec<(u32, f64)>,
}

impl Contention {
    /// An idle fabric.
    pub fn new(fabric: Fabric) -> Self {
        let mut capacity = fabric.node_nic_bps.clone();
        capacity.extend_from_slice(&fabric.leaf_uplink_bps);
        capacity.extend_from_slice(&fabric.pod_uplink_bps);
        let links = capacity.len();
        Contention {
            fabric,
            capacity,
            on_link: vec![Vec::new(); links],
            jobs: FnvHashMap::default(),
            dirty: Vec::new(),
            link_mark: vec![0; links],
            job_mark: FnvHashMap::default(),
            generation: 0,
            stack: Vec::new(),
            links_in: Vec::new(),
            component: Vec::new(),
            resource_of: vec![0; links],
            sharing: Sharing::new(),
            scratch: Vec::new(),
            node_scratch: Vec::new(),
            link_util: Vec::new(),
        }
    }

    /// (link, utilization: traffic over capacity) of every link the last
    /// [`Contention::settle`] re-solved, in link order: the only links whose traffic
    /// can have changed.
    pub fn link_utilization(&self) -> &[(u32, f64)] {
        &self.link_util
    }

    /// The fabric.
    pub fn fabric(&self) -> &Fabric {
        &self.fabric
    }

    /// The tier of link `link` and its index within the tier.
    pub fn tier(&self, link: u32) -> (Tier, u32) {
        let nodes = self.fabric.node_nic_bps.len() as u32;
        let leaves = self.fabric.leaf_uplink_bps.len() as u32;
        if link < nodes {
            (Tier::Node, link)
        } else if link < nodes + leaves {
            (Tier::Leaf, link - nodes)
        } else {
            (Tier::Pod, link - nodes - leaves)
        }
    }

    /// Capacity of a link, bytes/s.
    pub fn capacity(&self, link: u32) -> f64 {
        self.capacity[link as usize]
    }

    /// Number of links.
    pub fn links(&self) -> u32 {
        self.capacity.len() as u32
    }

    /// A running job's traffic.
    pub fn job(&self, key: u32) -> Option<&JobTraffic> {
        self.jobs.get(&key)
    }

    /// The traffic a job with `profile` would have on `nodes` ((node, GPUs) pairs, the
    /// job's GPUs on each node), alone on the fabric.
    pub fn traffic(&mut self, profile: CommProfile, nodes: &[(NodeId, u32)]) -> JobTraffic {
        let f = &self.fabric;
        let ranks: u32 = nodes.iter().map(|&(_, g)| g).sum();
        // (domain, node, gpus), sorted by domain then node.
        self.node_scratch.clear();
        self.node_scratch
            .extend(nodes.iter().map(|&(n, g)| (f.node_domain[n.0 as usize], n.0, g)));
        self.node_scratch.sort_unstable();
        let mut links = Vec::new();
        let mut bound = f.nvlink_bps;
        let multi_domain = self
            .node_scratch
            .first()
            .is_some_and(|first| self.node_scratch.iter().any(|d| d.0 != first.0));
        if multi_domain {
            let mut i = 0;
            while i < self.node_scratch.len() {
                let domain = self.node_scratch[i].0;
                let j = i + self.node_scratch[i..]
                    .iter()
                    .take_while(|d| d.0 == domain)
                    .count();
                let k = (j - i) as f64;
                let mut domain_bps = 0.0;
                for &(_, node, gpus) in &self.node_scratch[i..j] {
                    let n = node as usize;
                    let gpus_here = f.node_gpus[n];
                    let nics = f.node_nics[n];
                    // NICs the job can use: its share of the node's GPUs, at least one.
                    let usable = (u64::from(nics) * u64::from(gpus) / u64::from(gpus_here.max(1))).max(1);
                    domain_bps += f.node_nic_bps[n] * usable as f64 / f64::from(nics.max(1));
                    links.push((node, 1.0 / k));
                }
                bound = bound.min(domain_bps);
                i = j;
            }
        }
        let node_links = f.node_nic_bps.len() as u32;
        let leaf_links = f.leaf_uplink_bps.len() as u32;
        let mut leaves: Vec<u32> = nodes.iter().map(|&(n, _)| f.leaf(n).0).collect();
        leaves.sort_unstable();
        leaves.dedup();
        let mut pods: Vec<u32> = leaves.iter().map(|&l| f.leaf_pod[l as usize].0).collect();
        pods.sort_unstable();
        pods.dedup();
        if leaves.len() > 1 {
            links.extend(leaves.iter().map(|&l| (node_links + l, 1.0)));
        }
        if pods.len() > 1 && f.has_core() {
            links.extend(pods.iter().map(|&p| (node_links + leaf_links + p, 1.0)));
        }
        // Alone, the job gets its bound or the narrowest link it crosses.
        let isolated = links
            .iter()
            .map(|&(l, a)| self.capacity[l as usize] / a)
            .fold(bound, f64::min);
        JobTraffic {
            ranks,
            profile,
            links,
            reference_bps: bound,
            isolated_bps: isolated,
            bps: isolated,
            leaves: leaves.len() as u32,
            pods: pods.len() as u32,
        }
    }

    /// A job starts: its traffic joins the links it crosses. Its factor is
    /// `traffic.factor()` until a [`Contention::settle`] reports otherwise.
    pub fn start(&mut self, key: u32, traffic: JobTraffic) {
        for &(l, _) in &traffic.links {
            self.on_link[l as usize].push(key);
            self.dirty.push(l);
        }
        self.jobs.insert(key, traffic);
    }

    /// A job stops: its traffic leaves its links. Returns it (None if unknown).
    pub fn stop(&mut self, key: u32) -> Option<JobTraffic> {
        let traffic = self.jobs.remove(&key)?;
        for &(l, _) in &traffic.links {
            let on = &mut self.on_link[l as usize];
            if let Some(i) = on.iter().position(|&k| k == key) {
                on.swap_remove(i);
            }
            self.dirty.push(l);
        }
        Some(traffic)
    }

    /// Re-solves the sharing among the jobs connected (through shared links) to the
    /// links touched since the last call, and pushes `(job, new factor)` into `changed`
    /// for each job whose bandwidth changed, in job key order.
    pub fn settle(&mut self, changed: &mut Vec<(u32, f64)>) {
        changed.clear();
        self.link_util.clear();
        if self.dirty.is_empty() {
            return;
        }
        self.generation += 1;
        let generation = self.generation;
        self.component.clear();
        self.stack.clear();
        self.links_in.clear();
        for &l in &self.dirty {
            if self.link_mark[l as usize] != generation {
                self.link_mark[l as usize] = generation;
                self.stack.push(l);
            }
        }
        self.dirty.clear();
        while let Some(l) = self.stack.pop() {
            self.links_in.push(l);
            for &job in &self.on_link[l as usize] {
                let mark = self.job_mark.entry(job).or_insert(0);
                if *mark == generation {
                    continue;
                }
                *mark = generation;
                self.component.push(job);
                for &(l2, _) in &self.jobs[&job].links {
                    if self.link_mark[l2 as usize] != generation {
                        self.link_mark[l2 as usize] = generation;
                        self.stack.push(l2);
                    }
                }
            }
        }
        self.component.sort_unstable();
        self.sharing.clear();
        self.links_in.sort_unstable();
        for &l in &self.links_in {
            self.resource_of[l as usize] = self.sharing.add_resource(self.capacity[l as usize]).0;
        }
        for &job in &self.component {
            let t = &self.jobs[&job];
            self.scratch.clear();
            self.scratch.extend(
                t.links
                    .iter()
                    .map(|&(l, a)| (ResourceId(self.resource_of[l as usize]), a)),
            );
            let bound = t.reference_bps;
            self.sharing.add_flow(1.0, Some(bound), &self.scratch);
        }
        self.sharing.solve();
        for (i, &job) in self.component.iter().enumerate() {
            let bps = self.sharing.rates()[i];
            let Some(t) = self.jobs.get_mut(&job) else {
                continue;
            };
            if bps != t.bps {
                t.bps = bps;
                changed.push((job, t.factor()));
            }
        }
        for &l in &self.links_in {
            let load: f64 = self.on_link[l as usize]
                .iter()
                .map(|job| {
                    let t = &self.jobs[job];
                    let a: f64 = t.links.iter().filter(|x| x.0 == l).map(|x| x.1).sum();
                    a * t.bps
                })
                .sum();
            let cap = self.capacity[l as usize];
            self.link_util.push((l, if cap > 0.0 { load / cap } else { 0.0 }));
        }
        self.job_mark.retain(|_, m| *m == generation);
    }
}
