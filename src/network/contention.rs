//! Jobs' traffic on the fabric's links, shared max-min fairly, re-solved only where a
//! start or a stop touched.
//!
//! A job's ring all-reduce is routed over the fabric graph
//! ([`crate::topology::graph::FabricGraph`]); NCCL orders the ring so that it visits the
//! nodes of one leaf (and the leaves of one pod) in a row, so the ring crosses each
//! boundary once per direction. Per unit of the job's bus bandwidth `x`:
//! - each of its nodes sends `x` out of its NICs (split over the nodes of one NVLink
//!   domain when the domain spans several nodes), and a node uses only as many NICs as
//!   it holds of the job's GPUs (one NIC per GPU on a rail-optimized node): the bound
//!   `x <= min over domains of the NICs the job can use there × NIC speed`;
//! - on a leaf-spine fabric each leaf it spans sends `x` up to the spine when it spans
//!   two leaves or more; on a rail-optimized fabric each ring (one per rail) stays on its
//!   rail switch inside a scalable unit and goes up that rail switch's uplink when it
//!   leaves the unit or changes rail;
//! - each pod it spans sends `x` up to the core when it spans two pods or more.
//!
//! Links are full duplex and the ring is symmetric, so one direction is modelled. A job
//! inside one NVLink domain uses no link: its bus bandwidth is the NVLink bandwidth.

use fnv::FnvHashMap;

use crate::sharing::{ResourceId, Sharing};
use crate::topology::fabric::{Fabric, FabricLayout};
use crate::topology::graph::{Link, Port};
use crate::topology::NodeId;

use super::profile::CommProfile;

pub use crate::topology::graph::Tier;

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
    /// Whether its traffic crosses a spine-side link (a leaf's, rail switch's or pod's
    /// uplink).
    pub crosses_spine: bool,
    /// Bytes each sending domain moves between pipeline stages per iteration, sent at
    /// the job's bus bandwidth (0: no pipeline traffic over the fabric).
    pub p2p_bytes: f64,
}

impl JobTraffic {
    /// Iteration time at the reference bandwidth over iteration time now: the network's
    /// factor of the job's rate (1 on a non-blocking, idle fabric).
    pub fn factor(&self) -> f64 {
        let iso = self
            .profile
            .iteration_ms_with(self.ranks, self.reference_bps, self.p2p_bytes);
        let now = self
            .profile
            .iteration_ms_with(self.ranks, self.bps, self.p2p_bytes);
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
    node_scratch: Vec<(u32, u32, u32, u32, u64)>,
    /// Per ring endpoint (NVLink domain): its range in `ports`.
    endpoints: Vec<(usize, usize)>,
    /// Ports of the endpoints and the share of the endpoint's traffic each sends.
    ports: Vec<(Port, f64)>,
    /// (link, utilization) of every link the last settle re-solved.
    link_util: Vec<(u32, f64)>,
}

impl Contention {
    /// An idle fabric.
    pub fn new(fabric: Fabric) -> Self {
        let capacity: Vec<f64> = fabric.graph.links().iter().map(|l| l.capacity_bps).collect();
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
            endpoints: Vec::new(),
            ports: Vec::new(),
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

    /// Link `link` of the fabric: its tier, what it goes up from, its rail.
    pub fn link(&self, link: u32) -> Link {
        self.fabric.graph.links()[link as usize]
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
    /// job's GPUs on each node, taken to be the node's first GPUs), alone on the fabric.
    pub fn traffic(&mut self, profile: CommProfile, nodes: &[(NodeId, u32)]) -> JobTraffic {
        let masks: Vec<(NodeId, u64)> = nodes
            .iter()
            .map(|&(n, g)| (n, if g >= 64 { u64::MAX } else { (1u64 << g) - 1 }))
            .collect();
        self.traffic_on(profile, &masks)
    }

    /// The traffic a job with `profile` would have on `grants` ((node, GPU bitmask)
    /// pairs), alone on the fabric, with no pipeline stages.
    pub fn traffic_on(&mut self, profile: CommProfile, grants: &[(NodeId, u64)]) -> JobTraffic {
        self.traffic_staged(profile, grants, 1)
    }

    /// The traffic a job with `profile` would have on `grants` ((node, GPU bitmask)
    /// pairs) split into `stages` pipeline stages, alone on the fabric.
    ///
    /// The ring visits the job's NVLink domains ordered by pod, leaf and domain, so it
    /// leaves each leaf and each pod once. Each hop's traffic is routed up the fabric
    /// graph from the sender's port to the switch it shares with the receiver's port
    /// (one direction is modelled). On a leaf-spine fabric one ring uses all of a
    /// domain's NICs, split evenly over its nodes. On a rail-optimized fabric the job
    /// runs one ring per rail it can use (NCCL's channels, one per NIC): a domain's
    /// rails are those of the GPUs it holds (GPU `g` of a node with `k` NICs and `G`
    /// GPUs is on rail `g·k/G`), rails held by every domain first; ring `i` leaves each
    /// domain on its `i`-th rail and arrives on the next domain's `i`-th rail, so rings
    /// on one rail stay on that rail's switch inside a scalable unit and rings whose
    /// rails differ go through the spine (NCCL's PXN relay over NVLink, which can
    /// avoid that, is not modelled).
    ///
    /// With `stages` > 1 (dividing the job's GPUs) the GPUs, in ring order, form
    /// `stages` consecutive blocks (Megatron-LM's rank order: pipeline outermost), each
    /// running its own data-parallel ring, all at the job's bus bandwidth `x`. Between
    /// consecutive stages, GPU `k` of one stage sends activations to GPU `k` of the next
    /// and receives gradients back ([`super::pipeline`]); pairs inside one NVLink domain
    /// use no link. The two phases (stage rings, point-to-point) take turns, so a link's
    /// usage is the larger of its usage in either.
    pub fn traffic_staged(
        &mut self,
        profile: CommProfile,
        grants: &[(NodeId, u64)],
        stages: u32,
    ) -> JobTraffic {
        let f = &self.fabric;
        let ranks: u32 = grants.iter().map(|&(_, m)| m.count_ones()).sum();
        // (pod, leaf, domain, node, GPU mask), in ring order.
        self.node_scratch.clear();
        self.node_scratch
            .extend(grants.iter().filter(|g| g.1 != 0).map(|&(n, m)| {
                let leaf = f.leaf(n);
                (f.pod(leaf).0, leaf.0, f.node_domain[n.0 as usize], n.0, m)
            }));
        self.node_scratch.sort_unstable();
        let nodes = &self.node_scratch;
        let mut links: Vec<(u32, f64)> = Vec::new();
        let mut bound = f.nvlink_bps;
        let mut p2p_bytes = 0.0;
        let staged = stages > 1 && ranks % stages == 0;
        if !staged {
            bound = ring(f, nodes, &mut self.endpoints, &mut self.ports, &mut links);
        } else {
            let per_stage = ranks / stages;
            let stage_nodes = split_stages(nodes, per_stage);
            for st in &stage_nodes {
                let b = ring(f, st, &mut self.endpoints, &mut self.ports, &mut links);
                bound = bound.min(b);
            }
            merge(&mut links);
            let (p2p, gmax) = super::pipeline::p2p_links(f, &stage_nodes);
            if !p2p.is_empty() {
                p2p_bytes = profile.activation_bytes * f64::from(gmax) / f64::from(per_stage);
                links = max_usage(&links, &p2p);
            }
            // Alone on a non-blocking fabric the job still cannot send faster than its
            // nodes' NICs carry both phases.
            bound = links
                .iter()
                .filter(|&&(l, _)| f.graph.links()[l as usize].tier == Tier::Node)
                .map(|&(l, a)| self.capacity[l as usize] / a)
                .fold(bound, f64::min);
        }
        let nodes = &self.node_scratch;
        let mut leaves: Vec<u32> = nodes.iter().map(|d| d.1).collect();
        leaves.sort_unstable();
        leaves.dedup();
        let mut pods: Vec<u32> = nodes.iter().map(|d| d.0).collect();
        pods.sort_unstable();
        pods.dedup();
        let crosses_spine = links
            .iter()
            .any(|&(l, _)| f.graph.links()[l as usize].tier != Tier::Node);
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
            crosses_spine,
            p2p_bytes,
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
                    // A job's links are sorted and merged: one entry per link.
                    let a = t
                        .links
                        .binary_search_by_key(&l, |x| x.0)
                        .map_or(0.0, |i| t.links[i].1);
                    a * t.bps
                })
                .sum();
            let cap = self.capacity[l as usize];
            self.link_util.push((l, if cap > 0.0 { load / cap } else { 0.0 }));
        }
        self.job_mark.retain(|_, m| *m == generation);
    }
}

/// One job node in ring order: (pod, leaf, NVLink domain, node, GPU mask).
pub(super) type RingNode = (u32, u32, u32, u32, u64);

/// The links one data-parallel ring over `nodes` (in ring order) crosses, appended to
/// `links` as (link, usage per unit of bus bandwidth), sorted by link; returns the
/// ring's bound on its bus bandwidth (its domains' usable NICs, or NVLink inside one
/// domain). See [`Contention::traffic_staged`] for the routing.
fn ring(
    f: &Fabric,
    nodes: &[RingNode],
    endpoints: &mut Vec<(usize, usize)>,
    ports: &mut Vec<(Port, f64)>,
    links: &mut Vec<(u32, f64)>,
) -> f64 {
    let graph = &f.graph;
    let mut bound = f.nvlink_bps;
    let multi_domain = nodes
        .first()
        .is_some_and(|first| nodes.iter().any(|d| d.2 != first.2));
    if !multi_domain {
        return bound;
    }
    // Endpoints: runs of one domain; each endpoint's ports and their weights.
    endpoints.clear();
    ports.clear();
    let rail = f.layout == FabricLayout::RailOptimized;
    let mut common = u64::MAX;
    let mut i = 0;
    while i < nodes.len() {
        let domain = nodes[i].2;
        let j = i + nodes[i..].iter().take_while(|d| d.2 == domain).count();
        let start = ports.len();
        let mut domain_bps = 0.0;
        let mut held = 0u64;
        for &(_, _, _, node, mask) in &nodes[i..j] {
            let n = node as usize;
            let node_ports = graph.ports(node);
            if rail {
                let rails = rails_of(f, node, mask);
                for p in node_ports.iter().filter(|p| rails >> p.rail & 1 == 1) {
                    ports.push((*p, 1.0));
                }
                held |= rails;
            } else {
                let gpus = mask.count_ones();
                let gpus_here = f.node_gpus[n];
                let nics = f.node_nics[n];
                // NICs the job can use: its share of the node's GPUs, at least one.
                let usable = (u64::from(nics) * u64::from(gpus) / u64::from(gpus_here.max(1))).max(1);
                domain_bps += f.node_nic_bps[n] * usable as f64 / f64::from(nics.max(1));
                let k = (j - i) as f64;
                ports.push((node_ports[0], 1.0 / k));
            }
        }
        if rail {
            common &= held;
        } else {
            bound = bound.min(domain_bps);
        }
        endpoints.push((start, ports.len()));
        i = j;
    }
    let channels = if rail {
        // Rails every domain holds first, then the others, each by rail then node.
        for &(a, b) in endpoints.iter() {
            ports[a..b].sort_by_key(|(p, _)| (common >> p.rail & 1 == 0, p.rail, p.link));
        }
        let c = endpoints.iter().map(|&(a, b)| b - a).min().unwrap_or(1).max(1);
        bound = bound.min(c as f64 * f.nic_bps);
        c
    } else {
        1
    };
    let share = 1.0 / channels as f64;
    let e = endpoints.len();
    let first = links.len();
    for ch in 0..channels {
        for k in 0..e {
            let (a, b) = endpoints[k];
            let (na, _) = endpoints[(k + 1) % e];
            let to = ports[na + if rail { ch } else { 0 }].0;
            let senders: &[(Port, f64)] = if rail {
                &ports[a + ch..a + ch + 1]
            } else {
                &ports[a..b]
            };
            for &(from, w) in senders {
                graph.route_up(from, to, w * share, links);
            }
        }
    }
    if first == 0 {
        merge(links);
    } else {
        let mut mine = links.split_off(first);
        merge(&mut mine);
        links.extend(mine);
    }
    bound
}

/// Rails (as a bit set) of the GPUs `mask` of node `node`: GPU `g` of a node with `k`
/// NICs and `G` GPUs is on rail `g·k/G`.
pub(super) fn rails_of(f: &Fabric, node: u32, mask: u64) -> u64 {
    let n = node as usize;
    let nics = u64::from(f.node_nics[n]);
    let gpus_here = u64::from(f.node_gpus[n].max(1));
    let mut rails = 0u64;
    let mut m = mask;
    while m != 0 {
        let g = u64::from(m.trailing_zeros());
        m &= m - 1;
        rails |= 1 << (g * nics / gpus_here).min(63);
    }
    rails
}

/// Sorts `(link, usage)` pairs by link and sums the usages of each link.
pub(super) fn merge(links: &mut Vec<(u32, f64)>) {
    links.sort_unstable_by_key(|&(l, _)| l);
    links.dedup_by(|next, kept| {
        if next.0 == kept.0 {
            kept.1 += next.1;
            true
        } else {
            false
        }
    });
}

/// Per link of either (both sorted by link), the larger usage.
fn max_usage(a: &[(u32, f64)], b: &[(u32, f64)]) -> Vec<(u32, f64)> {
    let mut out: Vec<(u32, f64)> = a.iter().chain(b).copied().collect();
    out.sort_unstable_by_key(|&(l, _)| l);
    out.dedup_by(|next, kept| {
        if next.0 == kept.0 {
            kept.1 = kept.1.max(next.1);
            true
        } else {
            false
        }
    });
    out
}

/// Splits `nodes` (ring order) into consecutive stages of `per_stage` GPUs, GPUs of a
/// node in index order; a node may straddle two stages.
fn split_stages(nodes: &[RingNode], per_stage: u32) -> Vec<Vec<RingNode>> {
    let mut stages: Vec<Vec<RingNode>> = vec![Vec::new()];
    let mut room = per_stage;
    for &(pod, leaf, domain, node, mask) in nodes {
        let mut m = mask;
        while m != 0 {
            if room == 0 {
                stages.push(Vec::new());
                room = per_stage;
            }
            // The lowest `room` GPUs of what is left of this node.
            let mut take = 0u64;
            let mut rest = m;
            let mut k = 0;
            while rest != 0 && k < room {
                let bit = rest & rest.wrapping_neg();
                take |= bit;
                rest &= rest - 1;
                k += 1;
            }
            if let Some(st) = stages.last_mut() {
                st.push((pod, leaf, domain, node, take));
            }
            room -= k;
            m = rest;
        }
    }
    stages
}
