//! Readers for real node lists: the openb node lists (Alibaba, 2023) and the
//! spot-GPU `node_info_df.csv` (Alibaba, 2026).
//!
//! Each reader yields one [`ListedNode`] per row, in file order, and rejects a
//! malformed row with [`TopologyError::NodeList`] naming the file and 1-based line.

use std::path::Path;

use serde::Deserialize;

use super::fabric::SwitchPath;
use super::TopologyError;

/// The format of a node list file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeListFormat {
    /// openb `openb_node_list_gpu_node.csv` / `openb_node_list_all_node.csv`:
    /// `sn,cpu_milli,memory_mib,gpu,model`.
    Openb,
    /// spot-GPU `node_info_df.csv`: `gpu_model,gpu_capacity_num,cpu_num,node_name`
    /// (`cpu_num` in vCPUs; the file gives no memory size).
    SpotGpu,
    /// Alibaba Lingjun 2023 `topo.csv`: `ip,DSW,PSW,ASW` (a host and its core,
    /// aggregation and ToR switch; no GPU columns, so the topology gives them).
    LingjunTopo,
}

impl NodeListFormat {
    /// The columns this format requires, by header name.
    fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Openb => &["sn", "cpu_milli", "memory_mib", "gpu", "model"],
            Self::SpotGpu => &["gpu_model", "gpu_capacity_num", "cpu_num", "node_name"],
            Self::LingjunTopo => &["ip", "DSW", "PSW", "ASW"],
        }
    }

    /// Whether the list gives each node's GPU model and count.
    pub fn has_gpu_columns(self) -> bool {
        !matches!(self, Self::LingjunTopo)
    }
}

/// One row of a node list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedNode {
    /// Node name as the list gives it.
    pub name: String,
    /// GPU model as the list spells it; empty for a CPU-only node.
    pub model: String,
    /// GPUs on the node (0 for a CPU-only node).
    pub gpus: u32,
    /// CPU capacity in thousandths of a core.
    pub cpu_milli: u64,
    /// Memory in MiB (0 where the list does not give it, as in the spot-GPU list).
    pub memory_mib: u64,
    /// 1-based line of the row in its file (line 1 is the header).
    pub line: u64,
    /// The (pod, leaf) switches the node hangs off, where the list names them: labels
    /// unique across the list (a ToR label repeats under different aggregation
    /// switches, so it is qualified by them).
    pub switches: Option<SwitchPath>,
}

/// Reads a node list file.
pub fn read(path: &Path, format: NodeListFormat) -> Result<Vec<ListedNode>, TopologyError> {
    let file = std::fs::File::open(path).map_err(|source| TopologyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_from(file, path, format)
}

/// Reads a node list from any reader; `path` names it in errors.
pub fn read_from<R: std::io::Read>(
    input: R,
    path: &Path,
    format: NodeListFormat,
) -> Result<Vec<ListedNode>, TopologyError> {
    let err = |line: u64, message: String| TopologyError::NodeList {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(input);
    let header = reader
        .headers()
        .map_err(|e| err(1, format!("cannot read the header: {e}")))?
        .clone();
    let mut index = [0usize; 5];
    let columns = format.columns();
    for (slot, want) in index.iter_mut().zip(columns) {
        *slot = header.iter().position(|h| h.trim() == *want).ok_or_else(|| {
            err(
                1,
                format!(
                    "missing column `{want}` (a {format:?} node list has {})",
                    format.columns().join(",")
                ),
            )
        })?;
    }
    let mut nodes = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            err(line, format!("malformed row: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(index[i]).unwrap_or("").trim();
        let number = |i: usize| -> Result<u64, TopologyError> {
            let text = field(i);
            text.parse::<u64>().map_err(|_| {
                err(
                    line,
                    format!("column `{}`: `{text}` is not a whole number", format.columns()[i]),
                )
            })
        };
        let node = match format {
            NodeListFormat::Openb => ListedNode {
                name: field(0).to_owned(),
                cpu_milli: number(1)?,
                memory_mib: number(2)?,
                gpus: gpu_count(number(3)?, line, &err)?,
                model: field(4).to_owned(),
                line,
                switches: None,
            },
            NodeListFormat::SpotGpu => ListedNode {
                model: field(0).to_owned(),
                gpus: gpu_count(number(1)?, line, &err)?,
                cpu_milli: number(2)?
                    .checked_mul(1000)
                    .ok_or_else(|| err(line, "column `cpu_num` is too large".to_owned()))?,
                name: field(3).to_owned(),
                memory_mib: 0,
                line,
                switches: None,
            },
            NodeListFormat::LingjunTopo => {
                let (core, agg, tor) = (field(1), field(2), field(3));
                if core.is_empty() || agg.is_empty() || tor.is_empty() {
                    return Err(err(
                        line,
                        "a host without its DSW, PSW or ASW switch is disconnected from the fabric"
                            .to_owned(),
                    ));
                }
                ListedNode {
                    name: field(0).to_owned(),
                    model: String::new(),
                    gpus: 0,
                    cpu_milli: 0,
                    memory_mib: 0,
                    line,
                    switches: Some(SwitchPath {
                        core: core.to_owned(),
                        pod: format!("{core}/{agg}"),
                        leaf: format!("{core}/{agg}/{tor}"),
                    }),
                }
            }
        };
        if node.name.is_empty() {
            return Err(err(line, "empty node name".to_owned()));
        }
        if node.gpus > 0 && node.model.is_empty() {
            return Err(err(
                line,
                format!("node `{}` has {} GPUs but no GPU model", node.name, node.gpus),
            ));
        }
        nodes.push(node);
    }
    Ok(nodes)
}

/// Most GPUs one node may hold (see [`crate::topology::config::MAX_GPUS_PER_NODE`]).
const MAX_GPUS_PER_NODE: u64 = super::config::MAX_GPUS_PER_NODE as u64;

/// Checks a GPU count against [`MAX_GPUS_PER_NODE`].
fn gpu_count(
    gpus: u64,
    line: u64,
    err: &impl Fn(u64, String) -> TopologyError,
) -> Result<u32, TopologyError> {
    if gpus > MAX_GPUS_PER_NODE {
        return Err(err(
            line,
            format!("{gpus} GPUs on one node (at most {MAX_GPUS_PER_NODE})"),
        ));
    }
    // Bounded above, so the conversion cannot fail.
    u32::try_from(gpus).map_err(|_| err(line, format!("{gpus} GPUs is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openb(text: &str) -> Result<Vec<ListedNode>, TopologyError> {
        read_from(text.as_bytes(), Path::new("nodes.csv"), NodeListFormat::Openb)
    }

    #[test]
    fn reads_openb_rows() {
        let nodes = openb("sn,cpu_milli,memory_mib,gpu,model\nn0,64000,262144,2,P100\nc1,32000,1024,0,\n")
            .expect("valid list");
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].model, "P100");
        assert_eq!(nodes[0].gpus, 2);
        assert_eq!(nodes[0].line, 2);
        assert_eq!(nodes[1].gpus, 0);
        assert_eq!(nodes[1].model, "");
    }

    #[test]
    fn reads_spot_rows() {
        let text = "gpu_model,gpu_capacity_num,cpu_num,node_name\nA10,1,128,7\n";
        let nodes =
            read_from(text.as_bytes(), Path::new("n.csv"), NodeListFormat::SpotGpu).expect("valid list");
        assert_eq!(nodes[0].cpu_milli, 128_000);
        assert_eq!(nodes[0].name, "7");
        assert_eq!(nodes[0].memory_mib, 0);
    }

    #[test]
    fn bad_rows_name_their_line() {
        let e = openb("sn,cpu_milli,memory_mib,gpu,model\nn0,1,1,2,P100\nn1,1,1,two,P100\n")
            .expect_err("bad gpu count");
        assert!(matches!(e, TopologyError::NodeList { line: 3, .. }), "{e}");
        let e = openb("sn,cpu_milli,memory_mib,gpu,model\nn0,1,1,2\n").expect_err("short row");
        assert!(matches!(e, TopologyError::NodeList { line: 2, .. }), "{e}");
        let e = openb("sn,cpu,memory_mib,gpu,model\n").expect_err("bad header");
        assert!(matches!(e, TopologyError::NodeList { line: 1, .. }), "{e}");
        let e = openb("sn,cpu_milli,memory_mib,gpu,model\nn0,1,1,4,\n").expect_err("no model");
        assert!(e.to_string().contains("no GPU model"), "{e}");
    }
}
