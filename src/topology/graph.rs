//! The fabric as a graph: compute nodes, leaf (ToR) or rail switches, one spine block per
//! pod and core switches, joined by links of known capacity. Built with `petgraph`
//! (design card), checked for connectivity, and reduced to a spanning tree rooted at the
//! top tier so that a route between two NIC ports is the path up from each to their
//! lowest common switch.
//!
//! Links are numbered tier by tier: every node's NIC links (node order, then rail), every
//! leaf's uplinks to its spine block (leaf order, then rail), every pod's uplink to the
//! core. A leaf-spine node has one aggregate NIC link (all its NICs); a rail-optimized
//! node has one link per NIC, NIC `r` going to rail switch `r` of its scalable unit
//! (NVIDIA DGX SuperPOD reference architecture for DGX H100: eight 400 Gb/s compute NICs
//! per system, NIC `r` of every system of a 32-system scalable unit on leaf (rail) switch
//! `r` of that unit), and each rail switch has its own uplink to the spine.

use petgraph::graph::{NodeIndex, UnGraph};

use super::fabric::{Fabric, FabricLayout};

/// Which tier a link belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// A node's NICs to its leaf (or one NIC to its rail switch).
    Node,
    /// A leaf's (or rail switch's) uplinks to the spine.
    Leaf,
    /// A pod's uplinks to the core.
    Pod,
}

/// One link of the fabric, in the up direction (links are full duplex; one direction is
/// modelled).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    /// Its tier.
    pub tier: Tier,
    /// The node, leaf or pod it goes up from.
    pub owner: u32,
    /// The rail it carries on a rail-optimized fabric (None: all of the owner's NICs).
    pub rail: Option<u32>,
    /// Capacity, bytes/s.
    pub capacity_bps: f64,
}

/// A NIC port of a node: the link from the node to its switch, and the switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port {
    /// The NIC link (index into [`FabricGraph::links`]).
    pub link: u32,
    /// Its rail (0 on a leaf-spine node's aggregate port).
    pub rail: u32,
    /// The switch vertex it reaches.
    pub switch: u32,
}

/// A fabric whose nodes cannot all reach each other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("node `{node}` cannot reach node `{reached}`: its core switch `{core}` is not linked to `{other_core}` (the fabric names no tier above its core switches)")]
pub struct Disconnected {
    /// The first node not reachable from the first node.
    pub node: String,
    /// The first node.
    pub reached: String,
    /// The core switch above `node`.
    pub core: String,
    /// The core switch above `reached`.
    pub other_core: String,
}

/// A vertex of the graph while it is built.
#[derive(Debug, Clone, Copy)]
enum Vertex {
    Node,
    Switch,
}

/// The fabric's links, each node's ports and the spanning tree that routes between them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FabricGraph {
    links: Vec<Link>,
    /// Per vertex: (parent vertex, link up to it); None at the root.
    up: Vec<Option<(u32, u32)>>,
    depth: Vec<u32>,
    /// Node `n`'s ports are `ports[port_start[n]..port_start[n + 1]]`, by rail.
    port_start: Vec<u32>,
    ports: Vec<Port>,
}

impl FabricGraph {
    /// Builds the graph of `fabric`, whose node `n` is called `names[n]`; fails when some
    /// node cannot reach the others (pods under core switches with nothing above them).
    pub fn build(fabric: &Fabric, names: &[String]) -> Result<FabricGraph, Disconnected> {
        let nodes = fabric.node_leaf.len();
        let rail = fabric.layout == FabricLayout::RailOptimized;
        let mut g: UnGraph<Vertex, u32> = UnGraph::default();
        let node_v: Vec<NodeIndex> = (0..nodes).map(|_| g.add_node(Vertex::Node)).collect();
        // Switches under each leaf: one (leaf-spine) or one per rail.
        let rails_of_leaf: Vec<u32> = if rail {
            let mut r = vec![0; fabric.leaves()];
            for (n, l) in fabric.node_leaf.iter().enumerate() {
                r[l.0 as usize] = r[l.0 as usize].max(fabric.node_nics[n]);
            }
            r
        } else {
            vec![1; fabric.leaves()]
        };
        let mut leaf_v: Vec<Vec<NodeIndex>> = Vec::with_capacity(fabric.leaves());
        for &r in &rails_of_leaf {
            leaf_v.push((0..r).map(|_| g.add_node(Vertex::Switch)).collect());
        }
        let spine_v: Vec<NodeIndex> = (0..fabric.pods()).map(|_| g.add_node(Vertex::Switch)).collect();
        let core_v: Vec<NodeIndex> = (0..fabric.core_name.len())
            .map(|_| g.add_node(Vertex::Switch))
            .collect();
        let mut links = Vec::new();
        let mut port_start = Vec::with_capacity(nodes + 1);
        let mut ports = Vec::new();
        for (n, &nv) in node_v.iter().enumerate() {
            port_start.push(ports.len() as u32);
            let leaf = fabric.node_leaf[n].0;
            let (count, bps) = if rail {
                (fabric.node_nics[n], fabric.nic_bps)
            } else {
                (1, fabric.node_nic_bps[n])
            };
            for r in 0..count {
                let switch = leaf_v[leaf as usize][r as usize];
                let id = links.len() as u32;
                links.push(Link {
                    tier: Tier::Node,
                    owner: n as u32,
                    rail: rail.then_some(r),
                    capacity_bps: bps,
                });
                g.add_edge(nv, switch, id);
                ports.push(Port {
                    link: id,
                    rail: r,
                    switch: switch.index() as u32,
                });
            }
        }
        port_start.push(ports.len() as u32);
        // A rail switch's uplink: its rail's NICs below it over the oversubscription.
        let mut rail_down = vec![Vec::new(); fabric.leaves()];
        if rail {
            for (l, &r) in rails_of_leaf.iter().enumerate() {
                rail_down[l] = vec![0.0; r as usize];
            }
            for (n, l) in fabric.node_leaf.iter().enumerate() {
                let nics = fabric.node_nics[n] as usize;
                for down in rail_down[l.0 as usize].iter_mut().take(nics) {
                    *down += fabric.nic_bps;
                }
            }
        }
        for (l, switches) in leaf_v.iter().enumerate() {
            let pod = fabric.leaf_pod[l].0 as usize;
            for (r, &s) in switches.iter().enumerate() {
                let capacity_bps = if rail {
                    rail_down[l][r] / fabric.spine_oversubscription
                } else {
                    fabric.leaf_uplink_bps[l]
                };
                let id = links.len() as u32;
                links.push(Link {
                    tier: Tier::Leaf,
                    owner: l as u32,
                    rail: rail.then_some(r as u32),
                    capacity_bps,
                });
                g.add_edge(s, spine_v[pod], id);
            }
        }
        for (p, &cap) in fabric.pod_uplink_bps.iter().enumerate() {
            let id = links.len() as u32;
            links.push(Link {
                tier: Tier::Pod,
                owner: p as u32,
                rail: None,
                capacity_bps: cap,
            });
            g.add_edge(spine_v[p], core_v[fabric.pod_core[p] as usize], id);
        }
        let root = if fabric.has_core() { core_v[0] } else { spine_v[0] };
        let (up, depth) = spanning_tree(&g, root);
        if let Some(n) = (0..nodes).find(|&n| depth[node_v[n].index()] == u32::MAX) {
            let core_of = |n: usize| {
                let pod = fabric.leaf_pod[fabric.node_leaf[n].0 as usize].0 as usize;
                fabric
                    .pod_core
                    .get(pod)
                    .map_or_else(String::new, |&c| fabric.core_name[c as usize].clone())
            };
            return Err(Disconnected {
                node: names[n].clone(),
                reached: names[0].clone(),
                core: core_of(n),
                other_core: core_of(0),
            });
        }
        Ok(FabricGraph {
            links,
            up,
            depth,
            port_start,
            ports,
        })
    }

    /// Every link, by index.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// Scales the capacity of every spine-side link (tiers leaf and pod) by `scale`.
    pub fn scale_uplinks(&mut self, scale: f64) {
        for l in &mut self.links {
            if l.tier != Tier::Node {
                l.capacity_bps *= scale;
            }
        }
    }

    /// The NIC ports of node `n`, by rail.
    pub fn ports(&self, n: u32) -> &[Port] {
        let n = n as usize;
        &self.ports[self.port_start[n] as usize..self.port_start[n + 1] as usize]
    }

    /// Pushes `(link, usage)` for every link that traffic sent from `from` to the node
    /// behind port `to` crosses upward: `from`'s NIC link, then the uplinks from its
    /// switch up to the lowest switch the two ports share.
    pub fn route_up(&self, from: Port, to: Port, usage: f64, out: &mut Vec<(u32, f64)>) {
        out.push((from.link, usage));
        let (mut u, mut v) = (from.switch as usize, to.switch as usize);
        while u != v {
            if self.depth[u] >= self.depth[v] {
                let Some((parent, link)) = self.up[u] else {
                    break;
                };
                out.push((link, usage));
                u = parent as usize;
            } else {
                let Some((parent, _)) = self.up[v] else {
                    break;
                };
                v = parent as usize;
            }
        }
    }
}

/// Breadth-first spanning tree of `g` from `root`: each vertex's (parent, link) and depth
/// (`u32::MAX` where `root` cannot reach it). Neighbours are visited in the order petgraph
/// lists their edges, so the tree is the same on every run.
fn spanning_tree(g: &UnGraph<Vertex, u32>, root: NodeIndex) -> (Vec<Option<(u32, u32)>>, Vec<u32>) {
    let mut up = vec![None; g.node_count()];
    let mut depth = vec![u32::MAX; g.node_count()];
    depth[root.index()] = 0;
    let mut queue = std::collections::VecDeque::from([root]);
    while let Some(v) = queue.pop_front() {
        for e in g.edges(v) {
            use petgraph::visit::EdgeRef;
            let w = if e.source() == v { e.target() } else { e.source() };
            if depth[w.index()] == u32::MAX {
                depth[w.index()] = depth[v.index()] + 1;
                up[w.index()] = Some((v.index() as u32, *e.weight()));
                // Nodes are leaves of the tree: traffic never routes through a node.
                if !matches!(g[w], Vertex::Node) {
                    queue.push_back(w);
                }
            }
        }
    }
    (up, depth)
}
